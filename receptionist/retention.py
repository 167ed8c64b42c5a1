"""Recording retention: delete recording files older than their business allows.

Each business sets `recording.retention_days`; a recording whose business is no
longer configured gets the default. The database row stays (marked purged), so
the call log still says a recording existed and when it went.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from receptionist.business import Business, Recording
from receptionist.logs import log
from receptionist.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    path: str
    business: str
    age_days: float


def purge_recordings(
    store: Store, businesses: Mapping[str, Business], now: datetime, *, dry_run: bool = False
) -> list[Purged]:
    """Delete expired recording files (unless `dry_run`); returns what was (or would be)."""
    default_days = Recording().retention_days
    purged: list[Purged] = []
    for recording_id, path, slug, created_at in store.recordings_to_keep_or_purge():
        business = businesses.get(slug)
        days = business.recording.retention_days if business else default_days
        age = now - created_at
        if age <= timedelta(days=days):
            continue
        purged.append(Purged(path, slug, round(age.total_seconds() / 86400, 1)))
        if not dry_run:
            Path(path).unlink(missing_ok=True)  # already gone is what we want
            store.mark_purged(recording_id)
            log(logger, logging.INFO, "recording purged", path=path, business=slug,
                retention_days=days)  # fmt: skip
    return purged
