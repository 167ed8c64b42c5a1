"""Sending the caller out of Stasis to people: a department's phone or its mailbox.

[receptionist-transfer] plays the transfer prompt, then rings the department with
ringback or the business's hold music (Dial's `r` / `m`), so the caller never sits in
silence; [receptionist-voicemail] runs VoiceMail() for the department's mailbox. Only
values from the business YAML reach them (never digits from the conversation).
"""

from __future__ import annotations

from receptionist.ari import AriClient
from receptionist.business import Business, Department
from receptionist.call.dialplan import TRANSFER_CONTEXT, VOICEMAIL_CONTEXT
from receptionist.turns.events import TransferRequest


def transfer_variables(business: Business, department: Department) -> dict[str, str]:
    """Channel variables [receptionist-transfer] reads."""
    variables = {
        "RECEPTIONIST_TRANSFER_TARGET": department.dial_string,
        # Inherited (__) so a caller who comes back still knows where it went.
        "__RECEPTIONIST_TRANSFER_DEPARTMENT": department.name,
    }
    if business.routing.hold_music:
        variables["RECEPTIONIST_HOLD_MUSIC"] = business.routing.hold_music
    return variables


def voicemail_variables(department: Department) -> dict[str, str]:
    """Channel variables [receptionist-voicemail] reads."""
    if department.mailbox is None:
        raise ValueError(f"{department.name} has no mailbox")
    return {
        "RECEPTIONIST_MAILBOX": department.mailbox,
        "__RECEPTIONIST_TRANSFER_DEPARTMENT": department.name,
    }


async def blind_transfer(
    ari: AriClient, channel_id: str, business: Business, request: TransferRequest
) -> None:
    """Set the variables, then `continue` into the transfer (or voicemail) context.
    Raises AriError when Asterisk refuses (the caller is then still in Stasis)."""
    if request.voicemail:
        context, variables = VOICEMAIL_CONTEXT, voicemail_variables(request.department)
    else:
        context, variables = TRANSFER_CONTEXT, transfer_variables(business, request.department)
    for name, value in variables.items():
        await ari.set_variable(channel_id, name, value)
    await ari.continue_in_dialplan(channel_id, context, "s")
