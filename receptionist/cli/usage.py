"""`receptionist usage`: what the model cost per business, per day and for the month."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from receptionist.business import ConfigError
from receptionist.settings import SEARCH_TEXT, load_settings
from receptionist.store.open import database_arg, open_sync_store
from receptionist.store.records import to_json
from receptionist.store.usage import month_days, month_total, usage_by_day


def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month like 2026-12") from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "usage",
        help="model usage and estimated cost per business, per day and month",
        description="Sum what each call's model used and its estimated cost (at the list "
        "prices in the settings, see docs/models.md) for one business: a line per day and "
        "provider, then the month's total. Days are UTC.",
    )
    parser.add_argument("--business", required=True, help="business slug")
    parser.add_argument(
        "--month", type=_month, nargs="?", const=None, default=None,
        help="YYYY-MM (default, or --month alone: this month)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--db", type=database_arg, help="database file (default: from settings)")
    parser.add_argument(
        "--settings", type=Path, help=f"service settings file (default: {SEARCH_TEXT})"
    )
    parser.set_defaults(func=usage_command)


def usage_command(args: argparse.Namespace) -> int:
    try:
        database = args.db or load_settings(args.settings).database
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    first, last = month_days(args.month or datetime.now(UTC).date())
    store = open_sync_store(database, create=False)
    try:
        days = usage_by_day(store, args.business, first, last)
    finally:
        store.close()
    month = month_total(days)
    if args.json:
        print(json.dumps({"business": args.business, "month": first.strftime("%Y-%m"),
                          "days": to_json(days), "total": month}, indent=2))  # fmt: skip
        return 0
    print(f"{args.business}, {first:%Y-%m} (UTC days)")
    for d in days:
        print(f"{d.day}  {d.provider:<22} {d.calls:>4} calls {d.minutes:>8.1f} min  "
              f"{d.cost:>10.4f} {d.currency or ''}")  # fmt: skip
    if not days:
        print("no calls with recorded usage")
    print(f"{'month':<35}{month['calls']:>4} calls {month['minutes']:>8.1f} min  "
          f"{month['cost']:>10.4f} {month['currency'] or ''}")  # fmt: skip
    return 0
