"""The words a call's row and metrics use for how a call went, in one place.

`Outcome`s are stored on the call row (a set per call); `EndReason` says why the
conversation stopped (logs and the ended-calls metric); `FallbackReason` says why a caller
was handed to the dialplan fallback (stored as an outcome beside `fallback`, and set in the
channel's RECEPTIONIST_FALLBACK_REASON). The store takes nothing else (`check_outcome`).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    COMPLETED = "completed"
    TRANSFERRED = "transferred"
    TRANSFER_FAILED = "transfer_failed"
    VOICEMAIL = "voicemail"  # sent to a department's mailbox
    FALLBACK = "fallback"
    CALLER_HANGUP = "caller_hangup"
    CALLER_SILENT = "caller_silent"
    MAX_DURATION = "max_duration"
    MESSAGE_TAKEN = "message_taken"
    APPOINTMENT_BOOKED = "appointment_booked"
    RECORDING_FAILED = "recording_failed"
    SERVICE_RESTART = "service_restart"  # an earlier process of the service had the call
    END_NOT_LOGGED = "end_not_logged"  # its end could not be written (e.g. a full disk)
    ENDED = "ended"  # none of the above happened (e.g. the service stopped mid-call)
    # What became of a caller after leaving Stasis (handoff/follow.py), <kind>_<result>:
    TRANSFER_ANSWERED = "transfer_answered"
    TRANSFER_MISSED = "transfer_missed"
    TRANSFER_DECLINED = "transfer_declined"
    OPERATOR_ANSWERED = "operator_answered"
    OPERATOR_MISSED = "operator_missed"
    VOICEMAIL_LEFT = "voicemail_left"
    VOICEMAIL_NOT_LEFT = "voicemail_not_left"
    # A callback staff placed from the web page (call/callback.py):
    CALLBACK_ANSWERED = "callback_answered"
    CALLBACK_ENDED = "callback_ended"
    CALLBACK_NO_ANSWER = "callback_no_answer"  # the desk phone picked up, the caller did not
    CALLBACK_DESK_MISSED = "callback_desk_missed"  # nobody picked up the desk phone
    CALLBACK_FAILED = "callback_failed"


# Outcomes that say how a call ended: a row with none of them gets `ended` at teardown.
FINAL_OUTCOMES = frozenset(
    {Outcome.COMPLETED, Outcome.TRANSFERRED, Outcome.VOICEMAIL, Outcome.FALLBACK,
     Outcome.CALLER_HANGUP}
)  # fmt: skip


class FallbackReason(StrEnum):
    MODEL_NOT_CONFIGURED = "model_not_configured"
    MODEL_UNAVAILABLE = "model_unavailable"  # the handshake failed or took too long
    MODEL_DROPPED = "model_dropped"  # the session closed mid-call
    MODEL_ERROR = "model_error"  # a fatal error event from the model
    NO_MODEL_AUDIO = "no_model_audio"  # a reply's first audio never came, filler included
    TOOL_LIMIT = "tool_limit"  # too many tool calls in one reply or one call
    CALLER_PRESSED_0 = "caller_pressed_0"
    CALLER_KEYPAD = "caller_keypad"  # another key the keypad map gives to the operator
    ARI_ERROR = "ari_error"
    MEDIA_FAILED = "media_failed"
    STORE_ERROR = "store_error"
    TRANSFER_ERROR = "transfer_error"
    INTERNAL_ERROR = "internal_error"
    SHUTTING_DOWN = "shutting_down"
    SERVICE_RESTART = "service_restart"  # found in Stasis by a restarted process (reclaim.py)
    UNKNOWN_BUSINESS = "unknown_business"


class EndReason(StrEnum):
    HANGUP = "hangup"  # we hung up after the goodbye
    CALLER_LEFT = "caller_left"
    MEDIA_LEG_GONE = "media_leg_gone"
    TRANSFERRED = "transferred"
    ENDED = "ended"  # stopped without a more precise reason (e.g. cancelled)


class UnknownOutcome(ValueError):
    """A label that is neither an `Outcome` nor a `FallbackReason`."""


KNOWN_OUTCOMES = frozenset(Outcome) | frozenset(FallbackReason)


def check_outcome(label: str) -> str:
    """`label` if a call row may carry it; UnknownOutcome otherwise (a typo in a writer)."""
    if label not in KNOWN_OUTCOMES:
        raise UnknownOutcome(f"unknown call outcome {label[:60]!r}: not an Outcome or reason")
    return str(label)
