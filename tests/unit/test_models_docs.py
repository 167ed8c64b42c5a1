"""Each example `model:` section in docs/models.md loads, and a call made with it (its
URLs pointed at the test fakes, its keys set in the environment it names) is answered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.realtime_server import FakeRealtimeServer, Reply, Script
from tests.fakes.tones import tone as tone24
from tests.unit.conftest import REPO
from tests.unit.test_call_flow import tone_ms
from tests.unit.test_call_flow_providers import KEY, rig

DOC = (REPO / "docs" / "models.md").read_text()
EXAMPLES = [yaml.safe_load(block)["model"] for block in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]


def test_there_is_an_example_per_provider() -> None:
    assert {e["provider"] for e in EXAMPLES} == {
        "openai-realtime", "azure-openai-realtime", "pipeline",
    }  # fmt: skip


def _pointed_at_fakes(
    example: dict[str, Any],
    realtime: FakeRealtimeServer | None,
    pipeline: FakePipelineServer | None,
) -> dict[str, Any]:
    section = yaml.safe_load(yaml.safe_dump(example))  # a deep copy
    if section["provider"] == "azure-openai-realtime":
        assert realtime is not None
        section["endpoint"] = realtime.endpoint
    elif section["provider"] == "pipeline":
        assert pipeline is not None
        for part in ("transcription", "chat", "speech"):
            section[part]["base_url"] = pipeline.url
    return section


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e['provider']}")
async def test_a_call_with_the_example_is_answered(
    example: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {part.get("api_key_env") for part in [example, *example.values()]
            if isinstance(part, dict)} - {None}  # fmt: skip
    for name in keys:
        monkeypatch.setenv(str(name), KEY)
    provider = {"azure-openai-realtime": "azure-v1"}.get(example["provider"], example["provider"])
    script = Script(replies=[Reply(tone24(1000, 0.3), "Hello, Sunrise Dental.")])
    async with rig(tmp_path, provider, script, monkeypatch,
                   section_for=lambda rt, pl: _pointed_at_fakes(example, rt, pl)) as r:  # fmt: skip
        if r.pipeline is not None and not keys:
            r.pipeline.api_key = None  # the local servers ask for no key
        call_id = r.call()
        phone = await r.phone(call_id)
        await phone.wait_heard(lambda audio: tone_ms(audio, 1000) >= 280)
        r.ari.caller_hangs_up(call_id)
        await r.ended(call_id)
        assert r.invalid() == []
