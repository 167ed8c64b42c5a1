"""The benchmark harness still works end to end (a few seconds, 2 calls, 3 turns).

What is asserted is that calls were placed and audio flowed both ways through the real
Asterisk; never how fast: speed is for `python -m benchmarks` to report, not to gate.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.benchmark  # runs the benchmark code; asserts figures exist, never speed


def test_quick_benchmark_run_measures_calls_and_turns(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "turns,capacity,failover",
         "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(out.read_text())
    figures = {(f["section"], f["name"]): f for f in summary["figures"]}
    assert "| capacity@2 | receptionist CPU per call" in done.stdout  # the printed table

    level, pipeline = sorted(summary["raw"]["capacity"], key=lambda row: row["pipeline"])
    assert level["calls"] == level["up"] == 2
    # Audio flowed both ways for the whole window, and the receptionist did the work.
    assert level["down_delivered_pct"] > 90
    assert level["up_delivered_pct"] > 90
    assert level["receptionist_cpu_pct"] > 0
    assert figures[("capacity", "max concurrent calls")]["note"].endswith("levels 2")
    # The same with the pipeline model: its calls were up and heard their greeting whole
    # (its caller audio goes up one turn at a time, so there is no "up" figure).
    assert pipeline["pipeline"] == 1.0 and pipeline["calls"] == pipeline["up"] == 2
    assert pipeline["down_delivered_pct"] > 90 and pipeline["receptionist_cpu_pct"] > 0
    assert "| capacity@2/pipeline | receptionist CPU per call" in done.stdout

    # Two instances, one killed with SIGKILL: the calls placed after it are answered by the
    # other one; the killed instance's calls are accounted for.
    failover = summary["raw"]["failover"]
    assert failover["calls"] == 4 and failover["on_killed"] + failover["on_survivor"] == 4
    assert failover["new_answered"] == failover["new_by_survivor"] == failover["new_calls"]
    assert failover["new_fallbacks"] == 0
    assert sum(failover["killed_fates"].values()) == failover["on_killed"]

    turns = summary["raw"]["turns"]
    assert len(turns["voice_to_voice_s"]) == 3 and len(turns["barge_in_s"]) == 2
    # Every reply came after the caller stopped and the model's silence window had passed.
    assert all(v > turns["vad_silence_ms"] / 1000 for v in turns["voice_to_voice_s"])
    for name in ("added latency p95", "barge-in stop p95", "greeting p95"):
        assert math.isfinite(figures[("latency", name)]["value"])
