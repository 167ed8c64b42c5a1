"""/metrics speaks Prometheus' text format with conventional names: counters end in
`_total` and count fallbacks, transfers, messages and model errors by label."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from receptionist.ari import AriClient
from receptionist.core.counters import COUNTERS
from receptionist.service.app import ReceptionistApp
from receptionist.service.metrics import render
from receptionist.settings import Settings
from receptionist.store.log import AsyncStore

SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="(?:[^"\\]|\\.)*"\})? -?[0-9.]+$')


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ReceptionistApp]:
    store = AsyncStore(tmp_path / "r.db")
    ari = AriClient("http://127.0.0.1:8088", "receptionist", "pw")
    try:
        yield ReceptionistApp(Settings(), {}, store, ari, None)
    finally:
        await ari.close()
        await store.close()


def _samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            assert SAMPLE.match(line), line
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


async def test_counters_are_named_total_and_labelled(app: ReceptionistApp) -> None:
    before = _samples(render(app))
    COUNTERS.fallbacks["model_unavailable"] += 1
    COUNTERS.transfers["returned_noanswer"] += 1
    COUNTERS.messages_taken += 1
    COUNTERS.model_errors['odd"code'] += 1
    app.metrics.call_started()
    text = render(app)
    after = _samples(text)

    def grew(name: str) -> float:
        return after[name] - before.get(name, 0.0)

    assert grew('receptionist_fallbacks_total{reason="model_unavailable"}') == 1
    assert grew('receptionist_transfers_total{result="returned_noanswer"}') == 1
    assert grew("receptionist_messages_taken_total") == 1
    assert grew('receptionist_model_errors_total{code="odd\\"code"}') == 1
    assert grew("receptionist_calls_total") == 1
    for family in re.findall(r"^# TYPE (\S+) counter$", text, re.MULTILINE):
        assert family.endswith("_total"), family
    assert "_count " not in text.replace("_seconds_count ", "")
