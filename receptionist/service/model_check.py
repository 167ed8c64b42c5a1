"""`config check` for the model each business uses: offline, that each key it names can
be read; with --online, that each endpoint answers (a Realtime session is opened and
closed; the pipeline's three endpoints are listed), saying what was found."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from openai import AsyncOpenAI

from receptionist.business.loader import ConfigIssue
from receptionist.business.model_choice import AzureRealtime, ModelChoice, OpenAIRealtime, Pipeline
from receptionist.business.models import Business
from receptionist.model.pipeline.endpoints import probe
from receptionist.realtime import RealtimeUnavailable, SessionConfig
from receptionist.service.model_factory import choice_for, pipeline_config, session_factory
from receptionist.settings import Settings

_PROBE_TIMEOUT_S = 10.0


def _keys(choice: ModelChoice, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field path, problem) for each key the choice names that cannot be read."""
    parts: list[tuple[str, object]] = [("model", choice)]
    if isinstance(choice, Pipeline):
        parts = [(f"model.{name}", getattr(choice, name))
                 for name in ("transcription", "chat", "speech")]  # fmt: skip
    problems = []
    for where, part in parts:
        try:
            key = part.api_key(env)  # type: ignore[attr-defined]
        except ValueError as exc:
            problems.append((f"{where}.api_key", str(exc)))
            continue
        if key is None and isinstance(part, AzureRealtime):
            problems.append((f"{where}.api_key", "Azure needs api_key_env or api_key_file"))
    return problems


def model_issues(
    settings: Settings, businesses: Mapping[str, Business], files: Mapping[str, str],
    env: Mapping[str, str],
) -> tuple[list[ConfigIssue], list[str]]:  # fmt: skip
    """Errors (a key that cannot be read) and warnings (calls that will fall back)."""
    errors: list[ConfigIssue] = []
    warnings: list[str] = []
    for slug, business in sorted(businesses.items()):
        choice = choice_for(settings, business)
        where = files.get(slug, slug) if business.model else "settings"
        for field, problem in _keys(choice, env):
            errors.append(ConfigIssue(where, field, problem))
        uses_default_key = choice.provider == "openai-realtime" and not (
            choice.api_key_env or choice.api_key_file
        )
        if uses_default_key and settings.realtime_api_key is None:
            warnings.append(f"{slug}: no realtime API key (realtime_api_key or OPENAI_API_KEY): "
                            "its calls will go to the dialplan fallback")  # fmt: skip
    return errors, warnings


async def reach_models(settings: Settings, businesses: Mapping[str, Business]) -> list[str]:
    """Reach each business's model once; what each said (RealtimeUnavailable -> a line
    starting with "unreachable")."""
    factory = session_factory(settings, businesses.values())
    found: list[str] = []
    for slug, business in sorted(businesses.items()):
        choice = choice_for(settings, business)
        if isinstance(choice, OpenAIRealtime) and not (
            choice.api_key_env or choice.api_key_file or settings.realtime_api_key
        ):
            continue  # no key at all: the offline check already warned
        try:
            if isinstance(choice, Pipeline):
                found.append(f"{slug}: pipeline: " + "; ".join(await _reach_pipeline(choice)))
                continue
            if factory is None:
                raise RealtimeUnavailable("no realtime API key")
            session = factory(SessionConfig(instructions="config check"), business)
            await session.connect(timeout=_PROBE_TIMEOUT_S)
            await session.close()
            found.append(f"{slug}: {choice.provider}: session opened")
        except (RealtimeUnavailable, ValueError) as exc:
            found.append(f"{slug}: {choice.provider}: unreachable: {exc}")
    return found


async def _reach_pipeline(choice: Pipeline) -> list[str]:
    config = pipeline_config(choice)
    ends = {"transcription": config.transcription, "chat": config.chat, "speech": config.speech}
    clients: dict[str, AsyncOpenAI] = {name: end.client() for name, end in ends.items()}
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            return list(await asyncio.gather(*(probe(n, c) for n, c in clients.items())))
    except TimeoutError:
        raise RealtimeUnavailable(f"no answer within {_PROBE_TIMEOUT_S:g}s") from None
    finally:
        for client in clients.values():
            await client.close()
