"""A business's callbacks: staff call a caller back from their own desk phone, and the
call leaves through this business's outbound dialplan context."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# A dialplan context name: it ends up in a Local/ dial string, so no '@', ',', '/' or '$'.
CONTEXT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class Callbacks(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    # The context that dials outside numbers (e.g. FreePBX's from-internal, or your
    # own); the number dialled is always the one stored with the message or call.
    context: str = Field(pattern=CONTEXT_PATTERN)
    mark_handled: bool = True  # a message is marked handled once its callback is answered
    ring_seconds: int = Field(30, ge=5, le=120)  # for the desk phone, then the caller
    per_hour: int = Field(20, ge=1, le=500)  # callbacks one staff member may start
