"""Secrets inside URLs, hidden before text reaches an error message or a log.

A URL can carry a secret in two places: its userinfo (`wss://user:pass@host`) and
its query string (`?api-key=...`, `?api_key=user:pass`, `?token=...`). Both are
replaced by `***` wherever a URL appears in the text.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://user:password@  -> keep the user, hide the password
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s/]*@", re.IGNORECASE)
# ?name=value or &name=value where the name says it is a secret
_QUERY = re.compile(
    r"(?P<head>[?&;](?:[a-z0-9_-]*(?:key|token|secret|password|passwd|pwd|auth|sig|signature)"
    r"[a-z0-9_-]*)=)[^&#\s'\"]*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every URL password and secret-named query value replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY.sub(lambda m: f"{m['head']}{MASK}", text)
