"""Python function calls per call per 20 ms frame, by stage: a figure that does not move
with the machine's load, unlike CPU time.

    python -m benchmarks.call_count [--calls 5] [--seconds 4] [--top 30]

Runs benchmarks.bridge_e2e (real sockets; simulated Asterisk legs and the fake model in
other processes; the call's real audio code here, on uvloop) with a sys.setprofile hook
that counts every Python and C function call and files it under the stage of
benchmarks.profiling.STAGES its stack belongs to. The hook slows this process down a
lot: few calls keep it within real time, so reads still carry one frame each.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
from types import CodeType, FrameType
from typing import Any

from benchmarks.bridge_e2e import end_to_end_us
from benchmarks.profiling import LOOP, OTHER, _matches, _order


class Counter:
    """The profile hook: calls by stage, and by function."""

    def __init__(self) -> None:
        self.stages: collections.Counter[str] = collections.Counter()
        self.functions: collections.Counter[str] = collections.Counter()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            name = frame.f_code.co_qualname
        elif event == "c_call":
            name = "C " + str(getattr(arg, "__qualname__", arg))
        else:
            return
        self.functions[name] += 1
        self.stages[_stage_of(frame)] += 1


_STAGE_OF_CODE: dict[CodeType, str | None] = {}


def _stage_of(frame: FrameType | None) -> str:
    depth = 0
    while frame is not None:
        code = frame.f_code
        found = _STAGE_OF_CODE.get(code, "")
        if found == "":  # not seen yet: match its name once
            found = _STAGE_OF_CODE[code] = _matches(code.co_qualname)
        if found:
            return found
        frame, depth = frame.f_back, depth + 1
    return LOOP if depth <= 2 else OTHER


async def count(calls: int, seconds: float) -> Counter:
    counter = Counter()
    await end_to_end_us(calls, seconds, counter)
    return counter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--top", type=int, default=0, help="also list the N most called")
    args = parser.parse_args(argv)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        counter = runner.run(count(args.calls, args.seconds))
    frames = args.calls * args.seconds * 50
    print("| stage | calls per frame |\n|---|---:|")
    for stage in _order():
        print(f"| {stage} | {counter.stages[stage] / frames:.1f} |")
    print(f"| all | {sum(counter.stages.values()) / frames:.1f} |")
    for name, n in counter.functions.most_common(args.top):
        print(f"{n / frames:8.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
