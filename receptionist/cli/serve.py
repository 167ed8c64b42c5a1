"""`receptionist serve`: run the receptionist service (optionally with the local sandbox)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from receptionist.business import ConfigError
from receptionist.business.loader import collect_businesses
from receptionist.reclaim import reclaim_at_start
from receptionist.redact import redact
from receptionist.settings import load_settings

if TYPE_CHECKING:
    from receptionist.sandbox import SandboxInfo

# The errors of binding a listening socket: the port is taken or not ours to use.
CANNOT_LISTEN = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the receptionist (ARI app + AudioSocket server)",
        description="Run the receptionist until SIGTERM/SIGINT, then drain calls gently.",
    )
    parser.add_argument("--settings", type=Path, help="service settings YAML file")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="start (or reuse) the local Asterisk sandbox and connect to it "
        "(named by RECEPTIONIST_SANDBOX, default: default)",
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="with --sandbox: also print the sandbox's ARI password",
    )
    parser.set_defaults(func=_serve)


def _sandbox_overrides(info: SandboxInfo) -> dict[str, Any]:
    """What the sandbox decides: its ARI and the AudioSocket port Asterisk dials."""
    host, port = info.audiosocket.rsplit(":", 1)
    return {
        "ari_url": info.ari_url,
        "ari_user": info.ari_user,
        "ari_password": info.ari_password,
        "ari_app": info.app,
        "audiosocket_host": host,
        "audiosocket_port": int(port),
        "audiosocket_advertise": None,
        # ARI writes recordings into the sandbox's own spool.
        "recordings_dir": Path(info.run_dir) / "spool" / "recording",
    }


def _serve(args: argparse.Namespace) -> int:
    from receptionist.sandbox import Sandbox, SandboxError, status

    started = None
    overrides: dict[str, Any] = {}
    if args.sandbox:
        from receptionist.cli.sandbox import describe

        name = os.environ.get("RECEPTIONIST_SANDBOX") or "default"
        try:
            info = status(name)
            if info is None:
                started = Sandbox(name, persist=True)
                info = started.start()
        except SandboxError as exc:
            print(f"receptionist serve: {exc}", file=sys.stderr)
            return 1
        overrides = _sandbox_overrides(info)
        print(describe(info, show_secrets=args.show_secrets), flush=True)
    try:
        # Built and validated once, whole: file, environment and the sandbox's ports.
        settings = load_settings(args.settings, overrides=overrides)
    except ConfigError as exc:
        print(f"receptionist serve: {redact(str(exc))}", file=sys.stderr)
        if started is not None:
            started.stop()
        return 1
    # A bad business file must not take the good ones down: they are served, the bad
    # ones reported here, in the log, in /health and as a metric.
    businesses, issues = collect_businesses(settings.businesses_dir)
    for issue in issues:
        print(f"receptionist serve: business not loaded: {issue}", file=sys.stderr)
    if not businesses:
        where = settings.businesses_dir
        print(f"receptionist serve: no valid business file in {where}: not starting",
              file=sys.stderr)  # fmt: skip
        if started is not None:
            started.stop()
        return 1
    asyncio.run(reclaim_at_start(settings))  # before the slow imports below
    from receptionist.service import serve

    names = ", ".join(sorted(businesses)) or "none"
    print(f"businesses: {names}", flush=True)
    print(f"web page: http://{settings.web_host}:{settings.web_port}/ "
          "(accounts: receptionist users add)", flush=True)  # fmt: skip
    try:
        asyncio.run(
            serve(
                settings,
                businesses,
                on_ready=lambda app: print("ready: waiting for calls", flush=True),
                config_issues=issues,
            )
        )
    except ValueError as exc:
        print(f"receptionist serve: {redact(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno not in CANNOT_LISTEN:
            raise
        # e.g. "error while attempting to bind on address ('127.0.0.1', 9090): address
        # already in use": which address, and what to change.
        print(f"receptionist serve: cannot listen: {exc.strerror}; another program has "
              "the port, or set another in the settings (audiosocket_port, metrics_port, "
              "web_port)",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        if started is not None:
            started.stop()
    return 0
