"""Turns: greeting, voice-to-voice latency and barge-in, timed at the caller's ear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.report import Figure
from receptionist.sandbox import SandboxInfo


async def run(
    sandbox: SandboxInfo, turns: int, think_ms: float, work: Path
) -> tuple[list[Figure], dict[str, Any]]:
    return [], {}
