"""`receptionist retention sweep`: delete call data past each business's retention days."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from receptionist.business import ConfigError, load_businesses
from receptionist.settings import SEARCH_TEXT, load_settings
from receptionist.store.log import Store, StoreError
from receptionist.store.open import database_arg
from receptionist.store.retention import SweepReport, sweep


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retention",
        help="delete call data past each business's retention days",
        description="Apply each business's `retention:` days to recordings, transcripts, "
        "messages (handled ones, unless unhandled_messages is true), calls and the kinds "
        "other modules add. serve does this once a day.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "sweep",
        help="delete (or with --dry-run count) what is past its retention",
        description="Delete what is past its retention, for good: full-text index "
        "included, freed space given back. Each sweep is logged and recorded in the "
        "retention_sweeps table.",
    )
    add_sweep_options(run)
    run.set_defaults(func=sweep_command, kinds=None)


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="count rows, files and bytes only")
    parser.add_argument("--business", help="only this business (slug)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--db",
        type=database_arg,
        help="database file or postgresql:// URL (default: from service settings)",
    )
    parser.add_argument(
        "--settings", type=Path, help=f"service settings file (default: {SEARCH_TEXT})"
    )


def sweep_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.settings)
        businesses = load_businesses(settings.businesses_dir)
        store = Store(args.db or settings.database, create=False)
    except (ConfigError, FileNotFoundError, ValueError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with closing(store):
        report = sweep(store, businesses, datetime.now(UTC), dry_run=args.dry_run,
                       business=args.business, kinds=args.kinds)  # fmt: skip
    print(_as_json(report) if args.json else _as_text(report))
    return 1 if report.failed_files else 0


def _as_json(report: SweepReport) -> str:
    data = {**asdict(report), "rows": report.rows, "files": report.files, "bytes": report.bytes}
    return json.dumps(data, indent=2)


def _as_text(report: SweepReport) -> str:
    verb = "would delete" if report.dry_run else "deleted"
    lines = [
        f"{t.business:24} {t.kind:12} {t.days:>5} days  {verb} {t.rows} rows, {t.files} files, "
        f"{t.bytes} bytes"
        for t in report.totals
        if t.rows or t.files
    ]
    lines += [f"could not delete {path}" for path in report.failed_files]
    size = f"database {report.db_bytes_before} -> {report.db_bytes_after} bytes"
    lines.append(f"{verb} {report.rows} rows, {report.files} files, {report.bytes} bytes; {size}")
    return "\n".join(lines)
