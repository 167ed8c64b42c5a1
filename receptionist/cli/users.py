"""`receptionist users add|remove|passwd|phone|list`: accounts for the office web page.

Passwords are read from the terminal (asked twice), or from standard input with
--password-stdin for scripts: never from the command line, where `ps` would show them.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from receptionist.business import ConfigError
from receptionist.settings import SEARCH_TEXT, load_settings
from receptionist.store.callbacks import set_extension
from receptionist.store.log import Store, StoreError
from receptionist.store.open import database_arg
from receptionist.store.users import ROLES, UserError, Users


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=database_arg,
        help="database file or postgresql:// URL (default: from service settings)",
    )
    common.add_argument(
        "--settings", type=Path, help=f"service settings file (default: {SEARCH_TEXT})"
    )
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    users = subparsers.add_parser(
        "users",
        help="web page accounts",
        description="Accounts for the web page: admins see everything, staff their businesses.",
    )
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[common, secret], help="add a user")
    add.add_argument("username", help="login name (lowercase letters, digits, . _ @ -)")
    add.add_argument("--role", choices=ROLES, default="staff", help="default: staff")
    add.add_argument(
        "--business", action="append", default=[], metavar="SLUG",
        help="a business a staff user sees (repeat for several)",
    )  # fmt: skip
    add.set_defaults(func=users_add)
    remove = actions.add_parser("remove", parents=[common], help="remove a user")
    remove.add_argument("username")
    remove.set_defaults(func=users_remove)
    passwd = actions.add_parser(
        "passwd", parents=[common, secret], help="set a user's password (signs them out)"
    )
    passwd.add_argument("username")
    passwd.set_defaults(func=users_passwd)
    phone = actions.add_parser(
        "phone", parents=[common], help="set the desk phone a user's callbacks ring",
        description="The PJSIP extension (e.g. 201) the web page's Call back rings first.",
    )  # fmt: skip
    phone.add_argument("username")
    phone.add_argument("extension", nargs="?", help="e.g. 201; leave out to clear it")
    phone.set_defaults(func=users_phone)
    listing = actions.add_parser("list", parents=[common], help="list users")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=users_list)


def _users(args: argparse.Namespace) -> Users | None:
    try:
        database = args.db or load_settings(args.settings).database
        return Users(Store(database).sql)
    except (ConfigError, ValueError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return first


def users_add(args: argparse.Namespace) -> int:
    if (users := _users(args)) is None or (password := _password(args)) is None:
        return 2
    try:
        with closing(users.db):
            user = users.add(args.username, password, args.role, args.business)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    scope = "every business" if user.is_admin else ", ".join(user.businesses)
    print(f"added {user.username} ({user.role}: {scope})")
    return 0


def users_remove(args: argparse.Namespace) -> int:
    if (users := _users(args)) is None:
        return 2
    with closing(users.db):
        if not users.remove(args.username):
            print(f"error: no user '{args.username}'", file=sys.stderr)
            return 1
    print(f"removed {args.username}")
    return 0


def users_passwd(args: argparse.Namespace) -> int:
    if (users := _users(args)) is None or (password := _password(args)) is None:
        return 2
    try:
        with closing(users.db):
            found = users.set_password(args.username, password)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not found:
        print(f"error: no user '{args.username}'", file=sys.stderr)
        return 1
    print(f"password changed for {args.username}; their sessions were ended")
    return 0


def users_phone(args: argparse.Namespace) -> int:
    if (users := _users(args)) is None:
        return 2
    try:
        with closing(users.db):
            found = set_extension(users.db, args.username, args.extension)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not found:
        print(f"error: no user '{args.username}'", file=sys.stderr)
        return 1
    what = f"rings {args.extension}" if args.extension else "has no desk phone"
    print(f"{args.username}: Call back {what}")
    return 0


def users_list(args: argparse.Namespace) -> int:
    if (users := _users(args)) is None:
        return 2
    with closing(users.db):
        found = users.list()
    if args.json:
        rows = [{"username": u.username, "role": u.role, "businesses": list(u.businesses)}
                for u in found]  # fmt: skip
        print(json.dumps(rows, indent=2))
        return 0
    if not found:
        print("no users: add the first admin with `receptionist users add NAME --role admin`")
    for u in found:
        print(f"{u.username:<24} {u.role:<6} {', '.join(u.businesses) or 'all businesses'}")
    return 0
