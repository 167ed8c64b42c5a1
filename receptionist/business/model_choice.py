"""Which model answers a business's calls: the `model:` section of a business file (or
the service default in the settings file). Secrets are never written here: each endpoint
names the environment variable or the file its key is read from.

    model:
      provider: pipeline            # openai-realtime | azure-openai-realtime | pipeline
      transcription: {base_url: http://127.0.0.1:8001/v1, model: whisper-1}
      chat: {base_url: http://127.0.0.1:11434/v1, model: llama3.1}
      speech: {base_url: http://127.0.0.1:8002/v1, model: tts-1, voice: alloy}
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Prices(_Model):
    """List prices for the cost estimate, with the day they were read (they move)."""

    taken: dt.date  # the day these prices were read from the provider's price list
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    text_in_per_million: float = Field(0.0, ge=0)
    cached_in_per_million: float = Field(0.0, ge=0)
    audio_in_per_million: float = Field(0.0, ge=0)
    text_out_per_million: float = Field(0.0, ge=0)
    audio_out_per_million: float = Field(0.0, ge=0)
    transcription_per_minute: float = Field(0.0, ge=0)
    speech_per_million_characters: float = Field(0.0, ge=0)

    def estimate(self, usage: Mapping[str, float]) -> float:
        """The cost of `usage` (Usage.as_dict()) at these prices."""
        per_million = (
            usage.get("text_in_tokens", 0) * self.text_in_per_million
            + usage.get("cached_in_tokens", 0) * self.cached_in_per_million
            + usage.get("audio_in_tokens", 0) * self.audio_in_per_million
            + usage.get("text_out_tokens", 0) * self.text_out_per_million
            + usage.get("audio_out_tokens", 0) * self.audio_out_per_million
            + usage.get("characters_synthesized", 0) * self.speech_per_million_characters
        )
        minutes = usage.get("seconds_transcribed", 0) / 60
        return per_million / 1_000_000 + minutes * self.transcription_per_minute


class KeySource(_Model):
    """Where an endpoint's API key comes from: an environment variable or a file."""

    api_key_env: str | None = Field(None, pattern=_ENV_NAME)
    api_key_file: Path | None = None

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The key, or None when the endpoint needs none (a local server).

        Raises ValueError naming the variable or file when it is set but empty or missing."""
        env = os.environ if env is None else env
        if self.api_key_file is not None:
            try:
                key = self.api_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"api_key_file {self.api_key_file}: {exc.strerror}") from None
            if not key:
                raise ValueError(f"api_key_file {self.api_key_file} is empty")
            return key
        if self.api_key_env is not None:
            key = env.get(self.api_key_env, "").strip()
            if not key:
                raise ValueError(f"environment variable {self.api_key_env} is not set")
            return key
        return None


class OpenAIRealtime(KeySource):
    provider: Literal["openai-realtime"] = "openai-realtime"
    prices: Prices | None = None  # None: the settings' prices for this provider
    model: str | None = Field(None, min_length=1)  # None: the voice's model, then the service's
    url: str | None = None  # websocket base URL; None: the service's realtime_url


class AzureRealtime(KeySource):
    """Azure OpenAI Realtime. Without `api_version` the v1 API
    (`<endpoint>/openai/v1/realtime?model=<deployment>`); with one, the dated API."""

    provider: Literal["azure-openai-realtime"]
    prices: Prices | None = None
    endpoint: HttpUrl  # https://<resource>.openai.azure.com
    deployment: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    api_version: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}(-preview)?$")
    api_key_env: str | None = Field("AZURE_OPENAI_API_KEY", pattern=_ENV_NAME)


class Endpoint(KeySource):
    """An OpenAI-compatible HTTP endpoint, e.g. http://127.0.0.1:8000/v1."""

    base_url: HttpUrl
    model: str = Field(min_length=1)


class SpeechOut(Endpoint):
    voice: str = Field("alloy", min_length=1)
    # pcm: raw 16-bit mono at `sample_rate` (OpenAI's is 24 kHz); wav: any rate, read from it.
    format: Literal["pcm", "wav"] = "pcm"
    sample_rate: int = Field(24000, ge=8000, le=48000)


class Pipeline(_Model):
    """Speech in, a chat model, speech out; turn-taking is ours (webrtcvad)."""

    provider: Literal["pipeline"]
    prices: Prices | None = None  # a fully local pipeline costs nothing per call
    transcription: Endpoint
    chat: Endpoint
    speech: SpeechOut
    # The caller's pause that ends their turn. Callers pause mid-sentence: 500 ms cuts
    # them off rarely while keeping replies quick.
    silence_ms: int = Field(500, ge=200, le=3000)
    max_reply_tokens: int = Field(400, ge=16, le=4096)


ModelChoice = Annotated[OpenAIRealtime | AzureRealtime | Pipeline, Field(discriminator="provider")]


def prices_for(choice: ModelChoice, table: Mapping[str, Prices]) -> Prices | None:
    """The prices a choice is estimated at: its own, else the table's for its provider."""
    return choice.prices or table.get(choice.provider)
