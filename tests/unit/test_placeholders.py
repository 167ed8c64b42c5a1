"""Passwords left at the shipped CHANGE-ME-AT-INSTALL are warned about, where they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from receptionist.service.config_check import check_config
from receptionist.service.placeholders import placeholder_warnings
from receptionist.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_shipped_asterisk_configs_are_flagged_line_by_line() -> None:
    warnings = placeholder_warnings(Settings(asterisk_config_dir=REPO / "asterisk"))
    assert any(w.startswith(f"{REPO}/asterisk/ari.conf:") for w in warnings)
    assert sum("pjsip.conf" in w for w in warnings) == 2
    assert all("CHANGE-ME-AT-INSTALL" in w for w in warnings)


def test_changed_passwords_and_missing_dirs_say_nothing(tmp_path: Path) -> None:
    etc = tmp_path / "asterisk"
    etc.mkdir()
    (etc / "ari.conf").write_text("password = a-long-random-one ; was CHANGE-ME-AT-INSTALL\n")
    assert placeholder_warnings(Settings(asterisk_config_dir=etc, ari_password="x")) == []
    assert placeholder_warnings(Settings(asterisk_config_dir=tmp_path / "none")) == []
    own = Settings(asterisk_config_dir=etc, ari_password="CHANGE-ME-AT-INSTALL")
    assert placeholder_warnings(own) == [
        "ari_password is still CHANGE-ME-AT-INSTALL: set a long random password"
    ]


def test_config_check_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "config", tmp_path / "config")
    env = {
        "RECEPTIONIST_ASTERISK_CONFIG_DIR": str(REPO / "asterisk"),
        "RECEPTIONIST_ARI_PASSWORD": "CHANGE-ME-AT-INSTALL",
    }
    report = check_config(env=env)
    assert report.ok
    assert sum("CHANGE-ME-AT-INSTALL" in w for w in report.warnings) == 4
