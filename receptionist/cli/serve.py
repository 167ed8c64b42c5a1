"""`receptionist serve`: run the receptionist service."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the receptionist service")
    parser.add_argument("--sandbox", action="store_true", help="start the local Asterisk sandbox")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    raise SystemExit("serve: not built yet")
