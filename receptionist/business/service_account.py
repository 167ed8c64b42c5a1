"""Is a business's calendar key file usable? Checked by `config check`, before any call."""

from __future__ import annotations

from pathlib import Path

from google.oauth2 import service_account

from receptionist.business.models import Business


def key_file_problem(business: Business) -> str | None:
    """Why the business's service-account key file cannot be used; None if it can."""
    if business.calendar is None:
        return None
    path = Path(business.calendar.credentials_file)
    if not path.is_file():
        return f"no such file: {path}"
    try:
        service_account.Credentials.from_service_account_file(str(path))
    except (OSError, ValueError, KeyError) as error:
        # The error type only: a parse error's text could quote the private key.
        return f"not a usable service-account key file ({type(error).__name__}): {path}"
    return None
