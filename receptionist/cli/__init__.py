"""The `receptionist` console command.

Each subcommand lives in its own module with a `register(subparsers)` function;
commands parse arguments and make one library call: no logic lives here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from receptionist import __version__

# Modules providing subcommands, in --help order.
COMMAND_MODULES = (
    "serve", "sandbox", "config", "records", "usage", "retention", "deliveries", "users",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="receptionist",
        description="A self-hosted AI phone receptionist for Asterisk.",
    )
    parser.add_argument("--version", action="version", version=f"receptionist {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--log-format", choices=("text", "json"), help="text or json (default: text)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"receptionist.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from receptionist.core.logs import configure_logging

    configure_logging(logging.DEBUG if args.verbose else logging.INFO, args.log_format)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
