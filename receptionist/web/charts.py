"""Bar charts drawn on the server as inline SVG: no script, no library, nothing to load.

Each chart is a picture of numbers the page also shows in a table beside it; the SVG is
named by the chart's heading for screen readers, and every bar carries its own value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP, RIGHT = 40, 30, 12, 8


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    css: str  # the bar's class (its colour in app.css)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    labelled_by: str, labels: Sequence[str], series: Sequence[Series], *, label_every: int = 1
) -> Markup:
    """Stacked bars, one per label; `labelled_by` is the id of the chart's heading."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels))
    bar_w = max(1.0, step * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(labelled_by)}" preserveAspectRatio="xMidYMid meet">'
    ]
    for fraction in (0.0, 0.5, 1.0):  # gridlines with their values
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/><text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_number(top * fraction)}</text>')  # fmt: skip
    for i, label in enumerate(labels):
        x = LEFT + i * step + (step - bar_w) / 2
        base = float(TOP + plot_h)
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(
                f'<rect class="bar {escape(s.css)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                f"{escape(s.name)} {_number(value)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{HEIGHT - 10}" '
                         f'text-anchor="middle">{escape(label)}</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))
