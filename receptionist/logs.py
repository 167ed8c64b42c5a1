"""Structured logging: one line per event, key=value pairs, the call id on every call line."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

# Set by the call flow for the duration of a call; every log line in that task carries it.
call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            record.levelname.lower(),
            record.name,
        ]
        call_id = getattr(record, "call_id", None) or call_id_var.get()
        if call_id:
            parts.append(f"call={call_id}")
        parts.append(record.getMessage())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: object) -> str:
    # Field values can hold caller text: quoted (repr escapes control characters) when
    # they have spaces or anything a terminal would obey, so a value stays one field.
    text = str(value)
    return repr(text) if (" " in text or not text or not text.isprintable()) else text


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log `msg` followed by key=value fields (None values left out).

    Fields go into the message itself, so every handler (files, journald, pytest's
    capture) shows them; they are also kept as `record.event` and `record.fields` for programs. The
    formatter adds time, level, logger and the call id.
    """
    if logger.isEnabledFor(level):
        pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items() if v is not None)
        text = f"{msg} {pairs}" if pairs else msg
        logger.log(level, text, extra={"event": msg, "fields": fields}, stacklevel=2)
