"""The outcomes a call row may carry, kept as an enum in the database too: PostgreSQL's
`call_outcome` type, and on SQLite a table of names a trigger checks each insert against.
Both are brought up to the code's list each time the call log is opened, so a newer
version's outcomes are there before it writes one; labels already stored stay valid."""

from __future__ import annotations

from receptionist.core.outcomes import FallbackReason, Outcome

# What the handoff follower records, <kind>_<result>.
_HANDOFFS = {
    f"{kind}_{result}"
    for kind in ("transfer", "operator", "voicemail")
    for result in ("answered", "missed", "declined", "left", "not_left")
}


# Written by the reclaim sweep for a row whose end could not be written.
_RECLAIM = {"service_restart", "end_not_logged"}


def known_outcomes() -> list[str]:
    """Every label the service writes, sorted ("unknown": a label the store normalised
    to nothing)."""
    labels = {*map(str, Outcome), *map(str, FallbackReason), *_HANDOFFS, *_RECLAIM}
    return sorted(labels | {"unknown"})
