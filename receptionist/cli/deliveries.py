"""`receptionist deliveries list|show|retry`: what was sent to webhooks and email, and resending."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

# _open: the one way the CLI finds the database.
from receptionist.cli.records import _open, since_arg, until_arg
from receptionist.core.printable import printable
from receptionist.delivery.records import (
    DeliveryRecord,
    get_delivery,
    list_deliveries,
    retry_deliveries,
)
from receptionist.settings import SEARCH_TEXT
from receptionist.store.log import Store
from receptionist.store.open import database_arg
from receptionist.store.records import to_json


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument(
        "--db", type=database_arg,
        help="database file or postgresql:// URL (default: from service settings)",
    )  # fmt: skip
    common.add_argument(
        "--settings", type=Path, help=f"service settings file (default: {SEARCH_TEXT})"
    )
    parser = subparsers.add_parser(
        "deliveries",
        help="notifications sent to webhooks and email",
        description="List deliveries of events (messages, call summaries, bookings) to each "
        "business's channels, show one with its attempts, and resend failed ones.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="list deliveries, newest first")
    listing.add_argument("--failed", action="store_true", help="only those that failed")
    listing.add_argument("--business", help="only this business (slug)")
    listing.add_argument(
        "--since", type=since_arg, help="queued from this date/time (YYYY-MM-DD, today)"
    )
    listing.add_argument(
        "--until", type=until_arg, help="queued up to and including this date/time"
    )
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(func=deliveries_list)
    show = actions.add_parser(
        "show", parents=[common], help="one delivery: attempts, status codes, last error"
    )
    show.add_argument("id", type=int, help="delivery number")
    show.set_defaults(func=deliveries_show)
    retry = actions.add_parser(
        "retry", parents=[common], help="send failed deliveries again (the worker in serve does)"
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="delivery number")
    which.add_argument("--all-failed", action="store_true", help="every failed delivery")
    retry.set_defaults(func=deliveries_retry)


def _open_outbox(args: argparse.Namespace) -> Store | None:
    """The call log that holds the outbox (either engine)."""
    return _open(args)


def _line(d: DeliveryRecord) -> str:
    when = d.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    code = f" HTTP/SMTP {d.last_status}" if d.last_status else ""
    # The receiver wrote the error text (up to 200 characters of its body): shown, not obeyed.
    error = f"  {printable(d.last_error)}" if d.last_error and d.status != "sent" else ""
    return (
        f"#{d.id:<5} {when}  {d.status:<7} {d.business}  {printable(d.channel)}  {d.event_type}  "
        f"attempts={d.attempts}{code}{error}"
    )


def deliveries_list(args: argparse.Namespace) -> int:
    if (store := _open_outbox(args)) is None:
        return 2
    with closing(store):
        found = list_deliveries(store, failed=args.failed, business=args.business,
                                since=args.since, until=args.until, limit=args.limit)  # fmt: skip
    if args.json:
        print(json.dumps(to_json([_without_payload(d) for d in found]), indent=2))
        return 0
    print("\n".join(_line(d) for d in found) if found else "no deliveries")
    return 0


def _without_payload(d: DeliveryRecord) -> dict[str, Any]:
    data: dict[str, Any] = to_json(d)
    data.pop("payload", None)
    data.pop("attempt_log", None)
    return data


def deliveries_show(args: argparse.Namespace) -> int:
    if (store := _open_outbox(args)) is None:
        return 2
    with closing(store):
        found = get_delivery(store, args.id)
    if found is None:
        print(f"error: no delivery #{args.id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(to_json(found), indent=2, ensure_ascii=False))
        return 0
    lines = [_line(found), f"Event:   {found.event_id}" + (
        f" (call {found.call_id})" if found.call_id else "")]  # fmt: skip
    if found.next_attempt_at:
        lines.append(f"Next:    {found.next_attempt_at.astimezone():%Y-%m-%d %H:%M:%S}")
    for n, a in enumerate(found.attempt_log, 1):
        code = a.status_code if a.status_code is not None else "-"
        lines.append(
            f"  {n:>2}. {a.started_at.astimezone():%H:%M:%S}  {a.result:<6} code={code}  "
            f"{a.duration_ms or 0:.0f} ms  {printable(a.error or '')}".rstrip()
        )
    print("\n".join(lines))
    return 0


def deliveries_retry(args: argparse.Namespace) -> int:
    if (store := _open_outbox(args)) is None:
        return 2
    with closing(store):
        queued = retry_deliveries(
            store, ids=[args.id] if args.id is not None else None, all_failed=args.all_failed
        )
    if args.json:
        print(json.dumps({"queued": queued}))
    else:
        print(
            f"queued again: {', '.join(f'#{i}' for i in queued)}" if queued else "nothing to retry"
        )
    return 0 if queued or args.all_failed else 1
