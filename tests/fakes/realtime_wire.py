"""Wire-level helpers for the fake realtime server: validation against the SDK's own
pydantic types, ids, and builders for the GA server events the fake sends."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, get_args

from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import BaseModel, ValidationError


def _models_by_type(union: object) -> dict[str, type[BaseModel]]:
    """Map each event type string to its model (the SDK unions are discriminated on `type`)."""
    members = get_args(get_args(union)[0])  # Annotated[Union[...], PropertyInfo] -> members
    out: dict[str, type[BaseModel]] = {}
    for model in members:
        (literal,) = get_args(model.model_fields["type"].annotation)
        out[literal] = model
    return out


CLIENT_EVENTS = _models_by_type(RealtimeClientEvent)
SERVER_EVENTS = _models_by_type(RealtimeServerEvent)


@dataclass(frozen=True)
class InvalidEvent:
    """An event that does not match the SDK's types, with why."""

    event: object
    error: str


def _unknown_fields(value: object, path: str) -> list[str]:
    # The SDK models allow extra keys (so new server fields don't break clients); a
    # misspelt field would pass silently, so list every extra key as a failure.
    found: list[str] = []
    if isinstance(value, BaseModel):
        found.extend(f"{path}.{key}" for key in value.model_extra or {})
        for name in type(value).model_fields:
            found.extend(_unknown_fields(getattr(value, name), f"{path}.{name}"))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.extend(_unknown_fields(item, f"{path}[{index}]"))
    return found


def validate(data: object, models: dict[str, type[BaseModel]]) -> BaseModel | str:
    """The parsed model, or a message saying why `data` is not a valid event."""
    if not isinstance(data, dict):
        return f"not a JSON object: {type(data).__name__}"
    event_type = data.get("type")
    model = models.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        return f"unknown event type {event_type!r}"
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        return str(exc)
    unknown = _unknown_fields(parsed, "")
    if unknown:
        return f"unknown fields: {', '.join(f.lstrip('.') for f in unknown)}"
    return parsed


class Ids:
    """Deterministic ids in the server's style (event_..., resp_..., item_..., call_...)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._counter):05d}"


def response_object(
    response_id: str,
    *,
    status: str,
    voice: str,
    output: list[dict[str, Any]] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A `realtime.response` as carried by response.created / response.done."""
    details: dict[str, Any] | None = None
    if status != "in_progress":
        details = {"type": status}
        if reason is not None:
            details["reason"] = reason
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": details,
        "output": output or [],
        "conversation_id": "conv_fake",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice}},
        "usage": None,
        "metadata": None,
    }


def assistant_item(item_id: str, *, status: str, transcript: str | None) -> dict[str, Any]:
    content: dict[str, Any] = {"type": "output_audio"}
    if transcript is not None:
        content["transcript"] = transcript
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [content],
    }


def function_call_item(
    item_id: str, *, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def error_event(
    event_id: str, message: str, *, code: str, client_event_id: str | None = None
) -> dict[str, Any]:
    return {
        "type": "error",
        "event_id": event_id,
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": None,
            "event_id": client_event_id,
        },
    }
