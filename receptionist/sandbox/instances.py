"""Tell a running sandbox's dialplan which receptionist instances to try.

`serve --sandbox --workers N` runs the ARI apps `<app>-1 .. <app>-N`; the shipped
dialplan tries them when the global RECEPTIONIST_INSTANCES is N (dialplan/receptionist.conf),
as an admin sets it in `[globals]`. The sandbox may already be running (started earlier
by `sandbox up` or another serve), so the global is set at run time through ARI.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request

from receptionist.sandbox.chroot import SandboxError
from receptionist.sandbox.state import SandboxInfo

VARIABLE = "RECEPTIONIST_INSTANCES"


def instances_to_try(first: int | None, workers: int) -> int | None:
    """The RECEPTIONIST_INSTANCES that reaches instances first .. first+workers-1, or None
    for one plain app (no instance). The dialplan tries `<app>-1 .. <app>-N`: an app with
    nobody connected fails at once, so lower numbers nobody runs cost nothing; N is at
    least 2 because N = 1 means the plain app."""
    if first is None and workers == 1:
        return None
    return max((first or 1) + workers - 1, 2)


def set_instances(info: SandboxInfo, count: int | None) -> None:
    """Set the sandbox's RECEPTIONIST_INSTANCES (empty for None); SandboxError if ARI refuses."""
    query = urllib.parse.urlencode({"variable": VARIABLE, "value": str(count or "")})
    request = urllib.request.Request(f"{info.ari_url}/ari/asterisk/variable?{query}", b"")
    token = base64.b64encode(f"{info.ari_user}:{info.ari_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5.0):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise SandboxError(f"cannot set {VARIABLE} in sandbox {info.name!r}: {exc}") from exc
