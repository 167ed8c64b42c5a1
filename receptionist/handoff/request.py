"""What a tool or a key asks the call to do with the caller: hand it to a department."""

from __future__ import annotations

from dataclasses import dataclass

from receptionist.business.models import Department


@dataclass(frozen=True)
class TransferRequest:
    department: Department
    voicemail: bool = False  # to the department's mailbox instead of its phone
    summary: str = ""  # for a warm transfer: the one sentence staff hear first
