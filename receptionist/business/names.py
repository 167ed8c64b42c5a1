"""Comparable forms of department names, shared by the models (duplicate checks) and routing."""

from __future__ import annotations

import re

# Words people (and models) wrap around a department name: "the billing department".
_FILLER = frozenset({"the", "a", "an", "department", "dept", "team", "please", "to", "our", "your"})


def department_key(name: str) -> str:
    """A comparable form of a department name: lower case, no punctuation or filler words."""
    words = re.findall(r"[a-z0-9]+", name.casefold())
    kept = [w for w in words if w not in _FILLER]
    return " ".join(kept or words)
