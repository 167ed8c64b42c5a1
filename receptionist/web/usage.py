"""The usage page: what each business's calls cost in model use, per day and for the
month, the same sums as `receptionist usage` (store/usage.py), for the businesses the
signed-in user may see."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from receptionist.store.log import Store
from receptionist.store.usage import DayUsage, month_days, month_total, usage_by_day
from receptionist.web.context import context, user


def _month(text: str, errors: list[str]) -> date:
    today = datetime.now(UTC).date()
    if not text:
        return today
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        errors.append(f"'{text[:20]}' is not a month (YYYY-MM): this month is shown.")
        return today


@aiohttp_jinja2.template("usage.html")
async def usage_page(request: web.Request) -> dict[str, Any]:
    me = user(request)
    ctx = context(request)
    errors: list[str] = []
    first, last = month_days(_month(request.query.get("month", ""), errors))
    chosen = request.query.get("business", "")
    if chosen and not me.can_see(chosen):
        raise web.HTTPNotFound()  # a business this user may not see does not exist for them
    slugs = [chosen] if chosen else [s for s in sorted(ctx.businesses) if me.can_see(s)]

    def load(store: Store) -> dict[str, list[DayUsage]]:
        return {slug: usage_by_day(store, slug, first, last) for slug in slugs}

    found = await ctx.db.run(load)
    names = {slug: b.business.name for slug, b in ctx.businesses.items()}
    return {
        "month": first.strftime("%Y-%m"),
        "errors": errors,
        "businesses": [
            {"slug": s, "name": names.get(s, s), "days": days, "total": month_total(days)}
            for s, days in found.items()
        ],
    }
