"""What a softphone is configured with, kept across `sandbox up` runs.

The SIP port, ARI port, AudioSocket port and both passwords are chosen once per
sandbox name and saved next to its state (mode 0600), so a softphone set up
yesterday still registers today. `sandbox up --fresh` forgets them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from receptionist.sandbox.chroot import cache_dir


@dataclass(frozen=True)
class Profile:
    http_port: int
    sip_port: int
    audiosocket_port: int
    ari_password: str
    sip_password: str


def profile_file(name: str) -> Path:
    return cache_dir() / "sandboxes" / f"{name}.profile.json"


def load_profile(name: str) -> Profile | None:
    path = profile_file(name)
    if not path.is_file():
        return None
    try:
        return Profile(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None  # unreadable or from an older layout: choose afresh


def save_profile(name: str, profile: Profile) -> None:
    path = profile_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # holds passwords
    path.write_text(json.dumps(asdict(profile), indent=2))


def forget_profile(name: str) -> bool:
    path = profile_file(name)
    existed = path.is_file()
    path.unlink(missing_ok=True)
    return existed


def new_passwords() -> tuple[str, str]:
    """(ARI password, SIP password): hex, so never a '+' (which breaks ARI auth)."""
    return secrets.token_hex(12), secrets.token_hex(8)
