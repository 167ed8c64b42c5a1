"""Structured logging: one line per event, key=value pairs, the call id on every call line.

Two formats: text (`time level logger call=ID message key=value...`) and JSON (one
object a line: time, level, logger, call_id, event, message and the fields), chosen
with `receptionist --log-format` or RECEPTIONIST_LOG_FORMAT. Times are ISO 8601 with
milliseconds and the zone. Secrets inside URLs are masked in every line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from datetime import datetime
from typing import Any, Literal

from receptionist.core.redact import redact

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

# Set by the call flow for the duration of a call; every log line in that task carries it.
call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)


def _timestamp(record: logging.LogRecord) -> str:
    """ISO 8601, milliseconds, local zone: 2026-12-02T04:56:30.123+00:00."""
    moment = datetime.fromtimestamp(record.created).astimezone()
    return moment.isoformat(timespec="milliseconds")


def _call_id(record: logging.LogRecord) -> str | None:
    return getattr(record, "call_id", None) or call_id_var.get()


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname.lower(), record.name]
        call_id = _call_id(record)
        if call_id:
            parts.append(f"call={call_id}")
        parts.append(record.getMessage())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (journald, Loki, Elastic)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        call_id = _call_id(record)
        if call_id:
            entry["call_id"] = call_id
        entry["event"] = redact(str(getattr(record, "event", None) or record.getMessage()))
        entry["message"] = redact(record.getMessage())
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if value is not None and key not in entry:
                    ok = isinstance(value, int | float | bool)
                    entry[key] = value if ok else redact(str(value))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def _quote(value: object) -> str:
    # Field values can hold caller text: quoted (repr escapes control characters) when
    # they have spaces or anything a terminal would obey, so a value stays one field.
    text = str(value)
    return repr(text) if (" " in text or not text or not text.isprintable()) else text


def configure_logging(level: int = logging.INFO, fmt: LogFormat | None = None) -> None:
    """Log to stderr as `fmt`, else RECEPTIONIST_LOG_FORMAT, else text."""
    chosen = fmt or os.environ.get("RECEPTIONIST_LOG_FORMAT") or "text"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else _Formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if chosen not in LOG_FORMATS:
        logging.getLogger(__name__).warning(
            "RECEPTIONIST_LOG_FORMAT=%r is not one of %s: logging as text",
            chosen, ", ".join(LOG_FORMATS),
        )  # fmt: skip


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
