"""`receptionist messages ...` and `receptionist calls ...` on a stored call log, in SQLite
and in PostgreSQL."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receptionist.cli import main
from receptionist.delivery.outbox import Attempt
from receptionist.store.handoffs import add_handoff, set_result
from receptionist.store.log import Store
from receptionist.store.open import open_sync_store
from receptionist.store.pg.url import PostgresUrl
from tests.postgres import Cluster
from tests.unit.delivery_helpers import deliver
from tests.unit.store_backends import AnyStore, database_fixture  # noqa: F401 (both backends)

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
CALL_ID = "1732900000.42-7f3a"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")  # times are shown in local time
    time.tzset()
    monkeypatch.delenv("RECEPTIONIST_SETTINGS", raising=False)
    monkeypatch.delenv("RECEPTIONIST_DATA_DIR", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def db(database: Path | PostgresUrl) -> Path | PostgresUrl:
    store = open_sync_store(database)
    _fill(store)
    store.close()
    return database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "call-log.db"
    store = Store(path)
    _fill(store)
    store.close()
    return path


def _fill(store: AnyStore) -> None:
    store.start_call(CALL_ID, "example-dental", "+12125550123", "chan-1", at=T0)
    store.add_turn(CALL_ID, "assistant", "Thank you for calling Example Dental.", 0, 2000)
    store.add_turn(CALL_ID, "assistant", "I can take a message for you.", 6000, 8000)
    store.add_turn(CALL_ID, "caller", "Hi, can someone call me back about my bill?", 2500, 5500)
    store.add_turn(CALL_ID, "caller", "Thanks, bye.", 9000, 9500)
    store.add_message(CALL_ID, "example-dental", "Ann Lee", "+19175550142", "Bill question", at=T0)
    store.add_outcome(CALL_ID, "message_taken")
    store.end_call(CALL_ID, at=T0 + timedelta(seconds=75))
    store.start_call("other-call", "bakery", None, None, at=T0 - timedelta(days=3))
    store.add_message(
        "other-call", "bakery", "Bo", "+12125550100", "Cake", at=T0 - timedelta(days=3)
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_calls_show_prints_the_conversation_in_order(
    capsys: pytest.CaptureFixture[str], db: Path | PostgresUrl
) -> None:
    code, out, _ = run(capsys, "calls", "show", CALL_ID[:10], "--db", str(db))
    assert code == 0
    assert f"Call {CALL_ID} (example-dental)" in out
    assert "From +12125550123, started 2026-11-30 15:00 UTC, 1m15s" in out
    assert "Outcomes: message_taken" in out
    expected = [
        "[00:00] Receptionist: Thank you for calling Example Dental.",
        "[00:02] Caller: Hi, can someone call me back about my bill?",
        "[00:06] Receptionist: I can take a message for you.",
        "[00:09] Caller: Thanks, bye.",
        "Message #1 (new): Ann Lee, +19175550142",
    ]
    positions = [out.index(line) for line in expected]
    assert positions == sorted(positions), out


def test_calls_show_json(capsys: pytest.CaptureFixture[str], db: Path | PostgresUrl) -> None:
    code, out, _ = run(capsys, "calls", "show", CALL_ID, "--db", str(db), "--json")
    data = json.loads(out)
    assert code == 0 and data["id"] == CALL_ID
    assert [t["start_ms"] for t in data["turns"]] == [0, 2500, 6000, 9000]
    assert data["messages"][0]["caller_name"] == "Ann Lee"
    # No handoff, and nothing delivered yet (PostgreSQL keeps neither: both stay empty).
    assert data["handoffs"] == []
    assert all(note["deliveries"] == [] for note in data["notifications"])


def test_calls_show_handoffs_and_notifications(
    capsys: pytest.CaptureFixture[str], sqlite_db: Path
) -> None:
    store = Store(sqlite_db)
    # Department names come from config: a control character in one is shown, not obeyed.
    add_handoff(store, CALL_ID, "transfer", "Billing\x1b[2J", "PJSIP/201")
    set_result(store, CALL_ID, "transfer", "answered")
    add_handoff(store, CALL_ID, "voicemail", "Front desk", "100@default")  # no result yet
    retry = Attempt("retry", 451, "SMTP 451: try later")
    failed = Attempt("failed", 550, "SMTP 550: no such\nmailbox")  # the server's own words
    deliver(store, CALL_ID, "message.taken",
            {"crm": [Attempt("sent", 200)], "office-email": [retry, failed],
             "team-chat": [Attempt("retry", 503, "HTTP 503")]})  # fmt: skip
    deliver(store, "other-call", "message.taken", {})  # no channel: nothing was sent
    store.close()

    code, out, _ = run(capsys, "calls", "show", CALL_ID, "--db", str(sqlite_db))
    assert code == 0
    lines = out.splitlines()
    header = lines[: lines.index("")]
    assert header[-2:] == [
        "Handed off: transfer to Billing\\x1b[2J (PJSIP/201): answered",
        "Handed off: voicemail for Front desk (100@default): unknown",
    ]
    assert "\x1b" not in out
    # The call's end is not prepared yet (the worker holds it): queued.
    assert lines[lines.index("Notifications:") :] == [
        "Notifications:",
        "  message.taken to crm: sent",
        "  message.taken to office-email: failed after 2 attempts: SMTP 550: no such\\nmailbox",
        "  message.taken to team-chat: pending, retrying (1 attempt failed)",
        "  call.ended: queued",
    ]
    _, out, _ = run(capsys, "calls", "show", "other-call", "--db", str(sqlite_db))
    assert "Notifications" not in out and "Handed off" not in out

    code, out, _ = run(capsys, "calls", "show", CALL_ID, "--db", str(sqlite_db), "--json")
    data = json.loads(out)
    assert code == 0 and data["id"] == CALL_ID  # the call's own fields stay at the top
    assert [(h["kind"], h["department"], h["target"], h["result"]) for h in data["handoffs"]] == [
        ("transfer", "Billing\x1b[2J", "PJSIP/201", "answered"),
        ("voicemail", "Front desk", "100@default", None),
    ]
    notes = data["notifications"]
    assert [n["type"] for n in notes] == ["message.taken", "call.ended"]
    assert notes[1]["deliveries"] == []
    delivered = [(d["channel"], d["status"], d["attempts"], d["last_status"])
                 for d in notes[0]["deliveries"]]  # fmt: skip
    assert delivered == [("crm", "sent", 1, 200), ("office-email", "failed", 2, 550),
                         ("team-chat", "pending", 1, 503)]  # fmt: skip


def test_calls_show_unknown(capsys: pytest.CaptureFixture[str], db: Path | PostgresUrl) -> None:
    code, _, err = run(capsys, "calls", "show", "nope", "--db", str(db))
    assert code == 1 and "no call 'nope'" in err


def test_calls_list_and_filters(capsys: pytest.CaptureFixture[str], db: Path | PostgresUrl) -> None:
    code, out, _ = run(capsys, "calls", "list", "--db", str(db))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(CALL_ID) and "1m15s" in lines[0] and "message_taken" in lines[0]
    assert lines[1].startswith("other-call") and "ongoing" in lines[1]
    _, out, _ = run(capsys, "calls", "list", "--db", str(db), "--business", "bakery")
    assert out.startswith("other-call") and CALL_ID not in out
    _, out, _ = run(capsys, "calls", "list", "--db", str(db), "--since", "2026-11-30")
    assert CALL_ID in out and "other-call" not in out
    _, out, _ = run(capsys, "calls", "list", "--db", str(db), "--until", "2026-11-27")
    assert CALL_ID not in out and "other-call" in out
    _, out, _ = run(capsys, "calls", "list", "--db", str(db), "--search", "bill", "--json")
    assert [c["id"] for c in json.loads(out)] == [CALL_ID]
    _, out, _ = run(capsys, "calls", "list", "--db", str(db), "--business", "none")
    assert out.strip() == "no calls"


def test_bad_date_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], db: Path | PostgresUrl
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["calls", "list", "--db", str(db), "--since", "last tuesday"])
    assert exited.value.code == 2
    assert "not a date or time" in capsys.readouterr().err


def test_messages_list_show_and_mark_handled(
    capsys: pytest.CaptureFixture[str], db: Path | PostgresUrl
) -> None:
    code, out, _ = run(capsys, "messages", "list", "--db", str(db))
    assert code == 0
    assert out.splitlines()[0].startswith("#1")
    assert "Ann Lee (+19175550142): Bill question" in out and "Bo (+12125550100)" in out
    code, out, _ = run(capsys, "messages", "show", "1", "--db", str(db))
    assert code == 0
    assert "Message #1 for example-dental (new)" in out and "Call back: +19175550142" in out
    assert out.rstrip().endswith("Bill question")

    code, out, _ = run(capsys, "messages", "mark-handled", "1", "--db", str(db))
    assert code == 0 and "#1 marked handled" in out
    code, out, _ = run(capsys, "messages", "mark-handled", "1", "--db", str(db))
    assert code == 0 and re.match(r"#1 was already handled \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", out)
    _, out, _ = run(capsys, "messages", "mark-handled", "1", "--db", str(db), "--json")
    assert json.loads(out) == [{"id": 1, "found": True, "already_handled": True}]
    _, out, _ = run(capsys, "messages", "list", "--db", str(db), "--status", "new", "--json")
    assert [m["id"] for m in json.loads(out)] == [2]
    _, out, _ = run(capsys, "messages", "show", "1", "--db", str(db), "--json")
    assert json.loads(out)["status"] == "handled"
    _, out, _ = run(capsys, "messages", "list", "--db", str(db), "--business", "bakery")
    assert "Bo" in out and "Ann" not in out

    code, _, err = run(capsys, "messages", "mark-handled", "2", "99", "--db", str(db))
    assert code == 1 and "no message #99" in err
    code, _, err = run(capsys, "messages", "show", "99", "--db", str(db))
    assert code == 1 and "no message #99" in err


def test_database_from_settings_and_missing_database(
    capsys: pytest.CaptureFixture[str],
    sqlite_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data-dir"
    data.mkdir()
    sqlite_db.rename(data / "receptionist.db")
    monkeypatch.setenv("RECEPTIONIST_DATA_DIR", str(data))
    code, out, _ = run(capsys, "messages", "list")
    assert code == 0 and "Ann Lee" in out
    monkeypatch.setenv("RECEPTIONIST_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = run(capsys, "calls", "list")
    assert code == 2 and "no database at" in err
    assert not (tmp_path / "empty").exists()  # reading never creates a database


def test_postgres_url_from_settings(
    capsys: pytest.CaptureFixture[str], pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_cluster.new_database()
    store = open_sync_store(url)
    _fill(store)
    store.close()
    monkeypatch.setenv("RECEPTIONIST_DATABASE", url.secret())
    code, out, _ = run(capsys, "calls", "list")
    assert code == 0 and out.startswith(CALL_ID) and "message_taken" in out


def test_unreachable_postgres_is_an_error_without_its_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"postgresql://rec:hunter2@/calls?host={tmp_path}"  # no server there
    code, _, err = run(capsys, "calls", "list", "--db", url)
    assert code == 2 and "error: PostgreSQL at postgresql://rec:***@/calls" in err
    assert "hunter2" not in err
