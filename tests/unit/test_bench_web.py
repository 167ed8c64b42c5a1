"""The web page benchmark runs on a small call log and reports finite figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import web

pytestmark = pytest.mark.benchmark  # runs the benchmark code; asserts figures exist, never speed


def test_web_benchmark_reports_server_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "web.json"
    argv = ["--messages", "300", "--minutes", "2", "--repeat", "2", "--logins", "2",
            "--json", str(out)]  # fmt: skip
    assert web.main(argv) == 0
    figures = {f["name"]: f["value"] for f in json.loads(out.read_text())["figures"]}
    assert "inbox, 300 messages: server time p50" in figures
    assert "call page, 2-minute transcript: server time p95" in figures
    assert "inbox with 2 wrong-password logins in flight: round trip p95" in figures
    assert all(math.isfinite(value) and value > 0 for value in figures.values())
    assert "| web | inbox, 300 messages: server time p50" in capsys.readouterr().out
