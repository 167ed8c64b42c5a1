"""`python -m benchmarks.store_layers --quick`, run as docs/postgresql.md shows: finite
figures for both layers on both engines and a JSON summary (never asserted on speed)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from tests.unit.conftest import REPO


def test_store_layers_benchmark_reports_both_layers_on_both_engines() -> None:
    command = [sys.executable, "-m", "benchmarks.store_layers", "--quick"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    figures = {figure["name"]: figure["value"] for figure in summary["figures"]}
    for engine in ("sqlite", "postgresql"):
        for layer in ("sql.py", "SQLAlchemy Core"):
            assert f"{engine} {layer} write p50" in figures
    assert all(math.isfinite(value) and value > 0 for value in figures.values())
