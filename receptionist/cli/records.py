"""`receptionist messages|calls|recordings ...`: read the call log, purge recordings.

Times are shown in this machine's local timezone, with the zone's name (set TZ to
change it); dates given to --since/--until are local too.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from receptionist.business import ConfigError
from receptionist.cli.retention import add_sweep_options, sweep_command
from receptionist.core.printable import printable, printable_block
from receptionist.core.redact import redact
from receptionist.delivery.records import Notification, notifications_of, status_label
from receptionist.settings import SEARCH_TEXT, load_settings, settings_path
from receptionist.store.handoffs import Handoff, handoff_label, handoffs_of, result_label
from receptionist.store.log import Store
from receptionist.store.open import database_arg, open_sync_store
from receptionist.store.records import CallRecord, MessageRecord, to_json
from receptionist.store.timeline import clock, duration, timeline
from receptionist.store.usage import CallUsage, usage_of

T = TypeVar("T")


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument(
        "--db",
        type=database_arg,
        help="database file or postgresql:// URL (default: from service settings)",
    )
    common.add_argument(
        "--settings", type=Path, help=f"service settings file (default: {SEARCH_TEXT})"
    )
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--business", help="only this business (slug)")
    filters.add_argument("--since", type=since_arg, help="from this date/time (YYYY-MM-DD, today)")
    filters.add_argument("--until", type=until_arg, help="up to and including this date/time")
    filters.add_argument("--search", help="full-text search")
    filters.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")

    messages = subparsers.add_parser(
        "messages", help="messages callers left", description="List, read and close messages."
    )
    actions = messages.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", parents=[common, filters], help="list messages, newest first"
    )
    listing.add_argument(
        "--status", choices=("new", "handled", "all"), default="all", help="default: all"
    )
    listing.set_defaults(func=messages_list)
    show = actions.add_parser("show", parents=[common], help="show one message")
    show.add_argument("id", type=int, help="message number")
    show.set_defaults(func=messages_show)
    handled = actions.add_parser(
        "mark-handled", parents=[common], help="mark messages as dealt with"
    )
    handled.add_argument("ids", type=int, nargs="+", metavar="ID", help="message numbers")
    handled.set_defaults(func=messages_mark_handled)

    calls = subparsers.add_parser(
        "calls", help="the call log", description="List calls; show one call's conversation."
    )
    actions = calls.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common, filters], help="list calls, newest first")
    listing.set_defaults(func=calls_list)
    show = actions.add_parser(
        "show", parents=[common], help="a call's transcript as a readable conversation"
    )
    show.add_argument("id", help="call id (a unique prefix is enough)")
    show.set_defaults(func=calls_show)

    recordings = subparsers.add_parser(
        "recordings",
        help="recording retention",
        description="Delete recording files past each business's retention days.",
    )
    actions = recordings.add_subparsers(dest="action", metavar="ACTION", required=True)
    purge = actions.add_parser(
        "purge",
        help="`retention sweep` for recordings only (serve sweeps daily)",
        description="The same as `retention sweep`, for recording files only.",
    )
    add_sweep_options(purge)
    purge.set_defaults(func=sweep_command, kinds=("recordings",))


def _moment(text: str, *, end: bool) -> datetime:
    words = {"today": date.today(), "yesterday": date.today() - timedelta(days=1)}
    try:
        day = words.get(text) or date.fromisoformat(text)
    except ValueError:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a date or time: {text!r}") from None
    # A whole day: --until includes it, so the bound is the next midnight.
    return datetime.combine(day + timedelta(days=1 if end else 0), time())


def since_arg(text: str) -> datetime:
    return _moment(text, end=False)


def until_arg(text: str) -> datetime:
    return _moment(text, end=True)


def _open(args: argparse.Namespace) -> Store | None:
    try:
        database = args.db or load_settings(args.settings).database
        return open_sync_store(database, create=False)
    except FileNotFoundError as error:
        print(f"error: {error}{_no_settings_hint(args)}", file=sys.stderr)
        return None
    # sqlite3.Error: PostgreSQL unreachable too (its message already hides the password).
    except (ConfigError, ValueError, sqlite3.Error) as error:
        print(f"error: {redact(str(error))}", file=sys.stderr)
        return None


def _no_settings_hint(args: argparse.Namespace) -> str:
    """Without a settings file the default database is ./data under this directory:
    say so, since from another directory that is rarely the call log meant."""
    if args.db or settings_path(args.settings, os.environ) is not None:
        return ""
    return (
        f" (no settings file found: looked for {SEARCH_TEXT}; give --settings, or run "
        "where ./config/receptionist.yaml is)"
    )


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return moment.astimezone().strftime(fmt) if moment else "-"


def _emit(data: Any) -> None:
    print(json.dumps(to_json(data), indent=2, ensure_ascii=False))


def _show(args: argparse.Namespace, record: T | None, fmt: Callable[[T], str], missing: str) -> int:
    """Print one record (as JSON with --json); exit status 1 when there is none."""
    if record is None:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    if args.json:
        _emit(record)
    else:
        print(fmt(record))
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("business", "since", "until", "search", "limit")
    return {key: getattr(args, key) for key in keys}


def messages_list(args: argparse.Namespace) -> int:
    if (store := _open(args)) is None:
        return 2
    status = None if args.status == "all" else args.status
    found = store.list_messages(status=status, **_filters(args))
    if args.json:
        _emit(found)
        return 0
    if not found:
        print("no messages")
    for m in found:
        preview = printable(" ".join(m.message.split()))
        preview = preview if len(preview) <= 60 else preview[:59] + "…"
        print(
            f"#{m.id:<5} {_local(m.created_at)}  {m.status:<7}  {m.business}  "
            f"{printable(m.caller_name)} ({printable(m.callback_number)}): {preview}"
        )
    return 0


def messages_show(args: argparse.Namespace) -> int:
    if (store := _open(args)) is None:
        return 2
    message = store.get_message(args.id)
    return _show(args, message, _format_message, f"no message #{args.id}")


def _format_message(m: MessageRecord) -> str:
    handled = f", handled {_local(m.handled_at)}" if m.handled_at else ""
    return (
        f"Message #{m.id} for {m.business} ({m.status}{handled})\n"
        f"From:      {printable(m.caller_name)}\n"
        f"Call back: {printable(m.callback_number)}\n"
        f"Left:      {_local(m.created_at)}" + (f" on call {m.call_id}" if m.call_id else "") + "\n"
        f"\n{printable_block(m.message)}"
    )


def messages_mark_handled(args: argparse.Namespace) -> int:
    if (store := _open(args)) is None:
        return 2
    earlier = {message_id: store.get_message(message_id) for message_id in args.ids}
    done_before = {key: m is not None and m.status == "handled" for key, m in earlier.items()}
    results = {message_id: store.mark_handled(message_id) for message_id in args.ids}
    if args.json:
        _emit([{"id": key, "found": value, "already_handled": done_before[key]}
               for key, value in results.items()])  # fmt: skip
    for message_id, found in results.items():
        record = earlier[message_id]
        if not found:
            print(f"error: no message #{message_id}", file=sys.stderr)
        elif args.json:
            continue
        elif done_before[message_id] and record is not None:
            print(f"#{message_id} was already handled ({_local(record.handled_at)})")
        else:
            print(f"#{message_id} marked handled")
    return 0 if all(results.values()) else 1


def calls_list(args: argparse.Namespace) -> int:
    if (store := _open(args)) is None:
        return 2
    found = store.list_calls(**_filters(args))
    if args.json:
        _emit(found)
        return 0
    if not found:
        print("no calls")
    for c in found:
        print(
            f"{c.id}  {_local(c.started_at)}  {duration(c):>7}  {c.business}  "
            f"{printable(c.caller_number or 'unknown')}  turns={c.turn_count}  "
            f"{','.join(c.outcomes) or '-'}"
        )
    return 0


def calls_show(args: argparse.Namespace) -> int:
    if (store := _open(args)) is None:
        return 2
    try:
        call_id = store.resolve_call_id(args.id)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    call = store.get_call(call_id) if call_id else None
    if call is None:
        print(f"error: no call {args.id!r}", file=sys.stderr)
        return 1
    handoffs = handoffs_of(store, call.id)
    notes = notifications_of(store, call.id)
    used = usage_of(store, call.id)
    if args.json:
        _emit({**to_json(call), "handoffs": to_json(handoffs), "notifications": to_json(notes),
               "model": to_json(used)})  # fmt: skip
    else:
        print(format_call(call, handoffs, notes))
        if used is not None:
            print(f"\n{usage_line(used)}")
    return 0


def usage_line(used: CallUsage) -> str:
    cost = "no prices configured"
    if used.cost is not None:
        cost = f"estimated {used.cost:.4f} {used.currency} at prices of {used.prices_taken}"
    units = ", ".join(f"{k} {v:g}" for k, v in sorted(used.usage.items())) or "nothing"
    return f"Model: {used.provider}, {cost}\nUsed: {units}"


def format_call(
    call: CallRecord, handoffs: Sequence[Handoff] = (), notifications: Sequence[Notification] = ()
) -> str:
    """The call as a conversation: turns in spoken order, tool calls placed by time; where
    the caller went after the receptionist, and the notifications sent about the call."""
    lines = [
        f"Call {call.id} ({call.business})",
        f"From {printable(call.caller_number or 'unknown')}, started {_local(call.started_at)}, "
        f"{duration(call)}",
        f"Outcomes: {', '.join(call.outcomes) or '-'}",
        *(f"Handed off: {printable(f'{handoff_label(h)}: {result_label(h)}')}" for h in handoffs),
        "",
    ]
    for entry in timeline(call):
        if entry.turn is not None:
            who = "Caller" if entry.turn.speaker == "caller" else "Receptionist"
            lines.append(f"[{clock(entry.at_ms)}] {who}: {printable(entry.turn.text)}")
        elif entry.tool is not None:
            result = printable(" ".join(entry.tool.result.split()))
            call_text = printable(f"{entry.tool.name} {entry.tool.arguments}")
            lines.append(f"        (tool {call_text} -> {result})")
    if not call.turns:
        lines.append("(no transcript)")
    for m in call.messages:
        who = f"{printable(m.caller_name)}, {printable(m.callback_number)}"
        lines.append(f"\nMessage #{m.id} ({m.status}): {who}")
        lines.append(printable_block(m.message))
    for recording in call.recordings:
        length = f" ({recording.duration_s:.0f} s)" if recording.duration_s else ""
        lines.append(f"\nRecording: {printable(recording.path)}{length}")
    if notifications:
        lines.append("\nNotifications:")
    for note in notifications:
        for d in note.deliveries:
            lines.append(f"  {note.type} to {printable(d.channel)}: {printable(status_label(d))}")
        if not note.deliveries:
            lines.append(f"  {note.type}: queued")
    return "\n".join(lines)
