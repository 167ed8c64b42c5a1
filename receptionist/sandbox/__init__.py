"""The local Asterisk sandbox used by the tests and by `make serve`."""

from receptionist.sandbox.chroot import SandboxError, ensure_chroot
from receptionist.sandbox.launcher import Sandbox, chroot_command
from receptionist.sandbox.state import SandboxInfo, status, stop

__all__ = [
    "Sandbox",
    "SandboxError",
    "SandboxInfo",
    "chroot_command",
    "ensure_chroot",
    "status",
    "stop",
]
