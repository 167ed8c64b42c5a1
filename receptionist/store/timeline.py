"""A call as a conversation: transcript turns in spoken order, tool calls placed by time.

Shared by `receptionist calls show` and the web call page, so both tell it alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from receptionist.store.records import CallRecord, ToolCallRecord, Turn


@dataclass(frozen=True)
class Entry:
    at_ms: float  # from the start of the call
    turn: Turn | None = None
    tool: ToolCallRecord | None = None


def timeline(call: CallRecord) -> list[Entry]:
    # Turn times are offsets from the call's start; tool calls carry wall-clock
    # times, so they are placed by their offset from started_at.
    entries = [Entry(float(turn.start_ms), turn=turn) for turn in call.turns]
    for tool in call.tool_calls:
        at = (tool.created_at - call.started_at).total_seconds() * 1000
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


def tool_label(tool: ToolCallRecord) -> str:
    """What a tool call did, for a person: 'Transfer to Billing', 'Message saved'."""
    try:
        arguments = json.loads(tool.arguments or "{}")
    except json.JSONDecodeError:
        arguments = {}
    if not isinstance(arguments, dict):
        arguments = {}
    if tool.name == "transfer_call":
        return f"Transfer to {arguments.get('department', 'a department')}"
    if tool.name == "take_message":
        return "Message saved" if tool.result.startswith("Saved message") else "Message not saved"
    return tool.name.replace("_", " ").capitalize()
