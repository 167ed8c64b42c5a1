"""Deliveries end to end through a real aiohttp receiver and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from pathlib import Path

import pytest

from receptionist.store import Store
from tests.fakes.receivers import SmtpSink, WebhookReceiver
from tests.integration.harness import eventually
from tests.unit.delivery_helpers import make_business, running_worker

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
