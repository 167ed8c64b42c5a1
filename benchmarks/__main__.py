"""`python -m benchmarks`: run the benchmarks, print a table, write a JSON summary.

    python -m benchmarks                      # everything (about 10 minutes on 2 cores)
    python -m benchmarks --quick              # a smoke run: 2 calls, a few turns
    python -m benchmarks --only capacity --levels 1,10,50,100,200,250

Needs root (the Asterisk sandbox is a chroot; `receptionist sandbox build` makes it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.caller import CALLER_RATES, Rig
from benchmarks.report import Figure, machine, table
from benchmarks.stack import DRIVER_NICE

SECTIONS = ("micro", "fidelity", "turns", "capacity", "failover")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--levels", default="1,10,50,100,150,200", help="concurrent calls to try")
    parser.add_argument(
        "--instances", default="1,2", help="receptionist processes to spread capacity calls over"
    )
    parser.add_argument(
        "--failover-calls", type=int, default=50, help="calls up when one instance is killed"
    )
    parser.add_argument("--window", type=float, default=20.0, help="capacity window, seconds")
    parser.add_argument("--turns", type=int, default=50, help="caller turns to time")
    parser.add_argument("--think-ms", type=float, default=300.0, help="the model's think time")
    parser.add_argument("--json", type=Path, help="write the summary here too")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="profile the receptionist during each capacity window (-N per level)",
    )
    parser.add_argument(
        "--profiler",
        choices=("py-spy", "perf", "syscalls", "strace"),
        default="py-spy",
        help="what --profile records (see benchmarks/profiling.py)",
    )
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        help="capacity with the Realtime model only (not again with the pipeline)",
    )
    parser.add_argument(
        "--leg-format",
        choices=("auto", "slin24", "slin16", "slin"),
        default="auto",
        help="the receptionist's audiosocket_format (auto: slin24 on this Asterisk)",
    )
    parser.add_argument(
        "--caller-format",
        choices=tuple(CALLER_RATES),
        default="slin16",
        help="the simulated callers' channels: slin16 as a wideband phone, slin as a G.711 trunk",
    )
    parser.add_argument(
        "--caller-phases",
        type=int,
        choices=(1, 2, 4),
        default=1,
        help="the callers send on 1 clock phase (all at once) or spread over 2 or 4",
    )
    parser.add_argument(
        "--work", type=Path, help="keep logs and call databases here (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    args.only = [s for s in args.only.split(",") if s]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    args.levels = [int(n) for n in args.levels.split(",")]
    args.instances = tuple(int(n) for n in args.instances.split(","))
    if args.quick:
        args.levels, args.window, args.turns = [2], 3.0, 3
        args.instances, args.failover_calls = (1,), 4
    return args


async def live_sections(
    args: argparse.Namespace, work: Path
) -> tuple[list[Figure], dict[str, Any]]:
    """The sections that need Asterisk: one sandbox for all of them."""
    from benchmarks import capacity, turns
    from receptionist.sandbox import Sandbox

    box = Sandbox(f"bench-{os.getpid()}")
    info = await asyncio.to_thread(box.start)
    figures: list[Figure] = []
    raw: dict[str, Any] = {}
    rig = Rig(args.leg_format, args.caller_format, args.caller_phases)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, DRIVER_NICE)  # after Asterisk started: not inherited
        raw["asterisk"] = info.asterisk_version
        if "turns" in args.only:
            found, raw["turns"] = await turns.run(info, args.turns, args.think_ms, work, rig)
            figures += found
        if "capacity" in args.only:
            found, raw["capacity"] = await capacity.run(
                info,
                args.levels,
                args.window,
                work,
                args.profile,
                args.instances,
                pipeline=not args.no_pipeline,
                profiler=args.profiler,
                rig=rig,
            )
            figures += found
        if "failover" in args.only:
            from benchmarks import failover

            new_calls = max(2, args.failover_calls // 5)
            found, raw["failover"] = await failover.run(
                info, args.failover_calls, new_calls, work / "failover"
            )
            figures += found
    finally:
        await asyncio.to_thread(box.stop)
    return figures, raw


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    figures: list[Figure] = []
    raw: dict[str, Any] = {}
    if "micro" in args.only:
        from benchmarks import bridge_path, micro

        figures += micro.run(args.quick) + bridge_path.run(args.quick)
    if "fidelity" in args.only:
        from benchmarks import fidelity

        figures += fidelity.run(args.quick)
    if {"turns", "capacity", "failover"} & set(args.only):
        with tempfile.TemporaryDirectory(prefix="receptionist-bench-") as tmp:
            work = args.work or Path(tmp)
            found, raw = asyncio.run(live_sections(args, work))
            figures += found
    print(table(figures))
    if raw.get("capacity"):
        from benchmarks.capacity import capacity_table

        print(capacity_table(raw["capacity"]))
        headline = next(
            (f for f in figures if f.section == "capacity" and "Asterisk" in f.name), None
        )
        if headline is not None:
            print(f"headline: {headline.name}: {headline.value:.2f} ({headline.note})")
    summary = {
        "bench": "receptionist",
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "seconds": round(time.monotonic() - started, 1),
        "figures": [f.as_dict() for f in figures],
        "raw": raw,
    }
    text = json.dumps(summary, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
