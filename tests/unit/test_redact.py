"""Secrets inside URLs never reach an error message."""

from __future__ import annotations

from pathlib import Path

import pytest

from receptionist.cli import main
from receptionist.core.redact import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("'wss://gw.example/v1?api-key=sk-live-123' is not ...", "sk-live-123"),
        ("ws://127.0.0.1:8088/ari/events?app=rx&api_key=receptionist:pw-9", "pw-9"),
        ("connect to https://user:hunter2@example.com/v1 failed", "hunter2"),
        ("GET http://h/x?a=1&token=abc.def&b=2", "abc.def"),
        ("wss://h/realtime?model=gpt&Signature=zzz", "zzz"),
    ],
)
def test_url_secrets_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "***" in out


def test_text_without_secrets_is_unchanged() -> None:
    text = "'ftp://example.com/v1?model=gpt-realtime&app=rx' is not a websocket URL"
    assert redact(text) == text
    assert redact("user@example.com has 10:30 booked") == "user@example.com has 10:30 booked"


def test_user_is_kept_password_hidden() -> None:
    assert redact("wss://alice:s3cret@gw/v1") == "wss://alice:***@gw/v1"


def test_config_check_never_shows_a_url_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("realtime_url: https://gw.example/v1?api-key=sk-live-123\n")
    (tmp_path / "businesses").mkdir()
    assert main(["config", "check", "--settings", str(settings)]) == 1
    out = capsys.readouterr()
    assert "realtime_url" in out.err and "api-key=***" in out.err
    assert "sk-live-123" not in out.out + out.err
    assert main(["config", "check", "--settings", str(settings), "--json"]) == 1
    assert "sk-live-123" not in capsys.readouterr().out
