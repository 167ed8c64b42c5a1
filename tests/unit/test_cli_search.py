"""`--search` takes words as typed: FTS5 syntax characters are searched for, never parsed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from receptionist.cli import main
from receptionist.store.log import Store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    store = Store(tmp_path / "log.db")
    store.start_call("c1", "acme", None, None)
    store.add_turn("c1", "caller", 'I said "billing" AND more', 0, 900)
    store.add_message("c1", "acme", "Ann", "+15550100", "about my bill (NEAR the end)")
    store.close()
    return tmp_path / "log.db"


@pytest.mark.parametrize(
    ("kind", "search", "found"),
    [
        ("calls", '"', False),
        ("calls", '"billing', True),
        ("calls", "AND", True),
        ("calls", "bill", True),  # porter stemming still applies
        ("messages", "NEAR(", True),
        ("messages", "(", False),
        ("messages", "-x", False),
    ],
)
def test_search_syntax_characters_are_plain_text(
    db: Path, capsys: pytest.CaptureFixture[str], kind: str, search: str, found: bool
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = main([kind, "list", "--db", str(db), f"--search={search}"])
    finally:
        root.handlers[:], root.level = handlers, level
    out = capsys.readouterr().out
    assert code == 0
    assert (f"no {kind}" not in out) == found, out
