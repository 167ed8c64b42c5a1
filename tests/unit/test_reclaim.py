"""The call-row sweep that closes what a dead process (or a full disk) left open."""

from __future__ import annotations

from receptionist import call, reclaim
from receptionist.store import Store


def test_open_rows_no_running_call_owns_are_closed_with_the_reason() -> None:
    store = Store(":memory:")
    for call_id in ("dead-1", "dead-2", "live", "done"):
        store.start_call(call_id, "acme", "+15550001111", call_id)
    store.add_outcome("done", "completed")
    store.end_call("done")
    assert store.close_open_calls(frozenset({"live"}), reclaim.SERVICE_RESTART) == 2
    for call_id in ("dead-1", "dead-2"):
        record = store.get_call(call_id)
        assert record is not None and record.ended_at is not None
        assert record.outcomes == ("service_restart",)
    live, done = store.get_call("live"), store.get_call("done")
    assert live is not None and live.ended_at is None and live.outcomes == ()
    assert done is not None and done.outcomes == ("completed",)
    assert store.close_open_calls(frozenset({"live"}), reclaim.SERVICE_RESTART) == 0


def test_reclaim_knows_the_media_legs_by_the_prefix_the_call_flow_gives_them() -> None:
    assert reclaim.MEDIA_PREFIX == call.MEDIA_PREFIX
