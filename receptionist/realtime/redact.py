"""Keep the API key out of the logs even when websockets' own debug logging is on.

websockets logs every handshake header at DEBUG ("> Authorization: Bearer sk-...").
"""

from __future__ import annotations

import logging

_SECRET_HEADERS = frozenset({"authorization", "api-key", "openai-api-key"})


class RedactHandshakeHeaders(logging.Filter):
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
