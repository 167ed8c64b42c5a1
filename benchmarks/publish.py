"""Render a benchmark summary (the JSON `python -m benchmarks --json` writes) as the
Markdown tables in docs/performance.md and the README.

    python -m benchmarks.publish summary.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.capacity import capacity_table
from benchmarks.report import Figure, table


def _figures(summary: dict[str, Any], section: str, *, targeted: bool = False) -> list[Figure]:
    out = []
    for f in summary["figures"]:
        if f["section"] == section and (f["target"] or not targeted):
            out.append(
                Figure(f["section"], f["name"], f["value"], f["unit"], f["target"], f["note"])
            )
    return out


def render(summary: dict[str, Any]) -> str:
    m = summary["machine"]
    parts = [
        f"Measured with `{summary['command']}` on {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}, Linux {m['kernel']}, "
        f"Asterisk {summary['raw'].get('asterisk', '?')}; {summary['seconds']:.0f} s in all.",
    ]
    if summary["raw"].get("capacity"):
        parts += ["### Capacity", capacity_table(summary["raw"]["capacity"])]
        parts.append(table(_figures(summary, "capacity")))
    for title, section, targeted in (
        ("Latency", "latency", False),
        ("Fidelity", "fidelity", True),
        ("Per frame", "micro", False),
    ):
        found = _figures(summary, section, targeted=targeted)
        if found:
            parts += [f"### {title}", table(found)]
    return "\n\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path)
    print(render(json.loads(parser.parse_args().summary.read_text())), end="")


if __name__ == "__main__":
    main()
