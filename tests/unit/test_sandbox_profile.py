"""Sandbox details a softphone depends on: kept across runs, printed ready to paste,
the ARI password only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from receptionist.cli.sandbox import describe
from receptionist.sandbox import SandboxInfo
from receptionist.sandbox.launcher import Sandbox
from receptionist.sandbox.profile import Profile, forget_profile, load_profile, save_profile


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEPTIONIST_CACHE_DIR", str(tmp_path))


def test_profile_kept_until_forgotten(tmp_path: Path) -> None:
    box = Sandbox("office", persist=True)
    first = box._profile()
    save_profile("office", first)
    assert (tmp_path / "sandboxes" / "office.profile.json").stat().st_mode & 0o777 == 0o600
    assert Sandbox("office", persist=True)._profile() == first
    assert Sandbox("office")._profile() != first  # tests: fresh each time
    assert forget_profile("office") and load_profile("office") is None
    assert Sandbox("office", persist=True)._profile() != first


def test_unreadable_profile_means_choose_afresh(tmp_path: Path) -> None:
    (tmp_path / "sandboxes").mkdir()
    (tmp_path / "sandboxes" / "x.profile.json").write_text("{not json")
    assert load_profile("x") is None
    save_profile("x", Profile(1, 2, 3, "a", "b"))
    assert load_profile("x") == Profile(1, 2, 3, "a", "b")


def _info() -> SandboxInfo:
    return SandboxInfo(
        name="default", pid=1, run_dir="/run", ari_url="http://127.0.0.1:40123",
        ari_user="receptionist", ari_password="ari-secret", app="receptionist",
        people_app="p", audiosocket="127.0.0.1:40200", sip_host="127.0.0.1", sip_port=40999,
        trunk_host="127.0.0.2", sip_extensions=("201", "202"), sip_password="sip-pw",
        sipp_phone="203", sipp_phone_port=1, chroot="/c", asterisk_version="22.10.1",
        start_seconds=0.3, build_seconds=None,
    )  # fmt: skip


def test_describe_prints_a_softphone_setup_and_hides_the_ari_password() -> None:
    text = describe(_info())
    assert "ari-secret" not in text and "--show-secrets" in text
    assert "127.0.0.1:40999" in text and "sip-pw" in text and "dial 100" in text
    assert "<sip:201@127.0.0.1:40999;transport=udp>;auth_pass=sip-pw" in text
    assert "ari-secret" in describe(_info(), show_secrets=True)
