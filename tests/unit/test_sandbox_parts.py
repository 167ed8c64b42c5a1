"""Pure parts of the sandbox and the app: mirror discovery, version gates, ARI events."""

from __future__ import annotations

from pathlib import Path

import pytest

from receptionist.ari import ChannelDtmfReceived, Event, StasisStart, parse_event
from receptionist.sandbox.chroot import SandboxError, debian_mirror
from receptionist.service.app import supports_wideband


def test_mirror_comes_from_deb822_or_one_line_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECEPTIONIST_DEBIAN_MIRROR", raising=False)
    other = tmp_path / "node.sources"
    other.write_text("Types: deb\nURIs: http://example.invalid/node_20.x\nSuites: nodistro\n")
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\nURIs: http://mirror.example.invalid/debian\n")
    assert debian_mirror([other, deb822]) == "http://mirror.example.invalid/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text("deb [arch=amd64] http://m.example.invalid/debian/ bookworm main\n")
    assert debian_mirror([one_line]) == "http://m.example.invalid/debian/"


def test_no_debian_mirror_is_a_plain_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECEPTIONIST_DEBIAN_MIRROR", raising=False)
    with pytest.raises(SandboxError, match="RECEPTIONIST_DEBIAN_MIRROR"):
        debian_mirror([tmp_path / "missing.list"])


@pytest.mark.parametrize(
    ("version", "wideband"),
    [
        ("22.10.1+dfsg+~cs6.17.60671434-1", True),
        ("22.7.0", True),
        ("22.6.0", False),
        ("21.12.0", True),
        ("21.11.2", False),
        ("20.17.0", True),
        ("20.6.0", False),  # Ubuntu 24.04
        ("18.10.0", False),  # Ubuntu 22.04
        ("23.1.0", True),
        ("certified/20.7-cert5", False),  # unknown shape: 8 kHz works everywhere
    ],
)
def test_wideband_legs_only_where_audiosocket_supports_them(version: str, wideband: bool) -> None:
    assert supports_wideband(version) is wideband


def test_ari_events_parse_to_typed_events() -> None:
    channel = {"id": "c1", "name": "PJSIP/trunk-1", "state": "Ring",
               "caller": {"number": "+15550001111", "name": "A"}}  # fmt: skip
    start = parse_event(
        {
            "type": "StasisStart",
            "application": "rx",
            "args": ["inbound", "", "100"],
            "channel": channel,
        }
    )
    assert isinstance(start, StasisStart)
    assert start.args == ("inbound", "", "100")
    assert start.channel.caller_number == "+15550001111"
    dtmf = parse_event(
        {"type": "ChannelDtmfReceived", "application": "rx", "digit": "0", "channel": channel}
    )
    assert isinstance(dtmf, ChannelDtmfReceived) and dtmf.digit == "0"
    other = parse_event({"type": "Dial", "application": "rx"})
    assert type(other) is Event and other.channel_id is None


def test_each_sandbox_is_an_asterisk_server_of_its_own() -> None:
    # Call rows name their server by systemname and entity id: two sandboxes on one host
    # must differ in both (Asterisk would take the same hardware address for each).
    from receptionist.sandbox.launcher import TEMPLATES, entity_id

    ids = {entity_id(name) for name in ("default", "pytest-1", "pytest-1-b")}
    assert len(ids) == 3
    assert all(len(i.split(":")) == 6 and i.startswith("02:") for i in ids)
    conf = (TEMPLATES / "asterisk.conf").read_text()
    assert "systemname = receptionist-sandbox-{{name}}" in conf
    assert "entityid = {{entity_id}}" in conf
