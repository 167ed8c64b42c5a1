"""Session configuration: what we ask the model for in `session.update`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from openai.types.realtime import (
    AudioTranscriptionParam,
    RealtimeAudioConfigInputParam,
    RealtimeSessionCreateRequestParam,
    RealtimeToolsConfigParam,
)

from receptionist.realtime.audio_format import BYTES_PER_MS, SAMPLE_RATE

__all__ = ["BYTES_PER_MS", "SAMPLE_RATE", "SessionConfig", "session_param", "tools_param"]

NoiseReduction = Literal["near_field", "far_field"]


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Everything sent in the initial `session.update`.

    `tools` are GA realtime function tools:
    {"type": "function", "name": ..., "description": ..., "parameters": {JSON schema}}.
    """

    instructions: str
    tools: Sequence[Mapping[str, Any]] = ()
    voice: str = "marin"
    transcription_model: str | None = "gpt-4o-mini-transcribe"
    transcription_language: str | None = None
    # Phone lines carry hiss and hum: a little above the 0.5 default avoids false barge-in.
    vad_threshold: float = 0.6
    vad_prefix_padding_ms: int = 300
    # Callers pause mid-sentence (reading a number, thinking): 500 ms cuts them off less
    # than the 200 ms default while keeping replies snappy.
    vad_silence_ms: int = 500
    interrupt_response: bool = True
    create_response: bool = True
    # A handset is a close-talking microphone.
    noise_reduction: NoiseReduction | None = "near_field"


def tools_param(tools: Sequence[Mapping[str, Any]]) -> RealtimeToolsConfigParam:
    return cast(RealtimeToolsConfigParam, [dict(tool) for tool in tools])


def session_param(config: SessionConfig) -> RealtimeSessionCreateRequestParam:
    """The full `session` object of a `session.update` for `config`."""
    audio_input: RealtimeAudioConfigInputParam = {
        "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
        "turn_detection": {
            "type": "server_vad",
            "threshold": config.vad_threshold,
            "prefix_padding_ms": config.vad_prefix_padding_ms,
            "silence_duration_ms": config.vad_silence_ms,
            "create_response": config.create_response,
            "interrupt_response": config.interrupt_response,
        },
    }
    if config.noise_reduction is not None:
        audio_input["noise_reduction"] = {"type": config.noise_reduction}
    else:
        # The API turns noise reduction off on an explicit null, which the SDK's TypedDict
        # does not allow for; left out, the server would keep what it had.
        cast(dict[str, object], audio_input)["noise_reduction"] = None
    if config.transcription_model is not None:
        transcription: AudioTranscriptionParam = {"model": config.transcription_model}
        if config.transcription_language:
            transcription["language"] = config.transcription_language
        audio_input["transcription"] = transcription
    return {
        "type": "realtime",
        "output_modalities": ["audio"],
        "instructions": config.instructions,
        "tools": tools_param(config.tools),
        "tool_choice": "auto",
        "audio": {
            "input": audio_input,
            "output": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "voice": config.voice,
            },
        },
    }
