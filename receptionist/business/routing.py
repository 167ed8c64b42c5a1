"""Finding departments by the name the model heard, and businesses by the dialed number."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher

from receptionist.business.models import Business, Department
from receptionist.business.names import department_key
from receptionist.business.phone import did_matches


def find_department(business: Business, name: str) -> Department | None:
    """The department `name` refers to, or None.

    Exact (case-, punctuation- and filler-insensitive) matches on names and
    aliases win; otherwise one clearly best fuzzy match ("billings" -> Billing).
    Never guesses between two similar candidates: a wrong transfer is worse
    than asking again.
    """
    key = department_key(name)
    if not key:
        return None
    departments = business.routing.departments
    for dept in departments:
        if key in {department_key(label) for label in (dept.name, *dept.aliases)}:
            return dept
    scored = sorted(
        ((_similarity(key, dept), dept) for dept in departments),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if not scored or scored[0][0] < 0.8:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < 0.1:
        return None
    return scored[0][1]


def _similarity(key: str, dept: Department) -> float:
    return max(
        SequenceMatcher(None, key, department_key(label)).ratio()
        for label in (dept.name, *dept.aliases)
    )


def business_for_did(
    businesses: Mapping[str, Business] | Iterable[Business], dialed: str
) -> Business | None:
    """The business whose `dids` list contains the dialed number, if any.

    An exact match wins over a last-10-digits match (see did_matches).
    """
    values: list[Business] = list(
        businesses.values() if isinstance(businesses, Mapping) else businesses
    )
    exact = re.sub(r"[^0-9+]", "", dialed)
    for business in values:
        if exact in business.dids:
            return business
    for business in values:
        if any(did_matches(did, dialed) for did in business.dids):
            return business
    return None
