"""Deliveries end to end through a real aiohttp receiver and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from receptionist.business import Business
from receptionist.cli import main
from receptionist.delivery.webhook import classify
from receptionist.store.sqlite import Store
from tests.fakes.receivers import SmtpSink, WebhookReceiver
from tests.unit.delivery_helpers import make_business, running_worker
from tests.waiting import eventually

SECRET = "whsec-test-0123456789"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)


async def test_message_goes_to_a_signed_webhook_and_an_email(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
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
    rows = list(store.db.query("SELECT status, attempts FROM deliveries"))
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
    attempts = list(store.db.query("SELECT status_code, error, result FROM delivery_attempts"))
    assert len(attempts) == refused + 3
    assert all(a["result"] == "retry" and "Connect" in a["error"] for a in attempts[:refused])
    assert [a["status_code"] for a in attempts[refused:]] == [500, 500, 200]
    assert [a["result"] for a in attempts[refused:]] == ["retry", "retry", "sent"]
    [row] = store.db.query("SELECT status, attempts, last_status FROM deliveries")
    assert row == {"status": "sent", "attempts": refused + 3, "last_status": 200}
    store.close()


REFUSE_S = 30.0


def _attempts(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM delivery_attempts").fetchone()[0])


async def _attempt_made(store: Store, *, after: int) -> int:
    """Until the worker has recorded attempt number `after` + 1; how many there are."""
    await eventually(lambda: _attempts(store) > after)
    return _attempts(store)


def _next_attempt_at(store: Store) -> datetime:
    [when] = store.db.execute("SELECT next_attempt_at FROM deliveries").fetchone()
    return datetime.fromisoformat(when)


def _status(store: Store) -> str | None:
    row = store.db.execute("SELECT status FROM deliveries").fetchone()
    return row[0] if row else None


async def test_a_4xx_fails_at_once_is_listed_and_resent_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with (
        WebhookReceiver(secret=SECRET, statuses=[404]) as hook,
        running_worker(db, _hook_business(tmp_path, hook.url)),
    ):
        store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Please call back")
        await eventually(lambda: _status(store) == "failed")
        assert main(["deliveries", "list", "--failed", "--db", str(db)]) == 0
        listed = capsys.readouterr().out
        assert "#1 " in listed and "failed" in listed and "HTTP 404" in listed
        assert main(["deliveries", "show", "1", "--db", str(db), "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [a["status_code"] for a in shown["attempt_log"]] == [404]
        assert main(["deliveries", "retry", "1", "--db", str(db)]) == 0
        assert "queued again: #1" in capsys.readouterr().out
        await eventually(lambda: _status(store) == "sent")
    assert [r.status for r in hook.requests] == [404, 200]
    assert hook.requests[0].json["id"] == hook.requests[1].json["id"]
    assert main(["deliveries", "list", "--failed", "--db", str(db)]) == 0
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
    texts = [block["text"] for block in card["content"]["body"]]
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
    [refused] = store.db.query("SELECT * FROM deliveries WHERE channel = 'wrong'")
    assert refused["status"] == "failed" and refused["last_status"] == 535  # no retry
    store.close()


def _status_of(store: Store, channel: str) -> str | None:
    row = store.db.execute("SELECT status FROM deliveries WHERE channel = ?", [channel]).fetchone()
    return row[0] if row and row[0] != "pending" else None
