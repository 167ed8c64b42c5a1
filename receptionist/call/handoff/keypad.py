"""The business's keypad map as turn commands: pressed keys never go through the model."""

from __future__ import annotations

from receptionist.business import Business
from receptionist.business.keypad import keypad_department
from receptionist.core.outcomes import FallbackReason
from receptionist.turns.events import Fallback, Keypad, Transfer, TransferRequest


def keypad_commands(business: Business) -> Keypad:
    """Key -> what the call does when the caller presses it (checked when the YAML loaded)."""
    departments = business.routing.departments
    commands: dict[str, Transfer | Fallback] = {}
    for key, action in business.keypad.items():
        if action.operator:
            reason = FallbackReason.CALLER_PRESSED_0 if key == "0" else FallbackReason.CALLER_KEYPAD
            commands[key] = Fallback(reason)
        elif action.transfer is not None:
            department = keypad_department(action.transfer, departments)
            commands[key] = Transfer(TransferRequest(department))
        elif action.voicemail is not None:
            department = keypad_department(action.voicemail, departments)
            commands[key] = Transfer(TransferRequest(department, voicemail=True))
    return commands
