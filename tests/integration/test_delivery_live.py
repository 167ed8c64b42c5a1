"""Notifications from live calls through the sandbox Asterisk: a signed webhook and an
email for a message, and a call.ended email after a missed transfer and a message."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.business import load_businesses
from receptionist.sandbox import SandboxInfo
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.receivers import SmtpSink, WebhookReceiver
from tests.fakes.tones import tone as tone24
from tests.integration.harness import eventually
from tests.integration.live import function_outputs, live_call
from tests.unit.delivery_helpers import running_worker

pytestmark = pytest.mark.integration

SECRET = "whsec-live-test"
MESSAGE = {"caller_name": "Sam Lee", "callback_number": "+1 555 234 5678",
           "message": "Please call me about my crown."}  # fmt: skip


def _channels(hook: WebhookReceiver, smtp: SmtpSink, email_events: list[str]) -> dict[str, object]:
    return {
        "channels": [
            {"name": "office", "type": "webhook", "url": hook.url,
             "secret": {"env": "LIVE_HOOK_SECRET"}, "events": ["message.taken", "call.ended"]},
            {"name": "desk", "type": "email", "to": ["desk@example.com"],
             "sender": "rx@example.com", "smtp_port": smtp.port, "security": "none",
             "events": email_events},
        ]
    }  # fmt: skip


async def test_a_message_taken_on_a_call_is_posted_signed_and_emailed(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, report: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("LIVE_HOOK_SECRET", SECRET)
    script = Script(replies=[Reply(tone24(1000, 0.3), "I'll take a message.",
                                   calls=(ToolCall("take_message", MESSAGE),))])  # fmt: skip
    with SmtpSink() as smtp:
        async with WebhookReceiver(secret=SECRET) as hook:
            notifications = _channels(hook, smtp, ["message.taken"])
            async with live_call(ari, sandbox, tmp_path, script,
                                 notifications=notifications) as (live, _, call):  # fmt: skip
                businesses = load_businesses(tmp_path / "businesses")
                async with running_worker(live.store.path, businesses):
                    await function_outputs(live, 1)
                    [message] = live.store.list_messages()
                    committed = message.created_at.timestamp()
                    await eventually(lambda: hook.requests and smtp.messages, timeout=2)
                    assert time.time() - committed < 2.0
                await ari.hangup(call.dialplan_id)
    [request] = hook.requests
    assert hook.verified(request)
    body = request.json
    assert body["type"] == "message.taken" and body["call"]["id"] == call.dialplan_id
    assert body["messages"][0]["caller_name"] == "Sam Lee"
    assert body["messages"][0]["text"] == MESSAGE["message"]
    [(_, to, mail)] = smtp.messages
    assert to == ["desk@example.com"]
    text = mail.get_body(("plain",)).get_content()
    # The number as the take_message tool stored it (normalised to E.164).
    assert "Sam Lee" in text and "+15552345678" in text and MESSAGE["message"] in text
    assert mail["Subject"] == "Message from Sam Lee (+15552345678): Message"
    report["delivery_commit_to_webhook_ms"] = round((request.at - committed) * 1000)
    report["delivery_commit_to_email_ms"] = round((smtp.messages[0][0] - committed) * 1000)


async def test_call_ended_email_after_a_missed_transfer_and_a_message(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVE_HOOK_SECRET", SECRET)
    # No phone answers on 203: the transfer comes back and the receptionist takes a message.
    script = Script(
        replies=[
            Reply(tone24(1000, 0.3), "Connecting you.",
                  calls=(ToolCall("transfer_call", {"department": "Front Desk"}),)),
            Reply(tone24(1000, 0.3), "Nobody answered; I'll take a message.",
                  calls=(ToolCall("take_message", MESSAGE),)),
        ]
    )  # fmt: skip
    with SmtpSink() as smtp:
        async with WebhookReceiver(secret=SECRET) as hook:
            notifications = _channels(hook, smtp, ["call.ended"])
            async with live_call(ari, sandbox, tmp_path, script,
                                 notifications=notifications) as (live, _, call):  # fmt: skip
                businesses = load_businesses(tmp_path / "businesses")
                async with running_worker(live.store.path, businesses):
                    live.fake.wait_timeout_s = 20
                    await live.fake.wait_until(lambda: len(live.fake.connections) >= 2)
                    await function_outputs(live, 2)
                    await eventually(lambda: bool(live.store.list_messages()))
                    await ari.hangup(call.dialplan_id)
                    await eventually(lambda: bool(smtp.messages), timeout=15)
    [(_, _, mail)] = smtp.messages
    assert mail["Subject"] == "Message from Sam Lee (+15552345678): Transfer missed + Message"
    text = mail.get_body(("plain",)).get_content()
    assert "Outcomes: Transfer missed, Message" in text and MESSAGE["message"] in text
    assert "Summary: Sam Lee called (+15552345678). Outcome: transfer missed, message" in text
    types = [r.json["type"] for r in hook.requests]
    assert types.count("call.ended") == 1  # the transfer's first goodbye was not reported
    ended = next(r.json for r in hook.requests if r.json["type"] == "call.ended")
    assert {"transferred", "transfer_failed", "message_taken"} <= set(ended["call"]["outcomes"])
    assert datetime.fromisoformat(ended["call"]["ended_at"]) > datetime.fromisoformat(
        ended["call"]["started_at"]
    )
