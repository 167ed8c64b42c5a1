"""Validation for the pipeline fakes: requests against the openai SDK's own parameter
types, responses against its response models (unknown fields count as errors)."""

from __future__ import annotations

from typing import Any, get_type_hints

from openai.types.audio.speech_create_params import SpeechCreateParams
from openai.types.audio.transcription_create_params import TranscriptionCreateParamsBase
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionChunk,
    ChatCompletionFunctionToolParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.chat.completion_create_params import CompletionCreateParamsBase
from pydantic import BaseModel, TypeAdapter, ValidationError

_MESSAGES: dict[str, Any] = {
    "system": ChatCompletionSystemMessageParam,
    "user": ChatCompletionUserMessageParam,
    "assistant": ChatCompletionAssistantMessageParam,
    "tool": ChatCompletionToolMessageParam,
}


def _keys(typed_dict: Any) -> set[str]:
    return set(get_type_hints(typed_dict, include_extras=True))


def _check(data: object, typed_dict: Any, where: str) -> list[str]:
    if not isinstance(data, dict):
        return [f"{where}: not an object"]
    errors = [f"{where}.{k}: unknown field" for k in data.keys() - _keys(typed_dict)]
    try:
        TypeAdapter(typed_dict).validate_python(data)
    except ValidationError as exc:
        errors.append(f"{where}: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}")
    return errors


def chat_request_errors(body: dict[str, Any]) -> list[str]:
    """Why a `POST /chat/completions` body is not a valid streaming request ([] if it is)."""
    known = _keys(CompletionCreateParamsBase) | {"stream"}
    errors = [f"{k}: unknown field" for k in body.keys() - known]
    errors += [] if body.get("stream") is True else ["stream: must be true"]
    if not isinstance(body.get("model"), str):
        errors.append("model: missing")
    for i, message in enumerate(body.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _MESSAGES:
            errors.append(f"messages[{i}].role: {role!r}")
            continue
        errors += _check(message, _MESSAGES[role], f"messages[{i}]")
    for i, tool in enumerate(body.get("tools") or []):
        errors += _check(tool, ChatCompletionFunctionToolParam, f"tools[{i}]")
    # Every tool result must answer a call made by the assistant message before it.
    pending: set[str] = set()
    for i, message in enumerate(body.get("messages") or []):
        if message.get("role") == "assistant":
            pending = {c["id"] for c in message.get("tool_calls") or []}
        elif message.get("role") == "tool":
            if message.get("tool_call_id") not in pending:
                errors.append(f"messages[{i}]: tool result for an unknown call")
        elif pending:
            errors.append(f"messages[{i}]: tool calls left without a result")
            pending = set()
    return errors


def speech_request_errors(body: dict[str, Any]) -> list[str]:
    return _check(body, SpeechCreateParams, "speech")


def transcription_form_errors(fields: set[str]) -> list[str]:
    known = _keys(TranscriptionCreateParamsBase)
    errors = [f"{k}: unknown form field" for k in fields - known]
    return errors + [f"{k}: missing" for k in ("file", "model") if k not in fields]


def chunk_errors(chunk: dict[str, Any]) -> list[str]:
    try:
        parsed = ChatCompletionChunk.model_validate(chunk)
    except ValidationError as exc:
        return [str(exc)]
    return _unknown(parsed, "chunk")


def _unknown(value: object, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{key}" for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += _unknown(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _unknown(item, f"{path}[{index}]")
    return found
