"""Where the receptionist's CPU goes during a capacity window, per stage.

    python -m benchmarks --only capacity --levels 50 --instances 1 --profile p.data --profiler perf
    python -m benchmarks.profiling p-50-x1.data --calls 50 --seconds 20

Three recorders, each attached to the running receptionist for the measured window:

- `perf` (Linux's sampler, on CPU time only): how the CPU divides between the kernel,
  the interpreter, the event loop (uvloop), soxr, webrtcvad and the rest, and which
  kernel paths cost most. It cannot name Python functions (Python 3.11 has no perf map).
- `py-spy` (speedscope JSON): which Python code runs, grouped into the per-frame stages
  below. Its samples include time spent runnable but waiting for a core, so on a busy
  machine they overstate what sits at the top of the loop.
- `syscalls` (`perf stat` on the kernel's syscall tracepoints): system calls per call
  per 20 ms frame, by name, without slowing the process down.
- `strace -c`: the same with times, but ptrace stops the process at every call: at 50
  calls it falls behind, so its counts are per frame handled, not per frame due.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import subprocess
import sys
from pathlib import Path

PROFILERS = ("py-spy", "perf", "syscalls", "strace")
# Counted by `syscalls` (perf stat on the kernel's tracepoints: no slowdown to speak of).
SYSCALLS = ("read", "write", "writev", "sendto", "recvfrom", "epoll_wait", "epoll_pwait",
            "getpid", "getrandom", "futex")  # fmt: skip
FRAME_S = 0.02

# Python stages: walking a stack from its leaf outwards, the first function that starts
# with one of these names decides (so the deepest named step wins: the resampler called
# from the caller's frame handler counts there, not as "read"). Table order follows the
# per-frame path.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("caller <- Asterisk: read and decode", (
        "AudioSocketConnection._read_loop", "AudioSocketConnection._run",
        "AudioSocketConnection._handle", "AudioSocketConnection._deliver",
        "AudioSocketConnection.data_received", "AudioSocketServer.", "Decoder.",
        "StreamReader", "LegProtocol.",
    )),
    ("caller -> model: VAD", ("SpeechDetector.",)),
    ("caller -> model: frame handler and resample", ("pump_caller_audio",)),
    ("caller -> model: websocket send", (
        "RealtimeSession.send_audio", "RealtimeSession._send_loop", "append_audio",
        "write_now",
    )),
    ("model -> caller: websocket receive and parse", (
        "RealtimeSession._recv_loop", "RealtimeSession._dispatch", "parse_server_event",
        "InboundTranslator.", "Connection.data_received", "AsyncRealtimeConnection.",
    )),
    ("model -> caller: turn logic", ("Conversation.run", "Conversation.feed", "Turns.",
                                     "RealtimeSession.next_event", "RealtimeSession.events")),
    ("model -> caller: resample and queue", ("Conversation._do", "PacedWriter.write")),
    ("playout -> Asterisk: paced send", (
        "PlayoutClock.", "PacedWriter.pump", "PacedWriter._send", "PacedWriter.run",
        "AudioSocketConnection.send_audio", "Call._open_leg.<locals>.send", "encode_audio",
    )),
)  # fmt: skip
OTHER = "other Python (logging, store, timers)"
LOOP = "event loop and system calls (no Python frame)"


def record(kind: str, pid: int, seconds: float, out: Path) -> list[str]:
    """The command that records `pid` for `seconds` into `out` with profiler `kind`."""
    beside = Path(sys.executable).with_name("py-spy")  # installed in the same venv
    window = str(round(seconds))
    if kind == "py-spy":
        exe = str(beside) if beside.exists() else "py-spy"
        return [exe, "record", "--nonblocking", "--pid", str(pid), "--duration", window,
                "--rate", "250", "--output", str(out), "--format", "speedscope"]  # fmt: skip
    if kind == "perf":
        return ["perf", "record", "-F", "499", "-g", "-p", str(pid), "-o", str(out), "--",
                "sleep", window]  # fmt: skip
    if kind == "syscalls":
        events = ",".join(
            ["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{n}" for n in SYSCALLS]
        )
        return ["perf", "stat", "-x,", "-o", str(out), "-e", events, "-p", str(pid), "--",
                "sleep", window]  # fmt: skip
    if kind == "strace":
        return ["timeout", "-s", "INT", window, "strace", "-c", "-f", "-p", str(pid), "-o",
                str(out)]  # fmt: skip
    raise ValueError(f"unknown profiler {kind!r} (one of {', '.join(PROFILERS)})")


async def attach(kind: str, pid: int, seconds: float, out: Path) -> None:
    """Record the receptionist for the window (returns when the window is over)."""
    process = await asyncio.create_subprocess_exec(
        *record(kind, pid, seconds, out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await process.wait()


# -- summaries ------------------------------------------------------------------------


def pyspy_stages(path: Path) -> dict[str, float]:
    """Share of samples per stage (fractions summing to 1)."""
    data = json.loads(path.read_text())
    names = [frame["name"] for frame in data["shared"]["frames"]]
    totals: collections.Counter[str] = collections.Counter()
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            totals[_stage([names[i] for i in reversed(stack)])] += weight
    whole = sum(totals.values()) or 1.0
    return {stage: totals[stage] / whole for stage in _order()}


def _stage(stack: list[str]) -> str:
    """The stage of one stack, given leaf first (speedscope lists the root first)."""
    if len(stack) <= 8 and not any(_matches(name) for name in stack):
        return LOOP
    for name in stack:
        found = _matches(name)
        if found:
            return found
    return OTHER


def _matches(name: str) -> str | None:
    for stage, prefixes in STAGES:
        if any(name.startswith(p) for p in prefixes):
            return stage
    return None


def _order() -> list[str]:
    return [stage for stage, _ in STAGES] + [OTHER, LOOP]


def perf_shares(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Self time per shared object, and per kernel symbol (fractions of all samples)."""
    dsos = _perf_report(path, "dso")
    symbols = _perf_report(path, "sym", "--dsos", "[kernel.kallsyms]")
    kernel = dsos.get("[kernel.kallsyms]", 0.0)
    return dsos, {sym: share * kernel for sym, share in symbols.items()}


def _perf_report(path: Path, sort: str, *extra: str) -> dict[str, float]:
    text = subprocess.run(
        ["perf", "report", "-i", str(path), "--stdio", "--no-children", "-g", "none",
         "--sort", sort, "--percent-limit", "0.5", *extra],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    shares: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"\s+([\d.]+)%\s+(?:\[[k.]\]\s+)?(.+?)\s*$", line)
        if match:
            shares[match.group(2)] = float(match.group(1)) / 100
    return shares


def syscalls_per_frame(path: Path, calls: int, seconds: float) -> dict[str, float]:
    """System calls per call per 20 ms frame, by name ("all" for every kind)."""
    frames = calls * seconds / FRAME_S
    counts: dict[str, float] = {}
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0].isdigit():
            name = parts[2].removeprefix("syscalls:sys_enter_")
            counts["all" if name.startswith("raw_syscalls") else name] = int(parts[0]) / frames
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def strace_per_frame(path: Path, calls: int, seconds: float) -> dict[str, float]:
    """System calls per call per 20 ms frame, by name, from `strace -c`."""
    frames = calls * seconds / FRAME_S
    counts: dict[str, float] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            counts[parts[-1]] = int(parts[3]) / frames
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "file", type=Path, help="a .json (py-spy), .data (perf), .csv (syscalls) or strace file"
    )
    parser.add_argument("--calls", type=int, default=50, help="calls up during the window")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the window")
    args = parser.parse_args(argv)
    if args.file.suffix == ".json":
        for stage, share in pyspy_stages(args.file).items():
            print(f"| {stage} | {share * 100:.1f} % |")
    elif args.file.suffix == ".data":
        dsos, kernel = perf_shares(args.file)
        for dso, share in dsos.items():
            print(f"| {dso} | {share * 100:.1f} % |")
        print()
        for sym, share in list(kernel.items())[:15]:
            print(f"| kernel: {sym} | {share * 100:.1f} % |")
    else:
        count_file = syscalls_per_frame if args.file.suffix == ".csv" else strace_per_frame
        for name, count in count_file(args.file, args.calls, args.seconds).items():
            print(f"| {name} | {count:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
