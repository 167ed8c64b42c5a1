"""The keypad menu in a business YAML: what each key does, acted on without the model.

    keypad:
      "1": {transfer: Front Desk}
      "9": {voicemail: Billing}     # the department needs a `mailbox`
      "0": {operator: true}         # the dialplan fallback (operator, then voicemail)

Without a `keypad`, 0 reaches the operator (as it always has).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from receptionist.business.names import department_key


class Named(Protocol):
    """What the keypad reads of a department (models.Department; not imported, since the
    models import this module)."""

    @property
    def name(self) -> str: ...

    @property
    def mailbox(self) -> str | None: ...


D = TypeVar("D", bound=Named)

KEYS = frozenset("0123456789*#")


class KeyAction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    transfer: str | None = None  # a department name
    voicemail: str | None = None  # a department whose mailbox takes a message
    operator: bool = False

    @model_validator(mode="after")
    def _one_action(self) -> KeyAction:
        chosen = [self.transfer is not None, self.voicemail is not None, self.operator]
        if sum(chosen) != 1:
            raise ValueError("a key does exactly one of: transfer, voicemail, operator: true")
        return self


DEFAULT_KEYPAD: Mapping[str, KeyAction] = {"0": KeyAction(operator=True)}


def check_keypad(keypad: Mapping[str, KeyAction], departments: Sequence[Named]) -> None:
    """Keys are single DTMF keys; named departments exist (and have a mailbox for
    voicemail). Raises ValueError saying which key is wrong."""
    by_name = {department_key(d.name): d for d in departments}
    for key, action in keypad.items():
        if key not in KEYS:
            raise ValueError(f"keypad key {key!r} is not one of 0-9, * or #")
        name = action.transfer or action.voicemail
        if name is None:
            continue
        department = by_name.get(department_key(name))
        if department is None:
            known = ", ".join(d.name for d in departments) or "none"
            raise ValueError(f"keypad {key}: no department {name!r} (departments: {known})")
        if action.voicemail is not None and department.mailbox is None:
            raise ValueError(f"keypad {key}: {department.name} has no mailbox for voicemail")


def keypad_department(name: str, departments: Sequence[D]) -> D:
    """The department a checked keypad entry names."""
    return next(d for d in departments if department_key(d.name) == department_key(name))


def describe_keypad(keypad: Mapping[str, KeyAction]) -> str:
    """The keypad for the model's instructions: it may tell callers, never acts on keys."""
    if not keypad:
        return ""
    lines = ["# Keypad (the phone system acts on keys by itself; you never see them)"]
    for key, action in sorted(keypad.items()):
        if action.operator:
            lines.append(f"- {key}: an operator")
        elif action.transfer is not None:
            lines.append(f"- {key}: {action.transfer}")
        else:
            lines.append(f"- {key}: {action.voicemail} voicemail")
    lines.append("Mention these only if the caller asks for a menu or for a person.")
    return "\n".join(lines)
