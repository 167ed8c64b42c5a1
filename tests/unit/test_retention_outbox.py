"""Retention reaches every copy of a call's text: handoff rows, and the documents the
outbox kept for notifications; a business with no channels keeps no document at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from receptionist.business import Business, load_business
from receptionist.store.handoffs import add_handoff
from receptionist.store.log import Store
from receptionist.store.retention import sweep
from tests.fakes.receivers import WebhookReceiver
from tests.unit.delivery_helpers import HEAD, make_business, running_worker
from tests.waiting import eventually

SAID = "zqturnsecretx"
LEFT = "zqmessagesecretx"
RETENTION = {"transcripts": 1, "messages": 1, "unhandled_messages": True, "calls": 30}


def _count(store: Store, sql: str) -> int:
    return int(store.db.execute(sql).fetchone()[0])


def _business(tmp_path: Path, url: str, events: list[str]) -> Business:
    channel = {"type": "webhook", "url": url, "events": events}
    data = {**HEAD, "retention": RETENTION, "notifications": {"channels": [channel]}}
    (tmp_path / "test-co.yaml").write_text(yaml.safe_dump(data))
    return load_business(tmp_path / "test-co.yaml")


def _a_call_with_a_message(store: Store, call_id: str) -> None:
    store.start_call(call_id, "test-co", "+15550001111", call_id)
    store.add_turn(call_id, "caller", f"I need {SAID} today", 0, 900)
    store.add_message(call_id, "test-co", "Ann", "+15550001111", f"please {LEFT} back")
    store.add_outcome(call_id, "message_taken")
    store.end_call(call_id)


async def test_deleted_text_leaves_the_outbox_documents_and_the_file(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with WebhookReceiver() as hook:
        config = _business(tmp_path, hook.url, ["message.taken", "call.ended"])
        async with running_worker(db, {"test-co": config}):
            _a_call_with_a_message(store, "call-1")
            await eventually(
                lambda: _count(store, "SELECT count(*) FROM deliveries WHERE status = 'sent'") == 2
            )
    assert _count(store, f"SELECT count(*) FROM events WHERE payload LIKE '%{LEFT}%'") == 2
    add_handoff(store, "call-1", "transfer", "Front Desk", "PJSIP/201")
    # Two days on: the transcript and the message are past their day; the call is not.
    later = datetime.now(UTC) + timedelta(days=2)
    sweep(store, {"test-co": config}, later)
    assert _count(store, "SELECT count(*) FROM turns") == 0
    assert _count(store, "SELECT count(*) FROM messages") == 0
    assert _count(store, "SELECT count(*) FROM events WHERE payload IS NOT NULL") == 0
    # The deliveries' own record stays until the delivery limit.
    assert _count(store, "SELECT count(*) FROM deliveries WHERE status = 'sent'") == 2
    assert _count(store, "SELECT count(*) FROM handoffs") == 1  # the call itself is kept
    # A month on the call goes, and its handoff with it.
    sweep(store, {"test-co": config}, datetime.now(UTC) + timedelta(days=31))
    assert _count(store, "SELECT count(*) FROM calls") == 0
    assert _count(store, "SELECT count(*) FROM handoffs") == 0
    store.close()
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes()
                             if db.with_name(db.name + "-wal").exists() else b"")  # fmt: skip
    assert SAID.encode() not in raw and LEFT.encode() not in raw


async def test_an_event_with_no_channel_keeps_no_document(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with running_worker(db, {"test-co": make_business(tmp_path, [])}):
        _a_call_with_a_message(store, "call-1")
        await eventually(
            lambda: _count(store, "SELECT count(*) FROM events WHERE prepared_at IS NULL") == 0
        )
    assert _count(store, "SELECT count(*) FROM events") == 2
    assert _count(store, "SELECT count(*) FROM events WHERE payload IS NOT NULL") == 0
    assert _count(store, "SELECT count(*) FROM deliveries") == 0
    store.close()


async def test_a_pending_delivery_keeps_its_document_until_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with WebhookReceiver(default=503) as hook:
        config = _business(tmp_path, hook.url, ["message.taken"])
        async with running_worker(db, {"test-co": config}):
            _a_call_with_a_message(store, "call-1")
            await eventually(lambda: len(hook.requests) >= 1)
    sweep(store, {"test-co": config}, datetime.now(UTC) + timedelta(days=2))
    assert _count(store, "SELECT count(*) FROM messages") == 0
    assert _count(store, f"SELECT count(*) FROM events WHERE payload LIKE '%{LEFT}%'") == 1
    store.close()


def test_a_recording_file_that_cannot_be_deleted_keeps_its_row_and_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "r.db")
    config = _business(tmp_path, "http://127.0.0.1:9/hook", ["message.taken"])
    kept, gone = tmp_path / "kept.wav", tmp_path / "gone.wav"
    for call_id, wav in (("call-kept", kept), ("call-gone", gone)):
        _a_call_with_a_message(store, call_id)
        wav.write_bytes(b"RIFF" + bytes(2044))
        store.add_recording(call_id, str(wav), 1.0)
    unlink = Path.unlink

    def refuse(path: Path, missing_ok: bool = False) -> None:
        # What a file of the asterisk user in a directory we may not write gives.
        if path == kept:
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    report = sweep(store, {"test-co": config}, datetime.now(UTC) + timedelta(days=31))
    assert report.failed_files == (str(kept),)
    assert kept.exists() and not gone.exists()
    rows = list(store.db.query("SELECT call_id, path, purged_at FROM recordings"))
    assert rows == [{"call_id": "call-kept", "path": str(kept), "purged_at": None}]
    assert [row["id"] for row in store.db.query("SELECT id FROM calls")] == ["call-kept"]
    store.close()
