"""What the turn rules ask the model to say, each written once."""

from __future__ import annotations

CHECK_IN = "The caller has been silent. Briefly ask if they are still there."
MAX_CALL_REACHED = "The call has reached its time limit."
CALLER_SILENT = "The caller stayed silent."


def consent_first(consent: str, then: str) -> str:
    """Instructions that put the recording consent, word for word, before anything else."""
    return f'First say exactly: "{consent}" Then {then[:1].lower()}{then[1:]}'


def goodbye(why: str) -> str:
    # The model should end the call itself; the machine hangs up if it does not.
    return f"{why} Say a short, polite goodbye now, then call end_call."


def messages_refused(most: int) -> str:
    return (
        f"Not saved: this call already left {most} messages, the most one call may leave. "
        "Tell the caller their messages are saved."
    )
