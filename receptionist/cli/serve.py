"""`receptionist serve`: run the receptionist service (optionally with the local sandbox)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from receptionist.business import ConfigError
from receptionist.business.loader import collect_businesses
from receptionist.core.redact import redact
from receptionist.service import event_loop
from receptionist.service.reclaim import reclaim_at_start
from receptionist.settings import SEARCH_TEXT, load_settings

if TYPE_CHECKING:
    from receptionist.sandbox import Sandbox, SandboxInfo
    from receptionist.settings import Settings

# The errors of binding a listening socket: the port is taken or not ours to use.
CANNOT_LISTEN = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the receptionist (ARI app + AudioSocket server)",
        description="Run the receptionist until SIGTERM/SIGINT, then drain calls gently. "
        f"Settings come from --settings, else {SEARCH_TEXT}, then RECEPTIONIST_* variables; "
        "the model's key from OPENAI_API_KEY (without one every call takes the dialplan "
        "fallback). --workers runs several instances under one supervisor, --instance runs "
        "one of them.",
    )
    parser.add_argument(
        "--settings", type=Path, help=f"service settings file (default: {SEARCH_TEXT})"
    )
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
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run N instances (processes) under one supervisor that restarts a dead one; "
        "set RECEPTIONIST_INSTANCES = N in the dialplan (default: the workers setting, 1)",
    )
    parser.add_argument(
        "--instance",
        type=int,
        metavar="I",
        help="run as instance I: ARI app <ari_app>-I, ports moved up by 10 * (I-1) "
        "(default: the instance setting; none = the plain ari_app)",
    )
    parser.set_defaults(func=_serve_until_stopped)


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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _serve_until_stopped(args: argparse.Namespace) -> int:
    """Ctrl-C and SIGTERM stop serve at any moment: while it starts (the sandbox, the
    early reclaim, imports) as well as once it runs, where the loop drains calls first."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _serve(args)
    except KeyboardInterrupt as stopped:
        name = str(stopped) or "SIGINT"
        print(f"receptionist serve: stopped by {name} while starting", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace) -> int:
    from receptionist.sandbox import Sandbox, SandboxError, status
    from receptionist.service.supervisor import die_with_supervisor

    supervised = die_with_supervisor()  # a worker: it must not outlive its supervisor
    started = None
    info: SandboxInfo | None = None
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
        if not supervised:  # the supervisor has said it once for all its workers
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
    workers = args.workers or settings.workers
    if info is not None and not supervised:  # the workers share the supervisor's sandbox
        from receptionist.sandbox.instances import instances_to_try, set_instances

        try:  # so that `dial 100` reaches these instances, not the fallback
            set_instances(info, instances_to_try(args.instance or settings.instance, workers))
        except SandboxError as exc:
            print(f"receptionist serve: {exc}", file=sys.stderr)
            if started is not None:
                started.stop()
            return 1
    if workers > 1:
        return _supervise(args, settings, workers, started)
    try:
        settings = _as_instance(settings, args.instance or settings.instance)
    except ValueError as exc:  # a port moved past 65535
        print(f"receptionist serve: {redact(str(exc))}", file=sys.stderr)
        if started is not None:
            started.stop()
        return 1
    handed = asyncio.run(reclaim_at_start(settings))  # before the slow imports below
    from receptionist.service.wiring import serve

    names = ", ".join(sorted(businesses)) or "none"
    print(f"businesses: {names}", flush=True)
    with contextlib.suppress(ImportError):  # reported below, when the loop is made
        print(f"event loop: {event_loop.loop_factory(settings.event_loop)[0]}", flush=True)

    def ready(app: object) -> None:
        # Said once the page listens (serve started it before connecting to Asterisk).
        print(f"web page: http://{settings.web_host}:{settings.web_port}/ "
              "(accounts: receptionist users add)", flush=True)  # fmt: skip
        print("ready: waiting for calls", flush=True)

    try:
        event_loop.run(
            serve(
                settings,
                businesses,
                on_ready=ready,
                config_issues=issues,
                handed_at_start=handed,
            ),
            settings.event_loop,
        )
    except ImportError as exc:  # event_loop: uvloop without the `fast` extra installed
        print(f"receptionist serve: {exc}", file=sys.stderr)
        return 1
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


def _as_instance(settings: Settings, instance: int | None) -> Settings:
    from receptionist.service.instances import instance_settings

    return settings if instance is None else instance_settings(settings, instance)


def _supervise(
    args: argparse.Namespace, settings: Settings, workers: int, started: Sandbox | None
) -> int:
    from receptionist.service.supervisor import supervise

    first = args.instance or settings.instance or 1
    try:  # every worker's settings are valid before any starts
        for instance in range(first, first + workers):
            _as_instance(settings, instance)
    except ValueError as exc:
        print(f"receptionist serve: {redact(str(exc))}", file=sys.stderr)
        if started is not None:
            started.stop()
        return 1
    serve_args = [*(["--settings", str(args.settings)] if args.settings else []),
                  *(["--sandbox"] if args.sandbox else [])]  # fmt: skip
    print(f"workers: {workers} (ARI apps {settings.ari_app}-{first} .. "
          f"{settings.ari_app}-{first + workers - 1})", flush=True)  # fmt: skip
    try:
        asyncio.run(supervise(range(first, first + workers), serve_args,
                              grace_s=settings.shutdown_grace_seconds))  # fmt: skip
    finally:
        if started is not None:
            started.stop()
    return 0
