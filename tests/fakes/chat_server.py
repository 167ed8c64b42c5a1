"""A local OpenAI Chat Completions server: checks each request against the openai SDK's
own request type and answers with the SDK's response type, or fails when told to."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from openai.types.chat import ChatCompletion
from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
from pydantic import TypeAdapter, ValidationError

from receptionist.sandbox.launcher import free_port
from tests.fakes.receivers import serve_post

_REQUEST = TypeAdapter(CompletionCreateParamsNonStreaming)


@dataclass
class FakeChatServer:
    reply: str = "Jane Doe called about a bill and left a message."
    status: int = 200  # anything else: an error response in OpenAI's shape
    port: int = field(default_factory=free_port)
    requests: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> FakeChatServer:
        self._runner = await serve_post("/v1/chat/completions", self._complete, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        try:
            _REQUEST.validate_python(body)
        except ValidationError as exc:
            self.invalid.append(str(exc))
            return web.json_response({"error": {"message": "invalid request"}}, status=400)
        if request.headers.get("Authorization") != "Bearer sk-test-summary":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        if self.status != 200:
            error = {"error": {"message": "overloaded", "type": "server_error"}}
            return web.json_response(error, status=self.status)
        completion = ChatCompletion.model_validate(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.reply},
                    }
                ],
            }
        )
        return web.json_response(completion.model_dump(mode="json"))
