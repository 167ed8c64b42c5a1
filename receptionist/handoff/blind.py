"""A blind transfer: the caller leaves Stasis into [receptionist-transfer].

That context plays the transfer prompt, then rings the department with ringback or the
business's hold music (Dial's `r` / `m`), so the caller never sits in silence. Only
values from the business YAML reach it (never digits from the conversation).
"""

from __future__ import annotations

from receptionist.ari import AriClient
from receptionist.business import Business, Department

TRANSFER_CONTEXT = "receptionist-transfer"


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


async def blind_transfer(
    ari: AriClient, channel_id: str, business: Business, department: Department
) -> None:
    """Set the transfer variables, then `continue` into the transfer context.
    Raises AriError when Asterisk refuses (the caller is then still in Stasis)."""
    for name, value in transfer_variables(business, department).items():
        await ari.set_variable(channel_id, name, value)
    await ari.continue_in_dialplan(channel_id, TRANSFER_CONTEXT, "s")
