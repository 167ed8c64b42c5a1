"""`receptionist sandbox up|down|status`: a real Asterisk on loopback for trying things out."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from receptionist.sandbox import Sandbox, SandboxError, SandboxInfo, ensure_chroot, status, stop
from receptionist.sandbox.profile import forget_profile


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Asterisk 22 sandbox (built once into a cached chroot; needs root)",
        description="Build (once, cached), start, stop or inspect the local Asterisk sandbox.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text, func in (
        ("build", "build the cached chroot with Asterisk 22 and sipp (once)", _build),
        ("up", "build if needed, start, and print how to connect", _up),
        ("down", "stop the sandbox", _down),
        ("status", "print the running sandbox's details", _status),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("--name", default="default", help="sandbox name (default: default)")
        action.add_argument("--json", action="store_true", help="print JSON")
        if name == "up":
            action.add_argument("--http-port", type=int, help="ARI/HTTP port (default: free)")
            action.add_argument("--sip-port", type=int, help="SIP UDP port (default: free)")
            action.add_argument(
                "--audiosocket-port", type=int, help="receptionist AudioSocket port (default: free)"
            )
            action.add_argument(
                "--fresh",
                action="store_true",
                help="choose new ports and passwords (by default the last run's are kept, "
                "so a configured softphone keeps working)",
            )
        if name in ("up", "status"):
            action.add_argument(
                "--show-secrets", action="store_true", help="also print the ARI password"
            )
        action.set_defaults(func=func)


def describe(info: SandboxInfo, *, show_secrets: bool = False) -> str:
    """How to reach the sandbox, with a softphone setup ready to paste. The ARI password
    only with `show_secrets` (it is also in `sandbox status --json`)."""
    phones = ", ".join(info.sip_extensions)
    first = info.sip_extensions[0]
    server = f"{info.sip_host}:{info.sip_port}"
    ari_password = info.ari_password if show_secrets else "(hidden: --show-secrets)"
    lines = [
        f"Asterisk {info.asterisk_version} sandbox {info.name!r} (pid {info.pid})",
        f"  ARI          {info.ari_url}/ari  user {info.ari_user}  password {ari_password}",
        f"  ARI app      {info.app}",
        f"  AudioSocket  Asterisk connects to {info.audiosocket}",
        f"  SIP          {server} (UDP); the trunk is whatever sends from {info.trunk_host}",
        f"  softphone    register as {phones} with password {info.sip_password},",
        "               then dial 100 to reach the receptionist",
        "  softphone setup (Linphone, MicroSIP, Zoiper: same values each run):",
        f"    SIP server / domain  {server}",
        "    transport            UDP",
        f"    user name / auth id  {first}   (or {phones})",
        f"    password             {info.sip_password}",
        f"    baresip ~/.baresip/accounts:  <sip:{first}@{server};transport=udp>"
        f";auth_pass={info.sip_password};regint=600",
        f"  logs         {info.run_dir}/log/full.log",
        f"  started in   {info.start_seconds:.1f} s",
    ]
    if info.build_seconds is not None:
        lines.append(f"  chroot built {info.build_seconds:.1f} s (first run)")
    return "\n".join(lines)


def _print(info: SandboxInfo, as_json: bool, show_secrets: bool = False) -> None:
    text = describe(info, show_secrets=show_secrets)
    print(json.dumps(asdict(info), indent=2) if as_json else text)


def _up(args: argparse.Namespace) -> int:
    box = Sandbox(
        args.name,
        http_port=args.http_port,
        sip_port=args.sip_port,
        audiosocket_port=args.audiosocket_port,
        persist=True,
    )
    if args.fresh and forget_profile(args.name):
        print(f"sandbox {args.name!r}: new ports and passwords (reconfigure softphones)")
    try:
        info = box.start()
    except SandboxError as exc:
        print(f"receptionist sandbox: {exc}", file=sys.stderr)
        return 1
    _print(info, args.json, args.show_secrets)
    return 0


def _build(args: argparse.Namespace) -> int:
    try:
        report = ensure_chroot()
    except SandboxError as exc:
        print(f"receptionist sandbox: {exc}", file=sys.stderr)
        return 1
    how = f"built in {report.seconds:.1f} s" if report.built else "already built (cached)"
    if args.json:
        print(json.dumps({"path": str(report.path), "built": report.built,
                          "seconds": round(report.seconds, 1)}))  # fmt: skip
    else:
        print(f"sandbox chroot {how}: {report.path}")
    return 0


def _down(args: argparse.Namespace) -> int:
    if stop(args.name):
        print(f"sandbox {args.name!r} stopped")
    else:
        print(f"sandbox {args.name!r} was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    info = status(args.name)
    if info is None:
        print(f"sandbox {args.name!r} is not running", file=sys.stderr)
        return 1
    _print(info, args.json, args.show_secrets)
    return 0
