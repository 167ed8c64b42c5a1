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
from receptionist.settings import SEARCH_TEXT

# Modules providing subcommands, in --help order.
COMMAND_MODULES = (
    "serve", "sandbox", "config", "records", "usage", "retention", "deliveries", "users",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="receptionist",
        description="A self-hosted AI phone receptionist for Asterisk.",
        epilog=f"Settings: --settings, else {SEARCH_TEXT}; then RECEPTIONIST_* environment "
        "variables. The model's key comes from OPENAI_API_KEY (or RECEPTIONIST_REALTIME_API_KEY). "
        "Every command has --help.",
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
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """A sub-action without a longer description gets its one-line help as one, so
    `receptionist X Y --help` always says what Y does, not only its usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not sub.description and helps.get(name):
                    text = str(helps[name])
                    sub.description = text[0].upper() + text[1:] + "."
                _describe(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from receptionist.core.logs import configure_logging

    configure_logging(logging.DEBUG if args.verbose else logging.INFO, args.log_format)
    try:
        result: int = args.func(args)
    except PermissionError as error:
        # E.g. the call log's directory belongs to the service's user: one clear line.
        print(f"receptionist {args.command}: permission denied: {error.filename or error}: "
              "run it as a user who may write there (the service's: sudo -u receptionist "
              f"receptionist {args.command} ...)", file=sys.stderr)  # fmt: skip
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
