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
    return name, number or call.get("caller_number")


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
    """A Slack incoming-webhook message: `text` is what notifications and old clients show."""
    heading = subject(payload)
    details = "\n".join(text_lines(payload))
    return {
        "text": heading,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(details)[:3000]}},
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A Microsoft Teams (Workflows) incoming-webhook message carrying an Adaptive Card."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": subject(payload), "weight": "Bolder", "wrap": True}
    ]
    body += [{"type": "TextBlock", "text": line, "wrap": True}
             for line in text_lines(payload) if line]  # fmt: skip
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}
