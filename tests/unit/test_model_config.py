"""The `model:` section: validation with file/field/reason, keys from env or files (never
in the file), and `config check --online` reaching each provider's endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from receptionist.business import ConfigError, load_business
from receptionist.business.model_choice import Pipeline
from receptionist.service.config_check import check_config
from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.realtime_server import FakeRealtimeServer
from tests.unit.conftest import MINIMAL


def pipeline_section(url: str, key_env: str = "RX_TEST_PIPELINE_KEY") -> dict[str, object]:
    end = {"base_url": url, "api_key_env": key_env}
    return {"provider": "pipeline", "transcription": {**end, "model": "whisper-1"},
            "chat": {**end, "model": "llama3.1"},
            "speech": {**end, "model": "tts-1", "voice": "alloy"}}  # fmt: skip


def write_business(directory: Path, model: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = {**yaml.safe_load(MINIMAL), "model": model}
    path = directory / "test-co.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_pipeline_section_loads(tmp_path: Path) -> None:
    path = write_business(tmp_path, pipeline_section("http://127.0.0.1:8000/v1"))
    business = load_business(path, env={})
    assert isinstance(business.model, Pipeline)
    assert business.model.silence_ms == 500 and business.model.speech.format == "pcm"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"provider": "gemini"}, "model", "provider"),
        ({"chat": {"model": "x"}}, "model.pipeline.chat.base_url", "required field is missing"),
        ({"silence_ms": 50}, "model.pipeline.silence_ms", "greater than or equal to 200"),
        ({"speech": {"base_url": "http://h/v1", "model": "t", "format": "mp3"}},
         "model.pipeline.speech.format", "'pcm' or 'wav'"),
    ],
)  # fmt: skip
def test_bad_sections_name_the_field_and_the_reason(
    tmp_path: Path, change: dict[str, object], field: str, reason: str
) -> None:
    path = write_business(tmp_path, {**pipeline_section("http://127.0.0.1:8000/v1"), **change})
    with pytest.raises(ConfigError) as error:
        load_business(path, env={})
    text = str(error.value)
    assert str(path) in text and field in text and reason in text, text


def test_config_check_names_a_key_that_cannot_be_read(tmp_path: Path) -> None:
    directory = tmp_path / "businesses"
    section = pipeline_section("http://127.0.0.1:8000/v1", "RX_TEST_NOT_SET")
    path = write_business(directory, section)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"businesses_dir: {directory}\n", encoding="utf-8")
    report = check_config(directory, settings, env={})
    fields = sorted(issue.field for issue in report.errors)
    assert fields == ["model.chat.api_key", "model.speech.api_key", "model.transcription.api_key"]
    assert all(issue.file == str(path) for issue in report.errors)
    assert "environment variable RX_TEST_NOT_SET is not set" in report.errors[0].reason
    # A key file instead: read at check time, and never printed.
    key_file = tmp_path / "key.txt"
    key_file.write_text("sk-secret-in-a-file\n", encoding="utf-8")
    end = {"base_url": "http://127.0.0.1:8000/v1", "api_key_file": str(key_file)}
    section = {"provider": "pipeline", "transcription": {**end, "model": "w"},
               "chat": {**end, "model": "c"}, "speech": {**end, "model": "s"}}  # fmt: skip
    write_business(directory, section)
    assert check_config(directory, settings, env={}).errors == []


async def check_online(directory: Path, env_extra: dict[str, str]) -> tuple[int, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTIONIST_")}
    env.pop("OPENAI_API_KEY", None)
    settings = directory.parent / "settings.yaml"
    settings.write_text(f"businesses_dir: {directory}\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "receptionist.cli", "config", "check", str(directory),
        "--settings", str(settings), "--online", "--json", stdout=asyncio.subprocess.PIPE,
        env={**env, **env_extra},
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, json.loads(out)


async def test_online_check_reaches_the_pipeline_endpoints(tmp_path: Path) -> None:
    directory = tmp_path / "businesses"
    async with FakePipelineServer(api_key="sk-pipe") as fake:
        write_business(directory, pipeline_section(fake.url))
        code, report = await check_online(directory, {"RX_TEST_PIPELINE_KEY": "sk-pipe"})
        assert code == 0, report
        [line] = report["models_reached"]  # type: ignore[misc]
        assert line.startswith("test-co: pipeline: transcription: reachable, 1 model(s)")
        assert "chat: reachable" in line and "speech: reachable" in line
        code, report = await check_online(directory, {"RX_TEST_PIPELINE_KEY": "sk-wrong"})
        [error] = report["errors"]  # type: ignore[misc]
        assert code == 1 and error["field"] == "model"
        assert "HTTP 401 (API key rejected)" in error["reason"]
        assert "sk-wrong" not in json.dumps(report)


async def test_online_check_opens_an_azure_session(tmp_path: Path) -> None:
    directory = tmp_path / "businesses"
    async with FakeRealtimeServer(api_key="az-key", azure=True) as fake:
        write_business(directory, {"provider": "azure-openai-realtime", "endpoint": fake.endpoint,
                                   "deployment": "rx", "api_key_env": "RX_TEST_AZ"})  # fmt: skip
        code, report = await check_online(directory, {"RX_TEST_AZ": "az-key"})
        assert code == 0, report
        assert report["models_reached"] == ["test-co: azure-openai-realtime: session opened"]
        assert fake.handshakes == [("/openai/v1/realtime", {"model": "rx"})]
