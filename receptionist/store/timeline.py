"""A call as a conversation: transcript turns in spoken order, tool calls placed by time.

Shared by `receptionist calls show` and the web call page, so both tell it alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from receptionist.store.records import CallRecord, ToolCallRecord, Turn


@dataclass(frozen=True)
class Entry:
    at_ms: float  # from the answer (the start of the call for rows from before answered_at)
    turn: Turn | None = None
    tool: ToolCallRecord | None = None


def timeline(call: CallRecord) -> list[Entry]:
    # Turn times count from the answer; tool calls carry wall-clock times, placed by
    # their distance from the same moment. Rows logged before answered_at was kept
    # fall back to the call's start (which shows them late by the ring time).
    origin = call.answered_at or call.started_at
    entries = [Entry(float(turn.start_ms), turn=turn) for turn in call.turns]
    for tool in call.tool_calls:
        at = (tool.created_at - origin).total_seconds() * 1000
        entries.append(Entry(at, tool=tool))
    # A turn and a tool call at the same moment: the words first.
    return sorted(entries, key=lambda e: (e.at_ms, e.tool is not None))


def clock(ms: float) -> str:
    seconds = max(0, int(ms // 1000))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def duration(call: CallRecord) -> str:
    if call.ended_at is None:
        return "ongoing"
    seconds = int((call.ended_at - call.started_at).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _arguments(tool: ToolCallRecord) -> dict[str, object]:
    try:
        arguments = json.loads(tool.arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return arguments if isinstance(arguments, dict) else {}


# Results that mean the tool did its job; anything else (an "error: ..." the model was
# told to retry, a refusal) is shown as not done.
_DONE = {
    "take_message": "Saved message",
    "transfer_call": "Transferring",
    "leave_voicemail": "Sending the caller",
    "book_appointment": "Booked",
    "lookup_faq": "Closest FAQ entry",
}


def tool_done(tool: ToolCallRecord) -> bool:
    prefix = _DONE.get(tool.name)
    if prefix is not None:
        return tool.result.startswith(prefix)
    return not tool.result.startswith("error:")


# What a tool's row says before it returns, or when the call ended first (call_tools.py).
_UNFINISHED = {"(running)": "in progress", "(cut off": "cut off: the call ended first"}


def tool_label(tool: ToolCallRecord) -> str:
    """What a tool call did, for a person: 'Transfer to Billing', 'Message saved'."""
    for prefix, state in _UNFINISHED.items():
        if tool.result.startswith(prefix):
            return f"{tool.name.replace('_', ' ').capitalize()} ({state})"
    arguments = _arguments(tool)
    done = tool_done(tool)
    if tool.name == "transfer_call":
        where = arguments.get("department", "a department")
        return f"Transfer to {where}" if done else f"Transfer to {where} not made"
    if tool.name == "take_message":
        return "Message saved" if done else "Message not saved"
    if tool.name == "leave_voicemail":
        return "Sent to voicemail" if done else "Voicemail not reached"
    if tool.name == "book_appointment":
        return "Appointment booked" if done else "Appointment not booked"
    if tool.name == "lookup_faq":
        return "FAQ answer found" if done else "No FAQ answer"
    label = tool.name.replace("_", " ").capitalize()
    return label if done else f"{label} failed"


_DETAIL_FIELDS = {
    "take_message": ("caller_name", "callback_number"),
    "book_appointment": ("caller_name", "start"),
    "lookup_faq": ("question",),
    "check_availability": ("date",),
    "get_business_hours": ("department",),
}


def tool_summary(tool: ToolCallRecord) -> str:
    """The staff-facing line for a tool call: its label and what it was about.

    Never the tool's result: that text is written for the model ("Tell the caller...").
    Values come from the arguments the model sent (caller-derived), capped.
    """
    arguments = _arguments(tool)
    values = [str(arguments.get(name, "")).strip() for name in _DETAIL_FIELDS.get(tool.name, ())]
    detail = ", ".join(v[:120] for v in values if v)
    return f"{tool_label(tool)}: {detail}" if detail else tool_label(tool)
