"""Capacity: N concurrent calls streaming audio both ways through the sandbox Asterisk.

For each N: a fresh receptionist process and model process; N callers dial in and hear
a long greeting (streamed by the model at 1.05x real time, as a real model runs slightly
ahead) while they keep sending faint noise (as a phone sends RTP; below the turn
detector). After a settling second, a window of W seconds is measured:

- CPU (user + sys) of the receptionist process, of Asterisk, of the model and of this
  driver, from /proc; memory (RSS) of the receptionist above its idle size;
- pacing at the callers' ears: |frame interval - 20 ms| over every frame of every call,
  timed when each frame reached the caller's socket (the kernel's stamp: what a phone of
  its own would hear) and when this driver read it (adding the driver's own delays: one
  process plays every caller, on the same cores as Asterisk and the receptionist);
- audio lost: frames heard by callers vs. real time (down), and audio the model got
  vs. audio callers sent (up).

N passes when the p99 pacing error at the callers' sockets is <= 5 ms and at least 99.5 %
of the audio arrives each way.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from benchmarks.caller import DEFAULT_RIG, FRAME_S, Call, Dialer, Ear, Leg, Rig
from benchmarks.profiling import attach
from benchmarks.report import Figure, percentiles
from benchmarks.stack import (
    descendants,
    instance_homes,
    machine_busy_seconds,
    memory_kib,
    model_process,
    pipeline_process,
    receptionist_process,
    tree_cpu_seconds,
)
from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from tests.integration.harness import eventually
from tests.integration.live import SLUG

PACING_BOUND_MS = 5.0
DELIVERED_BOUND = 0.995
SETUP_CONCURRENCY = 8
MODEL_BYTES_PER_S = 48000  # pcm16 at 24 kHz
IN_FLIGHT_S = 1.0
SEARCH_STEPS = 2  # extra levels tried between the last pass and the first miss
SEARCH_RESOLUTION = 10


async def _model_input_bytes(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as response:
        data: dict[str, Any] = await response.json()
    return sum(c["input_bytes"] for c in data["connections"])


class Snapshot:
    """Counters at one instant; the window is the difference of two."""

    def __init__(self, pids: dict[str, list[int]], legs: list[Leg]) -> None:
        self.at = time.monotonic()
        self.cpu = {name: tree_cpu_seconds(p) for name, p in pids.items()}
        self.cpu["driver"] = time.process_time()
        self.machine = machine_busy_seconds()
        self.sent = sum(leg.sent for leg in legs)
        self.model_bytes = 0

    @classmethod
    async def take(
        cls, pids: dict[str, list[int]], legs: list[Leg], http: aiohttp.ClientSession, url: str
    ) -> Snapshot:
        snap = cls(pids, legs)
        # What the model has received IN_FLIGHT_S later: audio sent before the snapshot
        # and still on its way through Asterisk and the receptionist is not lost.
        await asyncio.sleep(IN_FLIGHT_S - (time.monotonic() - snap.at))
        snap.model_bytes = await _model_input_bytes(http, url)
        return snap


def _pacing(
    legs: list[Leg], start: float, end: float, *, at_socket: bool = False
) -> tuple[np.ndarray, int]:
    """Every |interval - 20 ms| (ms) heard inside the window, and the frames heard;
    `at_socket`: timed by the kernel's arrival stamps instead of this driver's reads."""
    errors, heard = [], 0
    for leg in legs:
        times = np.frombuffer(leg.reached_at if at_socket else leg.heard_at, dtype=np.float64)
        inside = times[(times >= start) & (times < end)]
        heard += inside.size
        if inside.size > 1:
            errors.append(np.abs(np.diff(inside) - FRAME_S) * 1000)
    return (np.concatenate(errors) if errors else np.zeros(0)), heard


async def run_level(
    sandbox: SandboxInfo,
    ari: AriClient,
    n: int,
    window_s: float,
    work: Path,
    profile: Path | None = None,
    instances: int = 1,
    pipeline: bool = False,
    profiler: str = "py-spy",
    rig: Rig = DEFAULT_RIG,
) -> dict[str, float]:
    """Measure one level of N concurrent calls spread over `instances` receptionist
    processes, with the Realtime model or the pipeline; returns its figures (module doc)."""
    app = f"rx-bench-{uuid.uuid4().hex[:6]}"
    greeting_s = 60 + n * 0.3 + window_s  # outlasts setup and the window
    async with contextlib.AsyncExitStack() as stack:
        if pipeline:
            model, url, stats_url = await stack.enter_async_context(
                pipeline_process(greeting_s, realtime_factor=1.05)
            )
        else:
            model, url, stats_url = await stack.enter_async_context(
                model_process(0, greeting_s, 1.0, realtime_factor=1.05, turns=False)
            )
        services = [
            await stack.enter_async_context(
                receptionist_process(
                    sandbox, url, where, name, pipeline=pipeline, leg_format=rig.leg
                )
            )
            for where, name in instance_homes(work, app, instances)
        ]
        service = services[0]
        ear = await stack.enter_async_context(Ear(rig.caller, rig.phases))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        dialer = Dialer(ari, ear, app, SLUG, instances)
        idle_kib = sum(memory_kib(s.pid)["VmRSS"] for s in services)
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def place() -> Call:
            async with gate:
                return await dialer.call()

        setup_started = time.monotonic()
        calls = await asyncio.gather(*(place() for _ in range(n)))
        legs = [c.leg for c in calls if c.leg is not None]
        # Everyone hears the greeting before the window opens.
        with contextlib.suppress(TimeoutError):  # a silent caller shows in the figures
            await eventually(lambda: all(leg.audible_since(0) for leg in legs), 30)
        setup_s = time.monotonic() - setup_started
        for leg in legs:
            leg.levels = False  # from here on only frame times count
        await asyncio.sleep(1.0)
        pids = {
            "receptionist": [s.pid for s in services],
            "asterisk": descendants(sandbox.pid),
            "model": [model.pid],
        }
        first = await Snapshot.take(pids, legs, http, stats_url)
        if profile is not None:
            await attach(profiler, service.pid, window_s, profile)
        else:
            await asyncio.sleep(window_s)
        last = await Snapshot.take(pids, legs, http, stats_url)
        memory = {key: sum(memory_kib(s.pid)[key] for s in services) for key in ("VmRSS", "VmHWM")}
        load = os.getloadavg()
        errors, heard = _pacing(legs, first.at, last.at)
        at_socket, _ = _pacing(legs, first.at, last.at, at_socket=True)
        elapsed = last.at - first.at
        await asyncio.gather(*(c.hang_up() for c in calls), return_exceptions=True)

    cpu = {k: (last.cpu[k] - first.cpu[k]) / elapsed * 100 for k in first.cpu}
    rig_cpu = sum(cpu.values())
    # Everything else the machine ran meanwhile (other users, profilers), in % of a core.
    others = max(0.0, (last.machine - first.machine) / elapsed * 100 - rig_cpu)
    p50, p99 = percentiles(list(errors), 50, 99)
    socket_p50, socket_p99 = percentiles(list(at_socket), 50, 99)
    down = heard / (n * elapsed / FRAME_S)
    up_sent_s = (last.sent - first.sent) * FRAME_S
    up = (last.model_bytes - first.model_bytes) / MODEL_BYTES_PER_S / up_sent_s
    if pipeline:  # caller audio reaches the pipeline only as one upload per turn
        up = float("nan")
    return {
        "calls": n,
        "instances": instances,
        "pipeline": float(pipeline),
        "up": len(legs),
        "setup_s": setup_s,
        "receptionist_cpu_pct": cpu["receptionist"],
        "cpu_pct_per_call": cpu["receptionist"] / n,
        "asterisk_cpu_pct": cpu["asterisk"],
        # Receptionist CPU per call over Asterisk's for the same calls (target <= 1.0).
        "cpu_ratio_to_asterisk": cpu["receptionist"] / cpu["asterisk"]
        if cpu["asterisk"]
        else float("nan"),
        # Both per call: where a leg format moves work (resampling) into Asterisk.
        "system_cpu_pct_per_call": (cpu["receptionist"] + cpu["asterisk"]) / n,
        "load_avg_1m": load[0],
        "rig_cpu_pct": rig_cpu,
        "others_cpu_pct": others,
        "model_cpu_pct": cpu["model"],
        "driver_cpu_pct": cpu["driver"],
        "rss_mib": memory["VmRSS"] / 1024,
        "peak_rss_mib": memory["VmHWM"] / 1024,
        "mem_mib_per_call": (memory["VmHWM"] - idle_kib) / 1024 / n,  # peak, above idle
        "pacing_p50_ms": p50,
        "pacing_p99_ms": p99,
        "pacing_max_ms": float(errors.max()) if errors.size else float("nan"),
        "pacing_socket_p50_ms": socket_p50,
        "pacing_socket_p99_ms": socket_p99,
        "down_delivered_pct": down * 100,
        "up_delivered_pct": up * 100,
        "driver_late_ticks": ear.late_ticks,
        "passed": float(
            socket_p99 <= PACING_BOUND_MS
            and down >= DELIVERED_BOUND
            and (pipeline or up >= DELIVERED_BOUND)
        ),
    }


async def run(
    sandbox: SandboxInfo,
    levels: list[int],
    window_s: float,
    work: Path,
    profile: Path | None = None,
    instances: tuple[int, ...] = (1,),
    pipeline: bool = True,
    profiler: str = "py-spy",
    rig: Rig = DEFAULT_RIG,
) -> tuple[list[Figure], list[dict[str, float]]]:
    """Each level with one receptionist process, then with each other instance count;
    then (one process) with the pipeline model instead of Realtime."""
    rows: list[dict[str, float]] = []

    async def measure(n: int, count: int, with_pipeline: bool = False) -> dict[str, float]:
        kind = "-pipeline" if with_pipeline else ""
        where = work / f"capacity-{n}-x{count}{kind}"
        await asyncio.to_thread(where.mkdir, parents=True, exist_ok=True)
        out = profile and profile.with_name(f"{profile.stem}-{n}-x{count}{kind}{profile.suffix}")
        row = await run_level(
            sandbox, ari, n, window_s, where, out, count, with_pipeline, profiler, rig
        )
        rows.append(row)
        print(summary_line(row), flush=True)
        await asyncio.sleep(1.0)  # let Asterisk finish tearing the calls down
        return row

    async with AriClient(sandbox.ari_url, sandbox.ari_user, sandbox.ari_password) as ari:
        runs = [(count, False) for count in instances] + ([(1, True)] if pipeline else [])
        for count, with_pipeline in runs:
            for n in levels:
                await measure(n, count, with_pipeline)
            # Narrow down between the largest level within the bound and the next one above.
            for _ in range(SEARCH_STEPS):
                mine = [r for r in rows if r["instances"] == count
                        and bool(r["pipeline"]) == with_pipeline]  # fmt: skip
                passing = [int(r["calls"]) for r in mine if r["passed"]]
                failing = [int(r["calls"]) for r in mine if not r["passed"]]
                low = max(passing, default=0)
                high = min((n for n in failing if n > low), default=0)
                if not low or high - low <= SEARCH_RESOLUTION:
                    break
                await measure((low + high) // 2 // 5 * 5, count, with_pipeline)
    return figures(rows), rows


def _section(row: dict[str, float]) -> str:
    """capacity@N for one receptionist process, capacity@N/xI for I instances."""
    count = int(row.get("instances", 1))
    kind = "/pipeline" if row.get("pipeline") else ""
    return f"capacity@{int(row['calls'])}" + ("" if count == 1 else f"/x{count}") + kind


def summary_line(row: dict[str, float]) -> str:
    return (
        f"{_section(row)}: receptionist {row['receptionist_cpu_pct']:.1f}% "
        f"({row['cpu_pct_per_call']:.3f}%/call), Asterisk {row['asterisk_cpu_pct']:.1f}% "
        f"(ratio {row['cpu_ratio_to_asterisk']:.2f}; both {row['system_cpu_pct_per_call']:.3f}"
        "%/call), "
        f"{row['mem_mib_per_call']:.2f} MiB/call, "
        f"pacing p99 {row.get('pacing_socket_p99_ms', math.nan):.2f} ms "
        f"(as read {row['pacing_p99_ms']:.2f}), delivered "
        f"down {row['down_delivered_pct']:.2f}% up {row['up_delivered_pct']:.2f}%, "
        f"{_load_note(row)}" + ("" if row["passed"] else "  (over the bound)")
    )


def figures(rows: list[dict[str, float]]) -> list[Figure]:
    out: list[Figure] = []
    for row in rows:
        sec = _section(row)
        load = _load_note(row)
        out += [
            Figure(sec, "receptionist CPU per call", row["cpu_pct_per_call"], "% core", "<= 0.5"),
            Figure(sec, "receptionist CPU total", row["receptionist_cpu_pct"], "% core"),
            Figure(sec, "Asterisk CPU total", row["asterisk_cpu_pct"], "% core"),
            Figure(
                sec,
                "receptionist + Asterisk CPU per call",
                row["system_cpu_pct_per_call"],
                "% core",
            ),
            Figure(
                sec,
                "receptionist/Asterisk CPU",
                row["cpu_ratio_to_asterisk"],
                "x",
                "<= 1.0",
                note=load,
            ),
            Figure(sec, "peak memory per call", row["mem_mib_per_call"], "MiB", "<= 2"),
            Figure(
                sec,
                "pacing error p99",
                row.get("pacing_socket_p99_ms", math.nan),
                "ms",
                f"<= {PACING_BOUND_MS:g}",
            ),
            Figure(sec, "pacing error p99 as the driver read it", row["pacing_p99_ms"], "ms"),
            Figure(sec, "audio delivered down", row["down_delivered_pct"], "%", ">= 99.5"),
            Figure(sec, "audio delivered up", row["up_delivered_pct"], "%", ">= 99.5"),
        ]
    headline = uncontended(rows)
    if headline is not None:
        calls = int(headline["calls"])
        quiet = _quiet(headline)
        name = f"receptionist/Asterisk CPU, uncontended level ({calls} calls)"
        if not quiet:
            name = f"receptionist/Asterisk CPU at {calls} calls (no level was uncontended)"
        ratio = headline["cpu_ratio_to_asterisk"]
        out.insert(0, Figure("capacity", name, ratio, "x", "<= 1.0", note=_load_note(headline)))
    for count, kind in sorted({(int(r.get("instances", 1)), r.get("pipeline", 0.0)) for r in rows}):
        mine = sorted((r for r in rows if r.get("instances", 1) == count
                       and r.get("pipeline", 0.0) == kind), key=lambda r: r["calls"])  # fmt: skip
        best = 0.0
        for row in mine:  # the last level before a miss
            if not row["passed"]:
                break
            best = row["calls"]
        levels = ", ".join(str(int(r["calls"])) for r in mine)
        note = f"{os.cpu_count()} cores, levels {levels}"
        name = "max concurrent calls" + ("" if count == 1 else f" ({count} instances)")
        name += " (pipeline)" if kind else ""
        out.append(Figure("capacity", name, best, "calls", ">= 150", note=note))
    return out


def _load_note(row: dict[str, float]) -> str:
    others = row.get("others_cpu_pct", math.nan)
    return f"load avg {row['load_avg_1m']:.2f}, others {others:.0f}% of a core"


def _quiet(row: dict[str, float]) -> bool:
    """Whether nobody had to wait for a core: the rig and everything else together used at
    most half of the machine's cores during the window."""
    busy = row.get("rig_cpu_pct", math.inf) + row.get("others_cpu_pct", math.inf)
    return busy <= (os.cpu_count() or 1) * 100 / 2


def uncontended(rows: list[dict[str, float]]) -> dict[str, float] | None:
    """The headline level (one receptionist process, Realtime model): the largest whose
    window was quiet (see _quiet), where the CPU ratio is not flattered by everyone being
    starved of cores; if none was quiet, the smallest level (its figure then says so)."""
    single = sorted(
        (r for r in rows if r.get("instances", 1) == 1 and not r.get("pipeline")),
        key=lambda r: r["calls"],
    )
    quiet = [r for r in single if _quiet(r)]
    if quiet:
        return quiet[-1]
    return single[0] if single else None


def capacity_table(rows: list[dict[str, float]]) -> str:
    """One line per level, as published in the README."""
    lines = [
        "| model | calls | instances | receptionist CPU | per call | Asterisk CPU | ratio "
        "| model + callers CPU | memory/call | pacing p99 socket / read | delivered down / up "
        "| within bound | load avg | others |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r.get("pipeline", 0), r.get("instances", 1), r["calls"])):
        model = "pipeline" if r.get("pipeline") else "realtime"
        lines.append(
            f"| {model} | {int(r['calls'])} | {int(r.get('instances', 1))} | "
            f"{r['receptionist_cpu_pct']:.1f} % | "
            f"{r['cpu_pct_per_call']:.2f} % | {r['asterisk_cpu_pct']:.1f} % | "
            f"{r['cpu_ratio_to_asterisk']:.2f} | "
            f"{r['model_cpu_pct'] + r['driver_cpu_pct']:.1f} % | "
            f"{r['mem_mib_per_call']:.2f} MiB | "
            f"{r.get('pacing_socket_p99_ms', math.nan):.1f} / {r['pacing_p99_ms']:.1f} ms | "
            f"{r['down_delivered_pct']:.1f} / {r['up_delivered_pct']:.1f} % | "
            f"{'yes' if r['passed'] else 'no'} | {r['load_avg_1m']:.2f} | "
            f"{r.get('others_cpu_pct', math.nan):.0f} % |"
        )
    return "\n".join(lines)
