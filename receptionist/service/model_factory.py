"""Which model session a call gets: the business's `model:` section, else the service's
default (`model:` in the settings file), else OpenAI Realtime with the realtime_* settings.

SDK clients are built once per distinct choice and shared by its calls (each session
opens its own connection); keys are read from the environment or files when a call
needs them, so a rotated key file takes effect without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from openai import AsyncOpenAI

from receptionist.business import Business
from receptionist.business.model_choice import AzureRealtime, ModelChoice, OpenAIRealtime, Pipeline
from receptionist.call.setup import SessionFactory
from receptionist.model import ModelSession
from receptionist.model.azure import azure_client
from receptionist.model.pipeline.endpoints import (
    Endpoint,
    PipelineClients,
    PipelineConfig,
    SpeechEndpoint,
)
from receptionist.model.pipeline.session import PipelineSession
from receptionist.realtime import RealtimeSession, RealtimeUnavailable, SessionConfig
from receptionist.settings import Settings

logger = logging.getLogger(__name__)


def choice_for(settings: Settings, business: Business) -> ModelChoice:
    return business.model or settings.model or OpenAIRealtime()


def pipeline_config(choice: Pipeline) -> PipelineConfig:
    """The pipeline's endpoints with their keys read now (ValueError names what is missing)."""
    t, c, s = choice.transcription, choice.chat, choice.speech
    return PipelineConfig(
        transcription=Endpoint(str(t.base_url), t.model, t.api_key()),
        chat=Endpoint(str(c.base_url), c.model, c.api_key()),
        speech=SpeechEndpoint(
            str(s.base_url),
            s.model,
            s.api_key(),
            voice=s.voice,
            format=s.format,
            sample_rate=s.sample_rate,
        ),
        silence_ms=choice.silence_ms,
        max_reply_tokens=choice.max_reply_tokens,
    )


def session_factory(
    settings: Settings, businesses: Iterable[Business] = ()
) -> SessionFactory | None:
    """A model session per call, or None when no business can have a model (no realtime
    key, no default `model:` section, and no business with its own)."""
    default_key = settings.realtime_api_key
    if default_key is None and settings.model is None and not any(b.model for b in businesses):
        return None
    clients: dict[str, AsyncOpenAI] = {}
    pipelines: dict[str, PipelineClients] = {}
    if default_key is not None:
        _warm_up()

    def realtime(config: SessionConfig, business: Business, choice: OpenAIRealtime) -> ModelSession:
        key = choice.api_key() if (choice.api_key_env or choice.api_key_file) else None
        if key is None:
            if default_key is None:
                raise ValueError("no realtime API key (set OPENAI_API_KEY)")
            key = default_key.get_secret_value()
        url = choice.url or settings.realtime_url
        cache = f"openai|{url}|{key}"
        if cache not in clients:
            clients[cache] = AsyncOpenAI(api_key=key, websocket_base_url=url)
        model = choice.model or business.voice.model or settings.realtime_model
        return RealtimeSession(
            config, api_key=key, model=model, websocket_base_url=url, client=clients[cache]
        )

    def azure(config: SessionConfig, choice: AzureRealtime) -> ModelSession:
        key = choice.api_key()
        if key is None:
            raise ValueError("Azure needs a key: set api_key_env or api_key_file")
        cache = f"azure|{choice.endpoint}|{choice.api_version}|{key}"
        if cache not in clients:
            clients[cache] = azure_client(str(choice.endpoint), key, choice.api_version)
        return RealtimeSession(
            config,
            api_key=key,
            model=choice.deployment,
            websocket_base_url=str(choice.endpoint),
            client=clients[cache],
        )

    def new_session(config: SessionConfig, business: Business) -> ModelSession:
        choice = choice_for(settings, business)
        try:
            match choice:
                case OpenAIRealtime():
                    return realtime(config, business, choice)
                case AzureRealtime():
                    return azure(config, choice)
                case Pipeline():
                    settings_now = pipeline_config(choice)  # keys read now (rotated files)
                    cache = f"pipeline|{settings_now}"
                    if cache not in pipelines:
                        pipelines[cache] = PipelineClients.for_config(settings_now)
                    return PipelineSession(config, settings_now, pipelines[cache])
        except ValueError as exc:  # a key that is not there: the call goes to a person
            raise RealtimeUnavailable(f"{choice.provider}: {exc}") from exc

    return new_session


def _warm_up() -> None:
    """Import now what the first call would otherwise import while its caller waits."""
    import openai.resources.realtime.realtime  # noqa: F401
    import websockets.asyncio.client  # noqa: F401
