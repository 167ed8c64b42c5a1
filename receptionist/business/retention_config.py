"""A business's `retention:` section: how many days each kind of call data is kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Retention(BaseModel):
    """Days to keep each kind; `retention sweep` (and serve, daily) deletes what is older."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recordings: int | None = Field(None, ge=1, le=3650)  # None: recording.retention_days
    transcripts: int = Field(365, ge=1, le=3650)  # both sides of the conversation, tool calls
    messages: int = Field(365, ge=1, le=3650)
    # False: only messages marked handled are deleted; an open one is never lost.
    unhandled_messages: bool = False
    calls: int = Field(730, ge=1, le=3650)  # the call row and everything still left of the call
    delivery: int = Field(90, ge=1, le=3650)  # delivery attempts of messages and bookings
