"""Recording retention: expired files go, recent ones stay, the rows remain as a record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receptionist.business import load_businesses
from receptionist.cli import main
from receptionist.retention import purge_recordings
from receptionist.store import Store

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _recording(store: Store, tmp_path: Path, call_id: str, business: str, age_days: int) -> Path:
    wav = tmp_path / f"{call_id}.wav"
    wav.write_bytes(b"RIFF")
    store.start_call(call_id, business, "+15550001111", call_id, at=NOW - timedelta(days=age_days))
    rid = store.add_recording(call_id, str(wav), 12.5)
    at = (NOW - timedelta(days=age_days)).isoformat()
    store.db.execute("UPDATE recordings SET created_at = ? WHERE id = ?", [at, rid])
    return wav


def test_only_recordings_past_their_business_retention_are_deleted(tmp_path: Path) -> None:
    businesses = load_businesses(REPO / "config/businesses")  # example-dental keeps 90 days
    store = Store(tmp_path / "calls.db")
    old = _recording(store, tmp_path, "c-old", "example-dental", 120)
    new = _recording(store, tmp_path, "c-new", "example-dental", 10)
    orphan = _recording(store, tmp_path, "c-orphan", "gone-business", 91)  # default: 90

    preview = purge_recordings(store, businesses, NOW, dry_run=True)
    assert {p.path for p in preview} == {str(old), str(orphan)}
    assert old.exists() and orphan.exists(), "a dry run deletes nothing"

    purged = purge_recordings(store, businesses, NOW)
    assert {p.path for p in purged} == {str(old), str(orphan)}
    assert not old.exists() and not orphan.exists() and new.exists()
    assert purge_recordings(store, businesses, NOW) == [], "each file is purged once"
    record = store.get_call("c-old")
    assert record is not None and len(record.recordings) == 1  # the row stays


def test_purge_command_reports_what_it_would_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "calls.db")
    old = _recording(store, tmp_path, "c-old", "example-dental", 3650)
    store.close()
    monkeypatch.setenv("RECEPTIONIST_BUSINESSES_DIR", str(REPO / "config/businesses"))
    code = main(["recordings", "purge", "--dry-run", "--db", str(tmp_path / "calls.db")])
    assert code == 0
    out = capsys.readouterr().out
    assert f"would delete {old}" in out and "1 recording(s) to delete" in out
    assert old.exists()
