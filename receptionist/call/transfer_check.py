"""Before a transfer: is the department's phone there to take it?"""

from __future__ import annotations

import logging

from receptionist.ari import AriClient
from receptionist.business import Department
from receptionist.core.logs import log

logger = logging.getLogger(__name__)


async def phone_refusal(ari: AriClient, department: Department) -> str:
    """Why a transfer to `department` cannot go ahead now (its phone is offline or busy),
    said for the model to pass on; "" when it can (or the target is not a phone we know)."""
    if not department.device:
        return ""
    tech, _, resource = department.device.partition("/")
    state, busy = await ari.endpoint_state(tech, resource)
    log(logger, logging.INFO, "department phone state", department=department.name,
        device=department.device, state=state, busy=busy)  # fmt: skip
    if state == "online" and not busy:
        return ""
    why = "busy on another call" if busy else "not available (not registered)"
    return (
        f"Transfer not possible: the {department.name} phone is {why} right now. "
        "Tell the caller and offer to take a message."
    )
