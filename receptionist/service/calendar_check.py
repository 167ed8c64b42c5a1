"""`config check --online`: the offline checks, then each booking calendar is reached once
with its own credentials (a token, then a free/busy query), so a wrong key, an unshared
calendar or a blocked network shows up before a caller tries to book."""

from __future__ import annotations

import asyncio
from pathlib import Path

from receptionist.business.loader import ConfigIssue
from receptionist.service.config_check import ConfigReport, business_file, check_config
from receptionist.service.model_check import reach_models
from receptionist.tools.calendar import CalendarClient, CalendarError


def check_config_online(
    path: Path | str | None = None, settings_file: Path | str | None = None
) -> ConfigReport:
    report = check_config(path, settings_file)
    asyncio.run(_reach_calendars(report))
    if report.settings is not None:
        for line in asyncio.run(reach_models(report.settings, report.businesses)):
            if ": unreachable: " in line:
                slug, _, reason = line.partition(": ")
                where = str(business_file(report, slug))
                report.errors.append(ConfigIssue(where, "model", reason))
            else:
                report.models.append(line)
    return report


async def _reach_calendars(report: ConfigReport) -> None:
    broken = {issue.file for issue in report.errors}
    for slug, business in sorted(report.businesses.items()):
        where = str(business_file(report, slug))
        if business.calendar is None or where in broken:
            continue
        try:
            await CalendarClient(business).reach()
        except CalendarError as error:
            report.errors.append(ConfigIssue(where, "calendar", error.detail))
        else:
            report.reached.append(f"{slug}: calendar {business.calendar.calendar_id}")
