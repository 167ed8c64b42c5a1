"""Keep credentials out of the logs: the API key in handshake headers, and whatever a
gateway URL carries in its userinfo or query string."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

_SECRET_HEADERS = frozenset({"authorization", "api-key", "openai-api-key"})


class RedactHandshakeHeaders(logging.Filter):
    """websockets logs every handshake header at DEBUG ("> Authorization: Bearer sk-...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in _SECRET_HEADERS:
            record.args = (args[0], "[redacted]")
        return True


def install() -> None:
    """Idempotent: add the filter to the websockets client logger once."""
    ws_logger = logging.getLogger("websockets.client")
    if not any(isinstance(f, RedactHandshakeHeaders) for f in ws_logger.filters):
        ws_logger.addFilter(RedactHandshakeHeaders())


def describe_endpoint(websocket_base_url: str | None) -> str:
    """Scheme, host and path only: a gateway URL may carry credentials in userinfo or query."""
    if websocket_base_url is None:
        return "default"
    parts = urlsplit(websocket_base_url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
