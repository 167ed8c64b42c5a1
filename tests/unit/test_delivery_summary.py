"""call.ended carries a summary: from a text model (a local fake checked against the
openai SDK's types) when configured; from outcomes when the model fails or is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from receptionist.store.log import Store
from tests.fakes.chat_server import FakeChatServer
from tests.fakes.receivers import WebhookReceiver
from tests.unit.delivery_helpers import make_business, running_worker
from tests.waiting import eventually


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMARY_KEY", "sk-test-summary")


def _call(store: Store) -> None:
    store.start_call("call-1", "test-co", "+15551230000", None)
    store.add_turn("call-1", "caller", "Hi, I have a question about my bill.", 0, 2000)
    store.add_message("call-1", "test-co", "Jane Doe", "+15552345678", "Bill question")
    store.add_outcome("call-1", "message_taken")
    store.end_call("call-1")


@pytest.mark.parametrize("status", [200, 500])
async def test_call_ended_summary_from_the_model_or_from_outcomes(
    tmp_path: Path, status: int
) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    async with FakeChatServer(status=status) as model, WebhookReceiver() as hook:
        summary = {"model": "gpt-test-mini", "base_url": model.url,
                   "api_key": {"env": "SUMMARY_KEY"}}  # fmt: skip
        channel = {"type": "webhook", "url": hook.url, "events": ["call.ended"]}
        business = make_business(tmp_path, [channel], summary=summary)
        async with running_worker(db, {"test-co": business}):
            _call(store)
            await eventually(lambda: len(hook.accepted()) == 1)
    assert model.invalid == []
    [request] = model.requests
    assert request["model"] == "gpt-test-mini"
    assert "Bill question" in request["messages"][1]["content"]
    body = hook.requests[0].json
    assert body["type"] == "call.ended" and body["call"]["outcomes"] == ["message_taken"]
    if status == 200:
        assert body["summary"] == {"text": model.reply, "source": "model"}
    else:  # a failing model never holds the notification back
        assert body["summary"]["source"] == "outcomes"
        assert body["summary"]["text"].startswith("Jane Doe called (+15552345678).")
    assert body["transcript_excerpt"][0]["text"] == "Hi, I have a question about my bill."
    store.close()
