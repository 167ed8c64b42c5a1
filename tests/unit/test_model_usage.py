"""Every call records what its model used and an estimated cost at the configured list
prices: `calls show --json`, the `call.ended` document and `receptionist usage` carry it,
for a Realtime call and a pipeline call alike; other prices give another estimate."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from receptionist.business import load_businesses
from receptionist.business.model_choice import Prices
from receptionist.cli import main
from receptionist.delivery.outbox import PendingEvent
from receptionist.delivery.payload import build_payload
from receptionist.realtime.usage import Usage
from receptionist.settings import Settings
from receptionist.store.log import Store
from receptionist.store.usage import CallUsage, record_usage, usage_by_day, usage_of
from receptionist.store.users import Users
from tests.fakes.realtime_connection import FAKE_USAGE
from tests.fakes.realtime_server import Reply, Script
from tests.fakes.tones import tone as tone24
from tests.unit.store_backends import database_fixture, store_fixture  # noqa: F401 (fixtures)
from tests.unit.test_call_flow import SLUG
from tests.unit.test_call_flow_providers import rig
from tests.unit.test_web_access import login
from tests.web_site import FAST_HASH, PASSWORD, serving

GREETING = "Hello, Sunrise Dental."
PRICES: dict[str, dict[str, Any]] = {
    "openai-realtime": {"taken": "2026-12-01", "text_in_per_million": 4.0,
                        "cached_in_per_million": 0.4, "audio_in_per_million": 32.0,
                        "text_out_per_million": 16.0, "audio_out_per_million": 64.0},
    "pipeline": {"taken": "2026-12-01", "text_in_per_million": 0.15,
                 "text_out_per_million": 0.6, "transcription_per_minute": 0.003,
                 "speech_per_million_characters": 15.0},
}  # fmt: skip


async def one_call(tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch) -> str:
    script = Script(replies=[Reply(tone24(1000, 0.3), GREETING)])
    async with rig(tmp_path, provider, script, monkeypatch,
                   settings_extra={"prices": PRICES}) as r:  # fmt: skip
        call_id = r.call()
        phone = await r.phone(call_id)
        await r.turns(call_id, 1)  # the greeting played
        assert phone.audio
        r.ari.caller_hangs_up(call_id)
        await r.ended(call_id)
    return call_id


async def web_page(tmp_path: Path, path: str) -> str:
    """A page of the office web page, as the admin sees it."""
    store = Store(tmp_path / "receptionist.db")
    users = Users(store.sql, cost=FAST_HASH)
    if users.get("admin") is None:
        users.add("admin", PASSWORD, "admin")
    store.close()
    settings = Settings(database=tmp_path / "receptionist.db", recordings_dir=tmp_path)
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        serving(settings, load_businesses(tmp_path / "businesses")) as url,
        aiohttp.ClientSession(url, cookie_jar=jar) as http,
    ):
        await login(http, "admin")
        response = await http.get(path)
        assert response.status == 200
        return await response.text()


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("provider", ["openai-realtime", "pipeline"])
async def test_a_call_shows_its_usage_and_cost_everywhere(
    tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    call_id = await one_call(tmp_path, provider, monkeypatch)
    database = str(tmp_path / "receptionist.db")
    shown = cli_json(capsys, "calls", "show", call_id, "--json", "--db", database)
    model = shown["model"]
    assert model["provider"] == provider and model["prices_taken"] == "2026-12-01"
    used = model["usage"]
    prices = Prices.model_validate(PRICES[provider])
    if provider == "openai-realtime":  # one response.done: the fake's usage, once
        details = FAKE_USAGE["input_token_details"], FAKE_USAGE["output_token_details"]
        assert used["audio_out_tokens"] == details[1]["audio_tokens"]  # type: ignore[index]
        assert used["cached_in_tokens"] == details[0]["cached_tokens"]  # type: ignore[index]
    else:  # one chat completion (the fake counts 100 prompt tokens), one sentence spoken
        assert used["characters_synthesized"] == len(GREETING)
        assert used["text_in_tokens"] == 100
    assert model["cost"] == pytest.approx(prices.estimate(used)) and model["cost"] > 0
    store = Store(tmp_path / "receptionist.db")
    try:
        event = PendingEvent(1, "ev-1", "call.ended", SLUG, call_id, None, "now")
        document = build_payload(store, event, None)
    finally:
        store.close()
    assert document["call"]["model"]["estimated_cost"] == model["cost"]
    assert document["call"]["model"]["usage"] == used
    assert f"estimated cost {model['cost']:.4f} USD (prices of 2026-12-01)" in await web_page(
        tmp_path, f"/calls/{call_id}"
    )
    month = datetime.now(UTC).strftime("%Y-%m")
    # The usage page sums it as `receptionist usage` does: the day's line and the month's.
    page = await web_page(tmp_path, f"/usage?month={month}&business={SLUG}")
    day_line = f"<td>{provider}</td><td>1</td>"
    assert day_line in page and page.count(f"{model['cost']:.4f} USD") == 2
    summed = cli_json(capsys, "usage", "--business", SLUG, "--month", month, "--json",
                      "--db", database)  # fmt: skip
    [day] = summed["days"]
    assert day["provider"] == provider and day["calls"] == 1
    assert summed["total"]["cost"] == pytest.approx(model["cost"])


def test_other_prices_give_another_estimate() -> None:
    used = Usage(text_in_tokens=1000, audio_out_tokens=2000, seconds_transcribed=30).as_dict()
    cheap = Prices.model_validate({"taken": "2026-12-01", "audio_out_per_million": 20.0})
    dear = Prices.model_validate({"taken": "2026-12-07", "audio_out_per_million": 80.0,
                                  "transcription_per_minute": 0.006})  # fmt: skip
    assert cheap.estimate(used) == pytest.approx(0.04)
    assert dear.estimate(used) == pytest.approx(0.16 + 0.003)


def test_usage_is_kept_and_summed_by_day_on_both_engines(store: Store) -> None:
    day = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    for n, (provider, cost) in enumerate([("pipeline", 0.01), ("pipeline", 0.02),
                                          ("openai-realtime", 0.5)]):  # fmt: skip
        call_id = f"call-{n}"
        store.start_call(call_id, SLUG, "+15550001111", call_id, at=day)
        store.end_call(call_id, at=day.replace(minute=2))
        used = {"text_in_tokens": 100.0, "seconds_transcribed": 30.0}
        record_usage(store, CallUsage(call_id, provider, used, cost, "USD", "2026-12-01"))
    record_usage(
        store, CallUsage("call-0", "pipeline", {"text_in_tokens": 1.0}, 0.03, "USD", "2026-12-07")
    )  # written again: the last figures stand
    assert usage_of(store, "call-0") == CallUsage(
        "call-0", "pipeline", {"text_in_tokens": 1.0}, 0.03, "USD", "2026-12-07"
    )
    days = usage_by_day(store, SLUG, date(2026, 12, 1), date(2026, 12, 31))
    assert [(d.day, d.provider, d.calls, d.minutes) for d in days] == [
        ("2026-12-03", "openai-realtime", 1, 2.0), ("2026-12-03", "pipeline", 2, 4.0),
    ]  # fmt: skip
    assert days[1].cost == pytest.approx(0.05)
    assert days[1].usage == {"text_in_tokens": 101.0, "seconds_transcribed": 30.0}
    assert usage_by_day(store, SLUG, date(2026, 11, 1), date(2026, 11, 30)) == []
