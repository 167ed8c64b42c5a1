"""`config check`: validate the service settings and every business file in one pass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from receptionist.business.loader import (
    ConfigError,
    ConfigIssue,
    business_files,
    collect_businesses,
    load_business,
)
from receptionist.business.models import Business
from receptionist.settings import Settings, load_settings, settings_path


@dataclass
class ConfigReport:
    settings_file: Path | None
    settings: Settings | None = None
    businesses: dict[str, Business] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    errors: list[ConfigIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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
        if settings.realtime_api_key is None:
            report.warnings.append(
                "no realtime API key (realtime_api_key or OPENAI_API_KEY): "
                "calls will go to the dialplan fallback"
            )
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
    return report
