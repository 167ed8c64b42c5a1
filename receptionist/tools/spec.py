"""What every tool module shares: the @tool marker, the outcome types, the error, text caps.

Kept apart from tools.py so tools grouped by domain (booking_tools.py) can use them
without importing the CallTools class that mixes them in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from receptionist.core.logs import log
from receptionist.core.outcomes import Outcome
from receptionist.turns.events import HangupRequest, TransferRequest

__all__ = ["HangupRequest", "ToolError", "ToolOutcome", "TransferRequest", "cap", "tool"]

logger = logging.getLogger("receptionist.tools.call_tools")

# Caps on caller-derived free text: a transcript glitch or a rambling caller
# must not put unbounded text into the store, the webhook or the email.
NAME_MAX = 100
NUMBER_MAX = 40
QUESTION_MAX = 300
REASON_MAX = 300


@dataclass(frozen=True)
class ToolOutcome:
    output: str  # what the model reads: short and speakable
    action: TransferRequest | HangupRequest | None = None
    ok: bool = True
    outcome: Outcome | None = None  # for the call to record (the call writes every outcome)
    # Called once: True when the output reached the model of a live call (the caller is
    # told), False when it could not (the call ended first). A booking stands only if told.
    settle: Callable[[bool], None] | None = None


class ToolError(Exception):
    """A failure to report to the model; str(error) tells it what happened and what to do."""


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def tool(func: F) -> F:
    """Mark a CallTools method as a tool the model may call."""
    func._is_tool = True  # type: ignore[attr-defined]
    return func


def cap(text: str, limit: int, field: str, tool_name: str) -> str:
    """`text` stripped and cut to `limit` characters (logged when cut)."""
    text = text.strip()
    if len(text) > limit:
        log(logger, logging.WARNING, "tool argument capped", tool=tool_name, field=field,
            length=len(text), limit=limit)  # fmt: skip
        text = text[:limit].rstrip() + "…"
    return text
