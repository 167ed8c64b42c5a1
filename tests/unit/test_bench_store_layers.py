"""benchmarks/store_layers.py runs as docs/postgresql.md shows and reports finite figures
for both layers on both engines (never asserted on speed)."""

from __future__ import annotations

import math

from benchmarks import store_layers


def test_store_layers_benchmark_reports_both_layers_on_both_engines() -> None:
    figures = store_layers.run(quick=True)
    names = {figure.name for figure in figures}
    for engine in ("sqlite", "postgresql"):
        for layer in ("sql.py", "SQLAlchemy Core"):
            assert f"{engine} {layer} write p50" in names
    assert all(math.isfinite(figure.value) and figure.value > 0 for figure in figures)
