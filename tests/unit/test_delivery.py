"""Deliveries end to end through a real aiohttp receiver and a real SMTP server (aiosmtpd),
on SQLite and on PostgreSQL (where several workers share the outbox)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from receptionist.business import Business
from receptionist.cli import main
from receptionist.delivery.webhook import classify
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from tests.fakes.receivers import SmtpSink, WebhookReceiver
from tests.postgres import Cluster
from tests.unit.delivery_helpers import make_business, running_worker
from tests.unit.store_backends import database_fixture  # noqa: F401 (fixture: both engines)
from tests.waiting import eventually

SECRET = "whsec-test-0123456789"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)


def _arg(database: Path | PostgresUrl) -> str:
    """The --db argument naming `database`."""
    return database.secret() if isinstance(database, PostgresUrl) else str(database)


async def test_message_goes_to_a_signed_webhook_and_an_email(
    tmp_path: Path, database: Path | PostgresUrl
) -> None:
    db = database
    store = Store(db)
    with SmtpSink() as smtp:
        async with WebhookReceiver(secret=SECRET) as hook:
            business = make_business(tmp_path, [
                {"type": "webhook", "url": hook.url, "secret": {"env": "TEST_HOOK_SECRET"}},
                {"type": "email", "to": ["desk@example.com"], "sender": "rx@example.com",
                 "smtp_port": smtp.port, "security": "none",
                 "events": ["message.taken", "call.ended"]},
            ])  # fmt: skip
            async with running_worker(db, {"test-co": business}):
                store.start_call("call-1", "test-co", "+15551230000", None)
                store.add_message("call-1", "test-co", "Jane Doe", "+1 555 234 5678", "Call me")
                await eventually(lambda: len(hook.requests) == 1 and len(smtp.messages) == 1)
                store.add_outcome("call-1", "message_taken")
                store.end_call("call-1")
                await eventually(lambda: len(smtp.messages) == 2)
                # The receiver has it a moment before the worker has marked it sent.
                await eventually(lambda: _status(store) == "sent" and _attempts(store) == 3)
    [request] = hook.requests
    assert hook.verified(request)
    body = request.json
    assert body["version"] == 1 and body["type"] == "message.taken"
    assert request.headers["X-Receptionist-Event-Id"] == body["id"]
    assert body["messages"][0]["caller_name"] == "Jane Doe"
    assert body["messages"][0]["text"] == "Call me"
    _, to, mail = smtp.messages[0]
    assert to == ["desk@example.com"]
    assert mail["Subject"] == "Message from Jane Doe (+1 555 234 5678): Message"
    text = mail.get_body(("plain",)).get_content()
    assert "Jane Doe" in text and "+1 555 234 5678" in text and "Call me" in text
    html = mail.get_body(("html",)).get_content()
    assert 'href="tel:+15552345678"' in html
    ended = smtp.messages[1][2]
    assert ended["Subject"] == "Message from Jane Doe (+1 555 234 5678): Message"
    assert "Summary: Jane Doe called" in ended.get_body(("plain",)).get_content()
    rows = store.sql.query("SELECT status, attempts FROM deliveries")
    assert rows == [{"status": "sent", "attempts": 1}] * 3
    store.close()


def _hook_business(tmp_path: Path, url: str, **channel: object) -> dict[str, Business]:
    spec = {"type": "webhook", "url": url, "secret": {"env": "TEST_HOOK_SECRET"}, **channel}
    return {"test-co": make_business(tmp_path, [spec])}


class FakeClock:
    """The worker's wall clock, moved by the test: a 30 s outage without waiting 30 s."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


async def test_outage_then_errors_then_success_delivers_once_with_every_attempt_recorded(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    hook = WebhookReceiver(secret=SECRET, statuses=[500, 500])  # not listening yet
    clock = FakeClock()
    async with running_worker(db, _hook_business(tmp_path, hook.url), clock=clock):
        store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Please call back")
        # The receiver refuses connections for 30 s in all, then answers 500, 500, 200.
        # After each attempt the clock moves on to when the next one is due.
        outage_ends = clock.at + timedelta(seconds=REFUSE_S)
        refused = await _attempt_made(store, after=0)
        while _next_attempt_at(store) < outage_ends:
            clock.at = _next_attempt_at(store)
            refused = await _attempt_made(store, after=refused)
        await hook.start()
        try:
            for made in range(refused, refused + 3):
                clock.at = _next_attempt_at(store)
                await _attempt_made(store, after=made)
            await eventually(lambda: _status(store) == "sent")
        finally:
            await hook.stop()
    assert refused >= 10  # retried all along the outage, the backoff at its 2 s cap
    assert [r.status for r in hook.requests] == [500, 500, 200]
    assert len({r.json["id"] for r in hook.requests}) == 1  # one event, one id, every time
    assert all(hook.verified(r) for r in hook.requests)
    attempts = store.sql.query("SELECT status_code, error, result FROM delivery_attempts")
    assert len(attempts) == refused + 3
    assert all(a["result"] == "retry" and "Connect" in a["error"] for a in attempts[:refused])
    assert [a["status_code"] for a in attempts[refused:]] == [500, 500, 200]
    assert [a["result"] for a in attempts[refused:]] == ["retry", "retry", "sent"]
    [row] = store.sql.query("SELECT status, attempts, last_status FROM deliveries")
    assert row == {"status": "sent", "attempts": refused + 3, "last_status": 200}
    store.close()


REFUSE_S = 30.0


def _attempts(store: Store) -> int:
    return int(store.sql.query("SELECT count(*) AS n FROM delivery_attempts")[0]["n"])


async def _attempt_made(store: Store, *, after: int) -> int:
    """Until the worker has recorded attempt number `after` + 1; how many there are."""
    await eventually(lambda: _attempts(store) > after)
    return _attempts(store)


def _next_attempt_at(store: Store) -> datetime:
    [row] = store.sql.query("SELECT next_attempt_at FROM deliveries")
    return datetime.fromisoformat(str(row["next_attempt_at"]))


def _status(store: Store) -> str | None:
    """The deliveries' one status (None while there are none, or they differ)."""
    found = {row["status"] for row in store.sql.query("SELECT status FROM deliveries")}
    return str(found.pop()) if len(found) == 1 else None


async def test_a_4xx_fails_at_once_is_listed_and_resent_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database: Path | PostgresUrl
) -> None:
    db = database
    store = Store(db)
    async with (
        WebhookReceiver(secret=SECRET, statuses=[404]) as hook,
        running_worker(db, _hook_business(tmp_path, hook.url)),
    ):
        store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Please call back")
        await eventually(lambda: _status(store) == "failed")
        assert main(["deliveries", "list", "--failed", "--db", _arg(db)]) == 0
        listed = capsys.readouterr().out
        assert "#1 " in listed and "failed" in listed and "HTTP 404" in listed
        assert main(["deliveries", "show", "1", "--db", _arg(db), "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [a["status_code"] for a in shown["attempt_log"]] == [404]
        assert main(["deliveries", "retry", "1", "--db", _arg(db)]) == 0
        assert "queued again: #1" in capsys.readouterr().out
        await eventually(lambda: _status(store) == "sent")
    assert [r.status for r in hook.requests] == [404, 200]
    assert hook.requests[0].json["id"] == hook.requests[1].json["id"]
    assert main(["deliveries", "list", "--failed", "--db", _arg(db)]) == 0
    assert capsys.readouterr().out.strip() == "no deliveries"
    store.close()


@pytest.mark.parametrize(("status", "result"), [
    (200, "sent"), (204, "sent"), (400, "failed"), (404, "failed"), (410, "failed"),
    (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry"), (302, "failed"),
])  # fmt: skip
def test_status_codes(status: int, result: str) -> None:
    assert classify(status) == result


async def test_slack_and_teams_formats(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with WebhookReceiver() as slack, WebhookReceiver() as teams:
        business = make_business(tmp_path, [
            {"type": "webhook", "format": "slack", "url": slack.url},
            {"type": "webhook", "format": "teams", "url": teams.url},
        ])  # fmt: skip
        async with running_worker(db, {"test-co": business}):
            store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Bill <b>?")
            await eventually(lambda: len(slack.requests) == 1 and len(teams.requests) == 1)
    text = slack.requests[0].json["text"]
    assert text == "Message from Jane Doe (+15552345678): Message"
    assert "Bill &lt;b&gt;?" in json.dumps(slack.requests[0].json["blocks"])
    assert "X-Receptionist-Signature" not in slack.requests[0].headers
    card = teams.requests[0].json["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["inlines"][0]["text"] for block in card["content"]["body"]]
    assert texts[0] == text and "Bill <b>?" in texts
    store.close()


# Over implicit TLS aiosmtpd cannot tell AUTH runs encrypted, and says so.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_email_over_starttls_and_implicit_tls_with_a_login(
    tmp_path: Path, security: str
) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    (tmp_path / "smtp.pass").write_text("pw-from-a-file\n")
    db = tmp_path / "r.db"
    store = Store(db)
    users = {"rx@example.com": "pw-from-a-file"}
    with SmtpSink(security=security, ca=ca, users=users) as smtp:
        mail = {
            "type": "email",
            "to": ["desk@example.com"],
            "sender": "rx@example.com",
            "smtp_port": smtp.port,
            "security": security,
            "ca_file": str(ca_file),
            "username": "rx@example.com",
            "password": {"file": str(tmp_path / "smtp.pass")},
        }
        wrong = {**mail, "name": "wrong", "username": "nobody@example.com"}  # fmt: skip
        async with running_worker(db, {"test-co": make_business(tmp_path, [mail, wrong])}):
            store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Call me")
            await eventually(lambda: len(smtp.messages) == 1 and _status_of(store, "wrong"))
    assert smtp.logins == ["rx@example.com"]
    assert "Jane Doe" in smtp.messages[0][2].get_body(("plain",)).get_content()
    [refused] = store.sql.query("SELECT * FROM deliveries WHERE channel = 'wrong'")
    assert refused["status"] == "failed" and refused["last_status"] == 535  # no retry
    store.close()


def _status_of(store: Store, channel: str) -> str | None:
    rows = store.sql.query("SELECT status FROM deliveries WHERE channel = ?", [channel])
    status = str(rows[0]["status"]) if rows else "pending"
    return status if status != "pending" else None


async def test_workers_sharing_a_postgres_outbox_deliver_each_event_once_woken_by_notify(
    tmp_path: Path, pg_cluster: Cluster
) -> None:
    """Three instances' workers on one PostgreSQL: every event is sent once (claims skip
    rows another worker is taking), and each is sent without waiting for a poll: the
    workers poll only once a minute here, so only NOTIFY can wake them."""
    database = pg_cluster.new_database()
    store = Store(database)
    async with WebhookReceiver(secret=SECRET) as hook:
        businesses = _hook_business(tmp_path, hook.url)
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(3):
                await stack.enter_async_context(
                    running_worker(database, businesses, poll_s=60.0, concurrency=4)
                )
            await eventually(lambda: _listeners(store) == 3)
            for n in range(60):
                store.add_message(None, "test-co", f"Caller {n}", "+15552345678", f"Note {n}")
            await eventually(lambda: len(hook.requests) == 60, timeout=30)
            # A worker marks a delivery sent once the receiver has answered: the workers
            # stop after the marks, not after the last request (a send cut off by the stop
            # is left pending, to be sent again: at least once).
            await eventually(lambda: _sent(store) == 60, timeout=10)
    names = sorted(r.json["messages"][0]["caller_name"] for r in hook.requests)
    assert names == sorted(f"Caller {n}" for n in range(60))  # each once, none twice
    assert len({r.json["id"] for r in hook.requests}) == 60
    rows = store.sql.query("SELECT status, attempts, count(*) AS n FROM deliveries"
                           " GROUP BY status, attempts")  # fmt: skip
    assert rows == [{"status": "sent", "attempts": 1, "n": 60}]
    store.close()


def _sent(store: Store) -> int:
    rows = store.sql.query("SELECT count(*) AS n FROM deliveries WHERE status = 'sent'")
    return int(rows[0]["n"])


def _listeners(store: Store) -> int:
    sql = "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
    return int(store.sql.query(sql)[0]["n"])
