"""Benchmark figures: one `Figure` per number, printed as a table and kept as JSON."""

from __future__ import annotations

import argparse
import json
import math
import platform
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Figure:
    """One measured number, with the target it is held to (if any).

    `target` is a bound such as "<= 80" or ">= 60"; `met` is None when there is no target.
    """

    section: str
    name: str
    value: float
    unit: str
    target: str | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.value):
            return None
        op, bound = self.target.split()
        return self.value <= float(bound) if op == "<=" else self.value >= float(bound)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "met": self.met}


def percentiles(values: Sequence[float], *qs: float) -> list[float]:
    """The given percentiles of `values` (NaN for an empty sample)."""
    if not values:
        return [math.nan for _ in qs]
    return [float(np.percentile(values, q)) for q in qs]


def table(figures: Iterable[Figure]) -> str:
    """A plain-text (and Markdown) table of the figures."""
    rows = ["| section | figure | value | target | |", "|---|---|---|---|---|"]
    for f in figures:
        value = "n/a" if math.isnan(f.value) else f"{f.value:.4g} {f.unit}".strip()
        mark = {True: "met", False: "MISSED", None: ""}[f.met]
        target = f"{f.target} {f.unit}".strip() if f.target else ""
        name = f"{f.name} ({f.note})" if f.note else f.name
        rows.append(f"| {f.section} | {name} | {value} | {target} | {mark} |")
    return "\n".join(rows)


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import os

    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def print_figures(bench: str, figures: list[Figure]) -> None:
    """The table, then one JSON line (for logs and scripts)."""
    print(table(figures))
    print(json.dumps({"bench": bench, "figures": [f.as_dict() for f in figures]}))


def standalone(bench: str, doc: str, run: Callable[[bool], list[Figure]], quick: str) -> None:
    """`python -m benchmarks.<module> [--quick]` for a module with a `run(quick)`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    print_figures(bench, run(parser.parse_args().quick))
