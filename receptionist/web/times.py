"""Times on the web page: in the business's own timezone (its YAML's business.timezone),
always with the zone named, whatever the server's clock is set to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from receptionist.business import Business

DEFAULT_FORMAT = "%Y-%m-%d %H:%M"


class Zones:
    """Each business's timezone; UTC for a business no longer configured."""

    def __init__(self, businesses: Mapping[str, Business]) -> None:
        self._zones: dict[str, ZoneInfo] = {slug: b.business.tz for slug, b in businesses.items()}

    def of(self, business: str | None) -> tzinfo:
        return self._zones.get(business or "", UTC)

    def common(self, businesses: Iterable[str]) -> tzinfo:
        """The one zone these businesses share, else UTC (a page over several zones)."""
        zones = {str(self.of(slug)) for slug in businesses}
        if len(zones) == 1:
            return self.of(next(iter(businesses)))
        return UTC

    def show(self, moment: datetime | None, business: str | None, fmt: str = DEFAULT_FORMAT) -> str:
        """`moment` as the office reads it, zone named: '2026-12-06 21:28 PST'."""
        if moment is None:
            return "-"
        zone = self.of(business)
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored times are UTC
        local = aware.astimezone(zone)
        return f"{local.strftime(fmt)} {local.tzname() or zone}"

    def name(self, business: str | None) -> str:
        """The IANA name ('America/Los_Angeles') for a tooltip or a heading."""
        return str(self.of(business))


def day_start(day: date, zone: tzinfo, *, end: bool = False) -> datetime:
    """Midnight starting `day` (or, with `end`, the next day) in `zone`, as UTC."""
    start = datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=zone)
    return start.astimezone(UTC)
