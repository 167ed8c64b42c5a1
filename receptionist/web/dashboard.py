"""A picture of the week: calls per day and hour, how they went, messages open and
handled, and how long handling took; per business, or for all a user may see.

The last seven days, counted in the business's timezone (for several businesses, the one
zone they share, else UTC, and the page says which). Each chart has its numbers in a
table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from receptionist.store.log import Store
from receptionist.store.week import (
    KINDS,
    WeekCall,
    WeekCost,
    WeekMessage,
    calls_between,
    costs_between,
    messages_between,
)
from receptionist.web.charts import Series, bar_chart
from receptionist.web.context import context, user
from receptionist.web.times import day_start

DAYS = 7


@dataclass
class Week:
    days: list[date]
    per_day: list[int]
    per_hour: list[int] = field(default_factory=lambda: [0] * 24)
    kinds: dict[str, int] = field(default_factory=dict)
    open: list[int] = field(default_factory=list)  # messages left that day, still new
    handled: list[int] = field(default_factory=list)  # ...and those handled since
    handle_minutes: list[float | None] = field(default_factory=list)  # mean, by day left
    mean_handle_minutes: float | None = None  # over every message handled
    cost: list[float] = field(default_factory=list)  # the model's estimated cost, by day
    currency: str | None = None  # None: no call this week has a cost


def summarise(
    calls: Sequence[WeekCall],
    messages: Sequence[WeekMessage],
    zone: tzinfo,
    days: list[date],
    costs: Sequence[WeekCost] = (),
) -> Week:
    """The week's figures, each call and message counted on its day in `zone`."""
    index = {day: i for i, day in enumerate(days)}
    week = Week(days, [0] * len(days), kinds={kind: 0 for kind, _ in KINDS})
    for call in calls:
        local = call.started_at.astimezone(zone)
        if local.date() not in index:
            continue
        week.per_day[index[local.date()]] += 1
        week.per_hour[local.hour] += 1
        week.kinds[call.kind] += 1
    week.open, week.handled = [0] * len(days), [0] * len(days)
    spent: list[list[float]] = [[] for _ in days]
    for message in messages:
        day = message.created_at.astimezone(zone).date()
        if day not in index:
            continue
        if message.handled_at is None:
            week.open[index[day]] += 1
        else:
            week.handled[index[day]] += 1
            spent[index[day]].append((message.handled_at - message.created_at).total_seconds())
    week.handle_minutes = [sum(s) / len(s) / 60 if s else None for s in spent]
    every = [seconds for day in spent for seconds in day]
    week.mean_handle_minutes = sum(every) / len(every) / 60 if every else None
    week.cost = [0.0] * len(days)
    for cost in costs:
        day = cost.started_at.astimezone(zone).date()
        if day in index:
            week.cost[index[day]] += cost.cost
            week.currency = week.currency or cost.currency or ""
    return week


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: Markup
    head: tuple[str, ...]
    rows: list[tuple[str, ...]]
    legend: tuple[tuple[str, str], ...] = ()  # (css class, name) when bars are stacked


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def charts(week: Week) -> list[Chart]:
    days = [d.strftime("%a %d") for d in week.days]
    hours = [f"{h:02d}" for h in range(24)]
    kinds = [label for _, label in KINDS]
    counts = [week.kinds[kind] for kind, _ in KINDS]
    handle = [m or 0.0 for m in week.handle_minutes]
    return [
        Chart("per-day", "Calls per day",
              bar_chart("per-day", days, [Series("calls", week.per_day, "calls")]),
              ("Day", "Calls"), [(d, str(n)) for d, n in zip(days, week.per_day, strict=True)]),
        Chart("per-hour", "Calls by hour of the day",
              bar_chart("per-hour", hours, [Series("calls", week.per_hour, "calls")],
                        label_every=3),
              ("Hour", "Calls"), [(h, str(n)) for h, n in zip(hours, week.per_hour, strict=True)
                                  if n]),
        Chart("outcomes", "How calls went",
              bar_chart("outcomes", [k.split()[0] for k in kinds],
                        [Series("calls", counts, "calls")]),
              ("Outcome", "Calls"), [(k, str(n)) for k, n in zip(kinds, counts, strict=True)]),
        Chart("messages", "Messages left: open and handled",
              bar_chart("messages", days, [Series("handled", week.handled, "handled"),
                                           Series("open", week.open, "open")]),
              ("Day", "Open", "Handled"),
              [(d, str(o), str(h)) for d, o, h in zip(days, week.open, week.handled,
                                                      strict=True)],
              (("open", "Open"), ("handled", "Handled"))),
        Chart("handle-time", "Average time to handle (minutes)",
              bar_chart("handle-time", days, [Series("minutes", handle, "minutes")]),
              ("Day left", "Minutes"),
              [(d, _minutes(m)) for d, m in zip(days, week.handle_minutes, strict=True)]),
        *_cost_chart(week, days),
    ]  # fmt: skip


def _cost_chart(week: Week, days: list[str]) -> list[Chart]:
    """Only once calls have a cost (prices configured for the model provider)."""
    if week.currency is None:
        return []
    title = f"Estimated model cost per day ({week.currency or 'no currency'})"
    svg = bar_chart("cost", days, [Series("cost", week.cost, "minutes")])
    rows: list[tuple[str, ...]] = [(d, f"{c:.2f}") for d, c in zip(days, week.cost, strict=True)]
    return [Chart("cost", title, svg, ("Day", "Cost"), rows)]


@aiohttp_jinja2.template("dashboard.html")
async def dashboard_page(request: web.Request) -> dict[str, Any]:
    me, ctx = user(request), context(request)
    mine = [slug for slug in sorted(ctx.businesses) if me.can_see(slug)]
    business = request.query.get("business", "")
    if business and business not in mine:
        raise web.HTTPNotFound()
    slugs = [business] if business else mine
    zone = ctx.zones.of(business) if business else ctx.zones.common(mine)
    today = datetime.now(zone).date()
    days = [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    start, end = day_start(days[0], zone), day_start(today, zone, end=True)

    def load(store: Store) -> tuple[list[WeekCall], list[WeekMessage], list[WeekCost]]:
        return (
            calls_between(store, slugs, start, end),
            messages_between(store, slugs, start, end),
            costs_between(store, slugs, start, end),
        )

    calls, messages, costs = await ctx.db.run(load)
    week = summarise(calls, messages, zone, days, costs)
    names = {slug: b.business.name for slug, b in ctx.businesses.items()}
    return {
        "charts": charts(week), "week": week, "business": business, "businesses": mine,
        "names": names, "zone": str(zone), "mean": _minutes(week.mean_handle_minutes),
        "total": sum(week.per_day),
    }  # fmt: skip
