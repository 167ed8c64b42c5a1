"""The callback desk's own rules, against the in-memory ARI fake: one callback at a time
per staff member, at most `per_hour` an hour, never a number that is not diallable, and
a desk phone nobody picks up closes the row with its own outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from receptionist.ari import AriClient, Channel
from receptionist.ari.models import parse_event
from receptionist.business.callbacks import Callbacks
from receptionist.call.callback import CallbackDesk, CallbackRefused, CallbackRequest
from receptionist.store.log import AsyncStore, Store
from tests.fakes.ari import FakeAri
from tests.waiting import eventually
from tests.web_site import make_businesses


class DialingAri(FakeAri):
    """The fake, plus originate: it records what would have been rung."""

    def __init__(self) -> None:
        super().__init__()
        self.endpoints["PJSIP/201"] = ("online", False)
        self.originated: list[str] = []

    async def originate(self, endpoint: str, **options: Any) -> Channel:
        self.originated.append(endpoint)
        return Channel(id=str(options["channel_id"]), name=endpoint, state="Down")


def _request(tmp_path: Path, number: str = "+15552345678") -> CallbackRequest:
    business = make_businesses(tmp_path / "businesses")["dental"]
    config = Callbacks(context="office-outbound", per_hour=2)
    return CallbackRequest(business.model_copy(update={"callbacks": config}), number, "ann", "201")


def _gone(channel_id: str) -> Any:
    return parse_event({"type": "ChannelDestroyed", "application": "rx", "cause": 19,
                        "cause_txt": "No answer", "channel": {"id": channel_id, "name": "x",
                                                              "state": "Ring"}})  # fmt: skip


async def test_one_at_a_time_then_the_hourly_limit(tmp_path: Path) -> None:
    ari, store = DialingAri(), AsyncStore(tmp_path / "r.db")
    desk = CallbackDesk(cast(AriClient, ari), "rx", store)
    request = _request(tmp_path)
    first = await desk.place(request)
    with pytest.raises(CallbackRefused, match="already calling someone back"):
        await desk.place(request)
    desk.on_event(_gone(first.staff))  # nobody picked up the desk phone
    await eventually(lambda: not desk.active)
    await desk.place(request)
    desk.on_event(_gone(f"{desk.rows().pop()}-desk"))
    await eventually(lambda: not desk.active)
    with pytest.raises(CallbackRefused, match="placed 2 callbacks in the last hour"):
        await desk.place(request)
    assert ari.originated == ["PJSIP/201", "PJSIP/201"]
    await desk.close()
    await store.close()
    reader = Store(tmp_path / "r.db")
    row = reader.get_call(first.id)
    assert row is not None and row.ended_at is not None
    assert row.outcomes == ("callback_desk_missed",) and row.direction == "callback"
    reader.close()


async def test_a_number_that_is_not_diallable_is_never_rung(tmp_path: Path) -> None:
    ari, store = DialingAri(), AsyncStore(tmp_path / "r.db")
    desk = CallbackDesk(cast(AriClient, ari), "rx", store)
    with pytest.raises(CallbackRefused, match="cannot be dialled"):
        await desk.place(_request(tmp_path, "+1555,PJSIP/999"))
    ari.endpoints["PJSIP/201"] = ("offline", False)
    with pytest.raises(CallbackRefused, match=r"Your desk phone \(201\) is offline"):
        await desk.place(_request(tmp_path))
    assert ari.originated == []
    await store.close()
