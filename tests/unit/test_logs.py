"""Log lines as admins' tools expect them: ISO times with milliseconds and zone, the call
id on every call line, JSON on request, and no secret from a URL in any line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from receptionist.core.logs import JsonFormatter, _Formatter, call_id_var, configure_logging, log

ISO_MS_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, dict[str, io.StringIO]]]:
    logger = logging.getLogger("receptionist.test_logs")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    streams = {"text": io.StringIO(), "json": io.StringIO()}
    for name, formatter in (("text", _Formatter()), ("json", JsonFormatter())):
        handler = logging.StreamHandler(streams[name])
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    try:
        yield logger, streams
    finally:
        logger.handlers.clear()


def test_call_lines_carry_the_call_id_and_an_iso_time(
    logged: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, streams = logged
    token = call_id_var.set("1712345678.42")
    try:
        log(logger, logging.INFO, "transfer started", department="Front Desk", attempt=1)
    finally:
        call_id_var.reset(token)
    log(logger, logging.WARNING, "not a call line")

    text = streams["text"].getvalue().splitlines()
    assert ISO_MS_ZONE.match(text[0].split(" ")[0])
    assert " call=1712345678.42 transfer started department='Front Desk' attempt=1" in text[0]
    assert "call=" not in text[1]

    first, second = (json.loads(line) for line in streams["json"].getvalue().splitlines())
    assert ISO_MS_ZONE.match(str(first["time"]))
    assert first["call_id"] == "1712345678.42" and first["level"] == "info"
    assert first["event"] == "transfer started"
    assert first["department"] == "Front Desk" and first["attempt"] == 1
    assert "call_id" not in second and second["level"] == "warning"


def test_url_secrets_never_reach_a_log_line(
    logged: tuple[logging.Logger, dict[str, io.StringIO]],
) -> None:
    logger, streams = logged
    url = "wss://gw.example/openai/realtime?api-key=sk-azure-secret&deployment=rt"
    log(logger, logging.ERROR, "realtime connect failed", url=url)
    try:
        raise ConnectionError("cannot reach https://ari:ari-pass@pbx:8088/ari/events")
    except ConnectionError:
        logger.exception("ari down")
    for output in streams.values():
        text = output.getvalue()
        assert "sk-azure-secret" not in text and "ari-pass" not in text
        assert "api-key=***" in text and "ari:***@pbx" in text


def test_format_chosen_by_option_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        monkeypatch.setenv("RECEPTIONIST_LOG_FORMAT", "json")
        configure_logging()
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        configure_logging(fmt="text")  # the command-line option wins
        assert type(root.handlers[0].formatter) is _Formatter
        monkeypatch.setenv("RECEPTIONIST_LOG_FORMAT", "xml")
        configure_logging()  # a bad value logs as text and says so
        assert type(root.handlers[0].formatter) is _Formatter
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
