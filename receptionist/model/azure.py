"""Azure OpenAI Realtime: the same `RealtimeSession`, with Azure's URL and `api-key` header.

Two forms (see docs/models.md):
- the v1 API: the plain `AsyncOpenAI` with base_url `<endpoint>/openai/v1/`, the
  deployment name as the model: `wss://<resource>.openai.azure.com/openai/v1/realtime?model=<deployment>`;
- a dated API version: `AsyncAzureOpenAI`, which connects to
  `.../openai/realtime?api-version=<version>&deployment=<deployment>`.
Both send the key in the `api-key` header.
"""

from __future__ import annotations

from openai import AsyncAzureOpenAI, AsyncOpenAI


def websocket_url(http_url: str) -> str:
    """The websocket form of an http(s) URL (https -> wss, http -> ws)."""
    if http_url.startswith("https://"):
        return "wss://" + http_url.removeprefix("https://")
    if http_url.startswith("http://"):
        return "ws://" + http_url.removeprefix("http://")
    raise ValueError(f"not an http(s) URL: {http_url}")


def azure_client(endpoint: str, api_key: str, api_version: str | None) -> AsyncOpenAI:
    """The SDK client for an Azure OpenAI resource; pass the deployment as the model."""
    root = endpoint.rstrip("/")
    if api_version is None:
        base = f"{root}/openai/v1/"
        return AsyncOpenAI(
            api_key=api_key,
            base_url=base,
            websocket_base_url=websocket_url(base),
            default_headers={"api-key": api_key},
        )
    # The SDK would turn an http endpoint into wss; giving the websocket base keeps the
    # scheme (https -> wss as before; a plain-http gateway on the premises -> ws).
    return AsyncAzureOpenAI(
        azure_endpoint=root,
        api_key=api_key,
        api_version=api_version,
        websocket_base_url=websocket_url(f"{root}/openai"),
    )
