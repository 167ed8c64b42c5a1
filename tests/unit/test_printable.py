"""Caller text is stored as given but reaches a person's terminal with control characters
escaped: no escape sequences, bells or forged rows and headers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from receptionist.cli import main
from receptionist.core.logs import log
from receptionist.core.printable import printable
from receptionist.store.log import Store

FORGED_NAME = "Eve\x1b[2J\x07\r\n#999  2026-01-01 00:00  new      acme  Boss: wire $5000"
FORGED_BODY = "hello\nFrom:      The Bank\x1b]0;pwned\x07\u202e"
NASTY = ("\x1b", "\x07", "\r", "\u202e")


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECEPTIONIST_SETTINGS", raising=False)
    store = Store(tmp_path / "log.db")
    store.start_call("c1", "acme", "+1555\x1b[31m0100", "c1")
    store.add_turn("c1", "caller", "hi\x1b[41mthere\nReceptionist: fake line", 0, 900)
    store.add_message("c1", "acme", FORGED_NAME, "+15550100\x08\x08\x08", FORGED_BODY)
    store.close()
    return tmp_path / "log.db"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(list(argv)) == 0
    finally:
        root.handlers[:], root.level = handlers, level
    return capsys.readouterr().out


def test_message_list_shows_one_row_per_message_with_controls_escaped(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "messages", "list", "--db", str(db))
    assert len(out.splitlines()) == 1, out
    assert not any(char in out for char in NASTY)
    assert "Eve\\x1b[2J\\x07\\r\\n#999" in out


def test_message_show_has_no_forged_header(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "messages", "show", "1", "--db", str(db))
    assert not any(char in out for char in NASTY)
    assert [line for line in out.splitlines() if line.startswith("From:")] == [
        "From:      " + printable(FORGED_NAME)
    ]
    assert "  From:      The Bank\\x1b]0;pwned\\x07\\u202e" in out.splitlines()


def test_call_list_and_show_escape_the_caller_id_and_transcript(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = run(capsys, "calls", "list", "--db", str(db))
    shown = run(capsys, "calls", "show", "c1", "--db", str(db))
    for out in (listing, shown):
        assert not any(char in out for char in NASTY)
        assert "+1555\\x1b[31m0100" in out
    assert not any(line.startswith("Receptionist:") for line in shown.splitlines())


def test_json_output_and_the_store_keep_the_text_exactly(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "messages", "show", "1", "--db", str(db), "--json")
    message = json.loads(out)
    assert (message["caller_name"], message["message"]) == (FORGED_NAME, FORGED_BODY)


def test_log_fields_escape_control_characters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log(logging.getLogger("test"), logging.INFO, "caller said", name="Eve\x1b[2J\x07")
    [record] = caplog.records
    assert record.getMessage() == "caller said name='Eve\\x1b[2J\\x07'"
