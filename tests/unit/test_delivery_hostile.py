"""Caller text that would break or hijack a delivery, and sends that raise: each still ends
as an attempt recorded, and caller text is shown on every channel, never obeyed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import pytest

from receptionist.cli import main
from receptionist.delivery import email as email_module
from receptionist.delivery import worker as worker_module
from receptionist.delivery.worker import RetryPolicy
from receptionist.store.log import Store
from tests.fakes.receivers import SmtpSink, WebhookReceiver
from tests.unit.delivery_helpers import make_business, running_worker
from tests.waiting import eventually

HOSTILE_NAME = "Jane\r\nBcc: evil@example.com\r\n\r\nBody"
SLACK_TRAPS = "<!channel> <https://evil.example|Pay now> & co"
TEAMS_TRAP = "[Pay now](https://evil.example)"


def _rows(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT status, attempts, last_error FROM deliveries"))


def _mail_channel(port: int) -> dict[str, Any]:
    return {"type": "email", "to": ["desk@example.com"], "sender": "rx@example.com",
            "smtp_port": port, "security": "none"}  # fmt: skip


async def test_a_name_with_line_breaks_is_mailed_on_one_header_line(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    with SmtpSink() as smtp:
        business = make_business(tmp_path, [_mail_channel(smtp.port)])
        async with running_worker(db, {"test-co": business}):
            store.add_message(None, "test-co", HOSTILE_NAME, "+1 555\n0100", "Call me")
            await eventually(lambda: [r["status"] for r in _rows(store)] == ["sent"])
    _, to, mail = smtp.messages[0]
    assert to == ["desk@example.com"]  # no Bcc smuggled in
    assert mail["Bcc"] is None
    assert mail["Subject"] == (
        "Message from Jane Bcc: evil@example.com Body (+1 555 0100): Message"
    )
    lines = mail.get_body(("plain",)).get_content().splitlines()
    assert "Caller: Jane Bcc: evil@example.com Body" in lines
    assert _rows(store) == [{"status": "sent", "attempts": 1, "last_error": None}]
    store.close()


async def test_a_send_that_raises_counts_as_attempts_then_fails_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object) -> NoReturn:
        raise RuntimeError("receiver library broke")

    monkeypatch.setattr(worker_module, "send_webhook", explode)
    db = tmp_path / "r.db"
    store = Store(db)
    business = make_business(tmp_path, [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}])
    policy = RetryPolicy(base_s=0.01, cap_s=0.02, max_attempts=3)
    async with running_worker(db, {"test-co": business}, policy=policy):
        store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Call me")
        await eventually(lambda: [r["status"] for r in _rows(store)] == ["failed"])
    [row] = _rows(store)
    assert row["attempts"] == 3
    assert row["last_error"] == "RuntimeError: receiver library broke"
    assert main(["deliveries", "list", "--failed", "--db", str(db)]) == 0
    store.close()


async def test_an_email_that_cannot_be_built_fails_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unbuildable(*args: object) -> NoReturn:
        raise ValueError("Header values may not contain linefeed or carriage return")

    monkeypatch.setattr(email_module, "render_email", unbuildable)
    db = tmp_path / "r.db"
    store = Store(db)
    business = make_business(tmp_path, [_mail_channel(9)])
    async with running_worker(db, {"test-co": business}):
        store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Call me")
        await eventually(lambda: [r["status"] for r in _rows(store)] == ["failed"])
    [row] = _rows(store)
    assert row["attempts"] == 1
    assert row["last_error"].startswith("could not build the email: ValueError: Header values")
    store.close()


async def test_slack_and_teams_show_caller_markup_as_text(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with WebhookReceiver() as slack, WebhookReceiver() as teams:
        business = make_business(tmp_path, [
            {"type": "webhook", "format": "slack", "url": slack.url},
            {"type": "webhook", "format": "teams", "url": teams.url},
        ])  # fmt: skip
        async with running_worker(db, {"test-co": business}):
            store.add_message(None, "test-co", SLACK_TRAPS, "+15552345678", TEAMS_TRAP)
            await eventually(lambda: len(slack.requests) == 1 and len(teams.requests) == 1)
    message = slack.requests[0].json
    escaped = "&lt;!channel&gt; &lt;https://evil.example|Pay now&gt; &amp; co"
    assert message["text"] == f"Message from {escaped} (+15552345678): Message"
    section = message["blocks"][1]["text"]
    assert section["type"] == "mrkdwn" and f"Caller: {escaped}" in section["text"]
    everything_slack_parses = message["text"] + section["text"]
    assert "<!" not in everything_slack_parses and "<http" not in everything_slack_parses
    body = teams.requests[0].json["attachments"][0]["content"]["body"]
    # Adaptive Cards read markdown in a TextBlock, never in a RichTextBlock's TextRun.
    assert {block["type"] for block in body} == {"RichTextBlock"}
    runs = [run for block in body for run in block["inlines"]]
    assert {run["type"] for run in runs} == {"TextRun"}
    assert TEAMS_TRAP in [run["text"] for run in runs]
    store.close()


def test_slack_section_is_cut_between_entities() -> None:
    from receptionist.delivery.formats import _cut

    assert _cut("a" * 2998 + "&amp;", 3000) == "a" * 2998
    assert _cut("a" * 2995 + "&amp;", 3000) == "a" * 2995 + "&amp;"


async def test_deliveries_list_and_show_escape_the_receivers_error_and_filter_by_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    hostile = "\x1b[2J\x1b[31mPWNED\rfake row\x07"
    async with WebhookReceiver(statuses=[404], body=hostile) as hook:
        business = make_business(tmp_path, [{"type": "webhook", "url": hook.url}])
        async with running_worker(db, {"test-co": business}):
            store.add_message(None, "test-co", "Jane Doe", "+15552345678", "Call me")
            await eventually(lambda: [r["status"] for r in _rows(store)] == ["failed"])
    for command in (["list"], ["show", "1"]):
        assert main(["deliveries", *command, "--db", str(db)]) == 0
        out = capsys.readouterr().out
        assert "PWNED" in out
        assert "\x1b" not in out and "\r" not in out and "\x07" not in out
        assert "\\x1b[2J" in out
    assert main(["deliveries", "list", "--since", "today", "--db", str(db), "--json"]) == 0
    assert [d["id"] for d in json.loads(capsys.readouterr().out)] == [1]
    assert main(["deliveries", "list", "--until", "2000-01-01", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    store.close()
