"""`receptionist config check|prompt` through the real command-line entry point."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from receptionist.cli import main
from tests.unit.conftest import EXAMPLE, REPO

SETTINGS = REPO / "config" / "receptionist.yaml"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in ("RECEPTIONIST_SETTINGS", "RECEPTIONIST_ARI_PASSWORD", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level  # main() installs its own log handler


def test_shipped_config_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["config", "check", str(REPO / "config" / "businesses"), "--settings", str(SETTINGS)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ok       example-dental: Example Dental Office (2 departments, 2 FAQ entries" in out
    assert "warning  ari_password is not set" in out
    assert out.rstrip().endswith("all good")


def test_single_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["config", "check", str(EXAMPLE)]) == 0
    assert "example-dental" in capsys.readouterr().out


def test_errors_name_file_field_reason_and_exit_non_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    businesses = tmp_path / "businesses"
    businesses.mkdir()
    shutil.copy(EXAMPLE, businesses / "example-dental.yaml")
    (businesses / "broken.yaml").write_text(
        "business: {name: B, timezone: Europe/Londn}\n"
        "hours:\n  monday: {open: '9am', close: '17:00'}\n"
    )
    (businesses / "Bad Name.yaml").write_text("business: {name: C, timezone: UTC}\nhours: {}\n")
    settings = tmp_path / "settings.yaml"
    settings.write_text("default_business: missing-one\nari_password: ${NOT_SET_ANYWHERE}\n")
    code = main(["config", "check", str(businesses), "--settings", str(settings)])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err
    assert f"{businesses / 'broken.yaml'}:1: business.timezone: unknown IANA timezone" in errors
    assert "Europe/London" in errors  # suggestion
    assert f"{businesses / 'broken.yaml'}:3: hours.monday[0].open: bad time '9am'" in errors
    assert f"{businesses / 'Bad Name.yaml'}: slug: unsafe file name" in errors
    assert f"{settings}: ari_password: environment variable NOT_SET_ANYWHERE is not set" in errors
    assert "ok       example-dental" in captured.out
    assert "error(s)" in captured.out


def test_json_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    bad.write_text("business: {name: X, timezone: UTC}\nhours: {}\nextra: 1\n")
    assert main(["config", "check", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["errors"] == [
        {"file": str(bad), "field": "extra", "reason": report["errors"][0]["reason"], "line": 3}
    ]
    assert report["errors"][0]["reason"].startswith("unknown field")


def test_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["config", "check", str(tmp_path / "nowhere")]) == 1
    assert "no such file or directory" in capsys.readouterr().err


def test_prompt_preview(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "prompt", str(EXAMPLE), "--at", "2026-11-30T09:00"]) == 0
    out = capsys.readouterr().out
    assert "Example Dental Office" in out and "Open now, until 5 PM today." in out


@pytest.mark.parametrize(
    "command",
    [["config"], ["config", "check"], ["config", "prompt"], ["messages"], ["messages", "list"],
     ["messages", "show"], ["messages", "mark-handled"], ["calls"], ["calls", "list"],
     ["calls", "show"]],
)  # fmt: skip
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: receptionist " + " ".join(command))
    assert len(out.splitlines()) > 3
