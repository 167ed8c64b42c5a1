"""The week's dashboard: every figure equals what the call log says, counted here from the
call log's own records (list_calls, outcomes, handoffs, messages) in the office's zone."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from receptionist.store.callbacks import open_callback
from receptionist.store.handoffs import add_handoff, handoffs_of, set_result
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.usage import CallUsage, record_usage, usage_of
from tests.unit.store_backends import database_fixture  # noqa: F401 (each test on both engines)
from tests.unit.test_web_access import client, login
from tests.web_site import make_site, serving

ZONE = ZoneInfo("America/New_York")  # the example business's
KIND_LABELS = {"receptionist": "Answered by the receptionist", "transferred":
               "Transferred and answered", "missed": "Missed", "voicemail": "Voicemail",
               "fallback": "Fallback"}  # fmt: skip


def _fill(store: Store, today: date) -> None:
    """A week of dental calls of every kind, at various local hours, plus ones that must
    not count: a callback staff placed, a call from before the week."""

    def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
        local = datetime.combine(today - timedelta(days=days_ago), datetime.min.time())
        return local.replace(hour=hour, minute=minute, tzinfo=ZONE).astimezone(UTC)

    for n, (days_ago, hour, kind) in enumerate([
        (0, 9, "receptionist"), (0, 9, "missed"), (1, 14, "transferred"), (1, 23, "fallback"),
        (2, 0, "voicemail"), (3, 10, "receptionist"), (4, 16, "transferred-missed"),
        (5, 11, "transfer-came-back"), (6, 8, "receptionist"), (9, 9, "receptionist"),
    ]):  # fmt: skip
        call_id, started = f"w{n}", at(days_ago, hour, 7)
        store.start_call(call_id, "dental", "+15550100000", call_id, at=started)
        if kind != "missed":
            store.mark_answered(call_id, at=started + timedelta(seconds=2))
            store.add_turn(call_id, "assistant", "Hello", 0, 900)
        outcomes = {"missed": ["caller_hangup"], "fallback": ["fallback", "model_unavailable"],
                    "voicemail": ["voicemail"], "transferred": ["transferred"],
                    "transferred-missed": ["transferred"],
                    "transfer-came-back": ["transferred", "transfer_failed", "message_taken"],
                    }.get(kind, ["completed"])  # fmt: skip
        for outcome in outcomes:
            store.add_outcome(call_id, outcome)
        if kind.startswith("transfer"):
            add_handoff(store, call_id, "transfer", "Billing", "PJSIP/202")
            set_result(
                store, call_id, "transfer", "answered" if kind == "transferred" else "missed"
            )
        store.end_call(call_id, at=started + timedelta(minutes=2))
    for call_id, cost in (("w0", 0.12), ("w3", 0.05), ("w5", 0.30), ("w9", 9.0)):
        record_usage(store, CallUsage(call_id, "openai", {"audio_in_tokens": 10}, cost, "USD",
                                      "2026-12-01"))  # fmt: skip
    open_callback(store, call_id="cb-1", business="dental", number="+15550100000",
                  channel_id="x", placed_by="staff-a", message_id=None)  # fmt: skip
    for n, (days_ago, handled_after) in enumerate([(0, None), (0, 30), (2, 90), (3, None)]):
        created = at(days_ago, 12)
        mid = store.add_message(f"w{n}", "dental", f"Caller {n}", "+15550100001", "hi", at=created)
        if handled_after is not None:
            handled = (created + timedelta(minutes=handled_after)).isoformat()
            store.sql.execute("UPDATE messages SET status = 'handled', handled_at = ? WHERE id = ?",
                             [handled, mid])  # fmt: skip


def _kind(outcomes: tuple[str, ...], transfer: str | None, turns: int) -> str:
    if "fallback" in outcomes:
        return "fallback"
    if "voicemail" in outcomes:
        return "voicemail"
    if "transferred" in outcomes and transfer == "answered":
        return "transferred"
    if "transferred" in outcomes and "transfer_failed" not in outcomes and transfer == "missed":
        return "missed"
    return "receptionist" if turns else "missed"


def _table(page: str, table_id: str) -> dict[str, list[str]]:
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><th scope=\"row\">([^<]*)</th>(.*?)</tr>", body)
    return {label: re.findall(r"<td>([^<]*)</td>", cells) for label, cells in rows}


async def test_the_weeks_figures_equal_the_call_log(
    tmp_path: Path, database: Path | PostgresUrl
) -> None:
    site = make_site(tmp_path, database=database)
    today = datetime.now(ZONE).date()
    store = Store(site.database)
    _fill(store, today)
    days = [today - timedelta(days=6 - n) for n in range(7)]
    # From the call log: inbound dental calls of the last seven days, in the office's zone.
    calls = [c for c in store.list_calls(business="dental", limit=10_000)
             if c.direction is None and c.started_at.astimezone(ZONE).date() in days]  # fmt: skip
    per_day = Counter(c.started_at.astimezone(ZONE).date() for c in calls)
    per_hour = Counter(c.started_at.astimezone(ZONE).hour for c in calls)
    kinds = Counter(
        _kind(c.outcomes, next((h.result for h in reversed(handoffs_of(store, c.id))
                                if h.kind == "transfer"), None), c.turn_count)
        for c in calls
    )  # fmt: skip
    messages = [m for m in store.list_messages(business="dental", limit=10_000)
                if m.created_at.astimezone(ZONE).date() in days]  # fmt: skip
    handled = [m for m in messages if m.handled_at]
    cost = Counter[date]()
    for c in calls:
        if (used := usage_of(store, c.id)) is not None and used.cost is not None:
            cost[c.started_at.astimezone(ZONE).date()] += used.cost
    store.close()
    assert len(calls) == 10 and kinds["missed"] == 2 and len(handled) == 2  # the set-up

    async with serving(site.settings, site.businesses) as url, client(url) as http:
        await login(http, "staff-a")
        page = await (await http.get("/week?business=dental")).text()
        assert (await http.get("/week?business=plumbing")).status == 404
        everything = await (await http.get("/week")).text()  # staff-a's businesses: dental

    day_rows = _table(page, "per-day-table")
    assert [int(v[0]) for v in day_rows.values()] == [per_day[d] for d in days]
    assert list(day_rows) == [d.strftime("%a %d") for d in days]
    assert {int(h): int(v[0]) for h, v in _table(page, "per-hour-table").items()} == per_hour
    outcome_rows = _table(page, "outcomes-table")
    assert {label: int(v[0]) for label, v in outcome_rows.items()} == {
        KIND_LABELS[k]: kinds[k] for k in KIND_LABELS
    }
    message_rows = _table(page, "messages-table")
    for day in days:
        mine = [m for m in messages if m.created_at.astimezone(ZONE).date() == day]
        open_count = sum(1 for m in mine if m.handled_at is None)
        assert message_rows[day.strftime("%a %d")] == [str(open_count), str(len(mine) - open_count)]
    spent = [(m.handled_at - m.created_at).total_seconds() / 60 for m in handled if m.handled_at]
    assert f'<span id="mean-handle">{sum(spent) / len(spent):.1f}</span>' in page
    assert f'<span id="total-calls">{len(calls)}</span>' in page
    assert "America/New_York" in page
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert main.count('<svg class="chart"') == 6 and "<script" not in main  # drawn server-side
    cost_rows = _table(page, "cost-table")
    assert {d: float(v[0]) for d, v in cost_rows.items()} == {
        d.strftime("%a %d"): round(cost[d], 2) for d in days
    }
    assert "Estimated model cost per day (USD)" in page
    assert _table(everything, "per-day-table") == day_rows
