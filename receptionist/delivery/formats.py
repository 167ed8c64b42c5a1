"""What an event says to a person: subject, plain lines, Slack and Teams bodies.

Pure functions of the event document, shared by the email and the chat formats.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# Shown in this order; anything else follows, spelled out.
OUTCOME_LABELS = {
    "transfer_failed": "Transfer missed",
    "transferred": "Transferred",
    "message_taken": "Message",
    "appointment_booked": "Appointment booked",
    "fallback": "Sent to fallback",
    "model_failed": "Model failed",
    "caller_hangup": "Caller hung up",
    "completed": "Completed",
}


# How a call ended, not what the office needs to act on: left out of a subject
# that has something else to say.
_ENDINGS = frozenset({"caller_hangup", "completed"})


def outcome_labels(outcomes: list[str], *, brief: bool = False) -> list[str]:
    found = set(outcomes)
    if found & {"transfer_failed", "transfer_missed"}:
        # Tried and missed (the call log's follower says transfer_missed too): say it once.
        found -= {"transferred", "transfer_missed"}
        found.add("transfer_failed")
    if brief and found - _ENDINGS:
        found -= _ENDINGS
    known = [label for key, label in OUTCOME_LABELS.items() if key in found]
    other = sorted(found - OUTCOME_LABELS.keys())
    return known + [word.replace("_", " ").capitalize() for word in other]


def one_line(text: str) -> str:
    """Caller text for a single line (a mail header, a "Caller:" line, a chat heading):
    line breaks and other control characters become spaces, so a name cannot end the
    header it is in or forge the next line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def tel_link(number: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", number)


def when(value: str | None, payload: dict[str, Any]) -> str:
    """A stored UTC time in the business's timezone, e.g. 'Tue 1 Dec 2026, 14:05 EST'."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    zone = payload["business"].get("timezone")
    if zone:
        moment = moment.astimezone(ZoneInfo(zone))
    return moment.strftime("%a %-d %b %Y, %H:%M %Z").strip()


def caller(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(name, number) of the caller, from the message when there is one."""
    messages = payload.get("messages") or []
    appointment = payload.get("appointment") or {}
    call = payload.get("call") or {}
    name = messages[0]["caller_name"] if messages else appointment.get("caller_name")
    number = messages[0]["callback_number"] if messages else appointment.get("callback_number")
    number = number or call.get("caller_number")
    return _one_line_or_none(name), _one_line_or_none(number)


def _one_line_or_none(text: str | None) -> str | None:
    # The caller said (or their phone sent) these: one line each, wherever they are shown.
    return (one_line(text) or None) if text else None


def subject(payload: dict[str, Any]) -> str:
    """E.g. 'Message from Jane Doe (+1 555 234 5678): Transfer missed + Message'."""
    name, number = caller(payload)
    call = payload.get("call") or {}
    outcomes = list(call.get("outcomes") or [])
    kind = payload["type"]
    if kind == "message.taken" and "message_taken" not in outcomes:
        outcomes.append("message_taken")
    labels = " + ".join(outcome_labels(outcomes, brief=True)) or "No outcome"
    who = f"{name} ({number})" if name and number else (name or number or "unknown caller")
    if kind == "appointment.booked":
        start = (payload.get("appointment") or {}).get("start")
        return f"Appointment booked: {who}, {when(start, payload)}"
    if kind == "transfer.missed":
        return f"Transfer missed: call from {who}"
    lead = "Message from" if payload.get("messages") else "Call from"
    return f"{lead} {who}: {labels}"


def text_lines(payload: dict[str, Any]) -> list[str]:
    """The event as plain lines: who, number, when, what they want, outcomes, excerpt, link."""
    name, number = caller(payload)
    call = payload.get("call") or {}
    lines = [f"Business: {payload['business']['name']}"]
    if name:
        lines.append(f"Caller: {name}")
    if number:
        lines.append(f"Number: {number}")
    lines.append(f"When: {when(call.get('started_at') or payload['created_at'], payload)}")
    if call.get("duration_seconds") is not None:
        lines.append(f"Duration: {round(call['duration_seconds'])} s")
    if call.get("outcomes"):
        lines.append(f"Outcomes: {', '.join(outcome_labels(call['outcomes']))}")
    summary = payload.get("summary") or {}
    if summary.get("text"):
        lines.append(f"Summary: {summary['text']}")
    appointment = payload.get("appointment")
    if appointment:
        lines.append(f"Appointment: {when(appointment['start'], payload)}")
    for message in payload.get("messages") or []:
        lines += ["", "Message:", message["text"]]
    excerpt = payload.get("transcript_excerpt") or []
    if excerpt:
        lines += ["", "Transcript (last turns):"]
        lines += [f"  {turn['speaker'].capitalize()}: {turn['text']}" for turn in excerpt]
    if call.get("url"):
        lines += ["", f"Call page: {call['url']}"]
    return lines


def slack_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` is what notifications and old clients show.

    Both `text` and the section are mrkdwn, which Slack parses for mentions (<!channel>)
    and links (<url|label>): every character of ours and the caller's is escaped as
    Slack documents (&, <, >), so caller text is only ever shown, never obeyed. The
    header is plain_text, which Slack does not parse."""
    heading = subject(payload)
    details = "\n".join(text_lines(payload))
    return {
        "text": slack_escape(heading),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(slack_escape(details))}},
        ],
    }


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(escaped: str, limit: int = 3000) -> str:
    """At most `limit` characters (Slack's section limit), never half an entity."""
    if len(escaped) <= limit:
        return escaped
    return re.sub(r"&[a-z]{0,3}$", "", escaped[:limit])


def teams_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A Microsoft Teams (Workflows) incoming-webhook message carrying an Adaptive Card.

    Lines are RichTextBlocks of TextRuns, which Adaptive Cards never read as markdown (a
    TextBlock would turn a caller's "[Pay now](https://...)" into a link)."""
    body = [_rich_line(subject(payload), weight="Bolder")]
    body += [_rich_line(line) for line in text_lines(payload) if line]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}


def _rich_line(text: str, *, weight: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": text}
    if weight:
        run["weight"] = weight
    return {"type": "RichTextBlock", "inlines": [run]}
