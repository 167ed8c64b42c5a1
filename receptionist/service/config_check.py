"""`config check`: validate the service settings and every business file in one pass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from receptionist.business.languages import code_of
from receptionist.business.loader import (
    ConfigError,
    ConfigIssue,
    business_files,
    collect_businesses,
    load_business,
)
from receptionist.business.models import Business
from receptionist.business.service_account import key_file_problem
from receptionist.delivery.check import check_channels
from receptionist.service.model_check import model_issues
from receptionist.service.placeholders import placeholder_warnings
from receptionist.settings import Settings, load_settings, settings_path
from receptionist.store.open import postgres_notes


@dataclass
class ConfigReport:
    settings_file: Path | None
    settings: Settings | None = None
    businesses: dict[str, Business] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    errors: list[ConfigIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)  # calendars --online could reach
    models: list[str] = field(default_factory=list)  # models --online reached, and what said
    sends: dict[str, list[str]] = field(default_factory=dict)  # slug -> channels and events

    @property
    def ok(self) -> bool:
        return not self.errors


def check_config(
    path: Path | str | None = None,
    settings_file: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> ConfigReport:
    """Check the settings, then `path` (a business file or directory; default: businesses_dir)."""
    env = os.environ if env is None else env
    report = ConfigReport(settings_path(settings_file, env))
    try:
        report.settings = load_settings(settings_file, env)
    except ConfigError as error:
        report.errors.extend(error.issues)
    settings = report.settings
    if settings is not None:
        if settings.ari_password is None:
            report.warnings.append("ari_password is not set: `serve` needs it")
        report.warnings.extend(placeholder_warnings(settings))
        # Every part runs on PostgreSQL; what an admin should know there is said here.
        report.warnings += [f"PostgreSQL: {note}" for note in postgres_notes(settings.database)]
    target = Path(path) if path is not None else (settings or Settings()).businesses_dir
    if target.is_dir():
        report.files = business_files(target)
        report.businesses, issues = collect_businesses(target, env)
        report.errors.extend(issues)
        if not report.files:
            report.errors.append(ConfigIssue(str(target), "", "no business files (*.yaml)"))
        default = settings.default_business if settings else None
        reported = any(Path(issue.file).stem == default for issue in report.errors)
        if default and default not in report.businesses and not reported:
            where = str(report.settings_file or "settings")
            reason = f"no business file {default}.yaml in {target}"
            report.errors.append(ConfigIssue(where, "default_business", reason))
    elif target.is_file():
        report.files = [target]
        try:
            business = load_business(target, env)
            report.businesses = {business.slug: business}
        except ConfigError as error:
            report.errors.extend(error.issues)
    else:
        report.errors.append(ConfigIssue(str(target), "", "no such file or directory"))
    for slug, business in report.businesses.items():
        unknown = [name for name in business.languages if code_of(name) is None]
        if unknown:
            report.warnings.append(
                f"{slug}: no language code known for {', '.join(unknown)}: transcription "
                "auto-detects, and dates and FAQ words fall back to English"
            )
        problem = key_file_problem(business)
        if problem:
            where = str(business_file(report, slug))
            report.errors.append(ConfigIssue(where, "calendar.credentials_file", problem))
        channels = check_channels(business)
        where = str(business_file(report, slug))
        report.errors += [ConfigIssue(where, path, reason) for path, reason in channels.errors]
        report.warnings += channels.warnings
        report.sends[slug] = channels.sends
    if settings is not None:
        files = {slug: str(business_file(report, slug)) for slug in report.businesses}
        errors, warnings = model_issues(settings, report.businesses, files, env)
        report.errors += errors
        report.warnings += warnings
    return report


def business_file(report: ConfigReport, slug: str) -> Path:
    """The file a checked business came from."""
    found = [path for path in report.files if path.stem == slug]
    return found[0] if len(found) == 1 else report.files[0]
