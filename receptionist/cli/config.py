"""`receptionist config check|prompt`: validate configuration, preview a business's prompt."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from receptionist import settings
from receptionist.business import ConfigError, build_instructions, load_business
from receptionist.service.calendar_check import check_config_online
from receptionist.service.config_check import check_config
from receptionist.settings import SEARCH_TEXT, load_settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config",
        help="check the business files and service settings",
        description="Validate configuration, or print the system prompt a business gets.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    check = actions.add_parser(
        "check",
        help="validate service settings and business files; non-zero exit on any error",
        description="Validate the service settings and every business file. Each error names "
        "the file, the field path and the reason. Exit code 1 if anything is wrong.",
    )
    check.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a business file or a directory of them (default: businesses_dir from settings)",
    )
    _settings_option(check)
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.add_argument(
        "--online",
        action="store_true",
        help="also reach each booking calendar and each business's model endpoints with "
        "their credentials (network access)",
    )
    check.set_defaults(func=check_command)

    prompt = actions.add_parser(
        "prompt",
        help="print the system prompt a business's calls get",
        description="Print the instructions the realtime model gets for a business.",
    )
    prompt.add_argument("business", help="business file, or slug in businesses_dir")
    prompt.add_argument(
        "--at", type=datetime.fromisoformat, help="ISO time to build it for (default: now)"
    )
    _settings_option(prompt)
    prompt.set_defaults(func=prompt_command)


def _settings_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        type=Path,
        help=f"service settings file (default: {SEARCH_TEXT})",
    )


def check_command(args: argparse.Namespace) -> int:
    check = check_config_online if args.online else check_config
    report = check(args.path, args.settings)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "files": [str(f) for f in report.files],
                    "businesses": sorted(report.businesses),
                    "errors": [vars(issue) for issue in report.errors],
                    "warnings": [*report.warnings, *filter(None, [_unread_settings(args)])],
                    "calendars_reached": report.reached,
                    "models_reached": report.models,
                    "notifications": report.sends,
                },
                indent=2,
            )
        )
        return 0 if report.ok else 1
    if report.settings is not None:
        file = report.settings_file
        print(
            f"ok       settings: {Path(file).resolve() if file else '(defaults and environment)'}"
        )
    if (unread := _unread_settings(args)) is not None:
        print(f"warning  {unread}")
    for business in report.businesses.values():
        departments = len(business.routing.departments)
        print(
            f"ok       {business.slug}: {business.business.name} ({departments} departments, "
            f"{len(business.faq)} FAQ entries, DIDs: {', '.join(business.dids) or 'none'})"
        )
        for line in report.sends.get(business.slug) or ["no notification channels"]:
            print(f"         sends {line}")
    for reached in report.reached:
        print(f"ok       {reached} reached")
    for model in report.models:
        print(f"ok       {model}")
    for warning in report.warnings:
        print(f"warning  {warning}")
    for issue in report.errors:
        print(f"error    {issue}", file=sys.stderr)
    checked = len(report.files) + (report.settings_file is not None)
    verdict = "all good" if report.ok else f"{len(report.errors)} error(s)"
    print(f"{checked} file(s) checked: {verdict}")
    return 0 if report.ok else 1


def _unread_settings(args: argparse.Namespace) -> str | None:
    """A checkout's ./config/receptionist.yaml is read before the installed one: when
    both exist, say which was checked, so "all good" is never about the wrong file."""
    if args.settings or os.environ.get("RECEPTIONIST_SETTINGS"):
        return None
    found = [path for path in settings.SEARCH_PATH if path.is_file()]
    if len(found) < 2:
        return None
    return (
        f"read {found[0].resolve()} (this directory's); {found[1]} was not read: run "
        f"from another directory, or give --settings {found[1]}"
    )


def prompt_command(args: argparse.Namespace) -> int:
    try:
        path = Path(args.business)
        if not path.is_file():
            path = load_settings(args.settings).businesses_dir / f"{args.business}.yaml"
        business = load_business(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    at = args.at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=business.tz)  # a bare time means the business's local time
    print(build_instructions(business, at))
    return 0
