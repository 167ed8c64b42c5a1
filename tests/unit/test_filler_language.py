"""The late-reply filler in the call's language, through the call flow (fake ARI, real
AudioSocket leg, fake model that never speaks): a Spanish line hears "Un momento."."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from receptionist.audio.filler import filler_pcm
from receptionist.turns.events import TurnLimits
from tests.fakes.realtime_script import SilentModel
from tests.unit import test_call_flow as flow


@pytest.mark.parametrize(("languages", "heard", "not_heard"), [
    (["Spanish"], "es", "en"),
    (["English", "Spanish"], "en", "es"),  # several, none chosen: the first one's
])  # fmt: skip
async def test_the_filler_is_said_in_the_call_language(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    languages: list[str],
    heard: str,
    not_heard: str,
) -> None:
    write = flow._business

    def business(directory: Path, *, recording: bool) -> None:
        write(directory, recording=recording)
        path = directory / f"{flow.SLUG}.yaml"
        data = yaml.safe_load(path.read_text())
        data["languages"] = languages
        path.write_text(yaml.safe_dump(data))

    monkeypatch.setattr(flow, "_business", business)
    limits = TurnLimits(filler_after_ms=300, fallback_after_ms=1500)
    async with flow.rig(tmp_path, SilentModel(), limits=limits) as r:
        call_id = r.call()
        phone = await r.phone(call_id)
        await r.ended(call_id)
    # The filler's first 0.4 s, sample for sample, among what the caller heard.
    assert filler_pcm(flow.RATE, heard)[:12800] in phone.audio
    assert filler_pcm(flow.RATE, not_heard)[:12800] not in phone.audio
