"""What our dialplan (dialplan/receptionist.conf) is called, in one place, and the one way
a caller is handed to its fallback.

The contexts a caller leaves Stasis into, the prefix of the channel ids the call flow
gives its own legs (how a restarted process tells them from callers), and the variable
the fallback reads its reason from.
"""

from __future__ import annotations

import logging

from receptionist.ari import AriClient, AriError
from receptionist.core.logs import log
from receptionist.core.outcomes import FallbackReason

logger = logging.getLogger(__name__)

FALLBACK_CONTEXT = "receptionist-fallback"  # a prompt, the operator, then voicemail
TRANSFER_CONTEXT = "receptionist-transfer"  # rings the department the YAML names
VOICEMAIL_CONTEXT = "receptionist-voicemail"  # a department's mailbox
RECORD_CONTEXT = "receptionist-record"  # starts MixMonitor, then back into Stasis
MEDIA_PREFIX = "rx-media-"  # the AudioSocket legs (and warm-transfer staff legs) we create
FALLBACK_REASON_VARIABLE = "RECEPTIONIST_FALLBACK_REASON"


async def hand_to_fallback(ari: AriClient, channel_id: str, reason: FallbackReason) -> bool:
    """Send a caller in Stasis to [receptionist-fallback], which Asterisk plays by itself;
    False (logged) if the channel is gone or has left Stasis: nobody is waiting on it."""
    try:
        await ari.set_variable(channel_id, FALLBACK_REASON_VARIABLE, reason)
        await ari.continue_in_dialplan(channel_id, FALLBACK_CONTEXT, "s")
    except AriError as exc:
        log(logger, logging.WARNING, "fallback not possible", channel=channel_id, error=str(exc))
        return False
    return True
