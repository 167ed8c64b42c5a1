"""Passwords still at the shipped placeholder: warned about by `serve` and `config check`.

The configs in asterisk/ ship `CHANGE-ME-AT-INSTALL` as every password, so a copy
that was never edited is easy to find: in the receptionist's own ARI password, and
in ari.conf / pjsip.conf under the Asterisk config directory when it is readable.
"""

from __future__ import annotations

from receptionist.settings import Settings

PLACEHOLDER = "CHANGE-ME-AT-INSTALL"
ASTERISK_FILES = ("ari.conf", "pjsip.conf")


def placeholder_warnings(settings: Settings) -> list[str]:
    """One line per password left at the placeholder (nothing when none is)."""
    found: list[str] = []
    password = settings.ari_password
    if password is not None and password.get_secret_value() == PLACEHOLDER:
        found.append(f"ari_password is still {PLACEHOLDER}: set a long random password")
    for name in ASTERISK_FILES:
        path = settings.asterisk_config_dir / name
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:  # not installed here, or not ours to read: nothing to say
            continue
        for number, line in enumerate(lines, 1):
            if PLACEHOLDER in line.split(";", 1)[0]:
                found.append(f"{path}:{number}: password is still {PLACEHOLDER}")
    return found
