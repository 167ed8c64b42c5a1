"""Which settings and call log a command reads, and one clear line when it cannot: from a
directory with no settings, with both a checkout's and the installed settings, and as a
user who may not write the call log's directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from receptionist import settings
from receptionist.cli import main
from receptionist.store import sqlite as sqlite_module
from receptionist.store.log import Store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RECEPTIONIST_"):
            monkeypatch.delenv(name)


def test_no_settings_found_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    installed = tmp_path / "etc" / "receptionist.yaml"
    monkeypatch.setattr(settings, "SEARCH_PATH", (Path("config/receptionist.yaml"), installed))
    assert main(["calls", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no database at data/receptionist.db (no settings file found: ")
    assert "RECEPTIONIST_SETTINGS" in err and "/etc/receptionist/receptionist.yaml" in err


def test_config_check_says_which_settings_it_read_when_two_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "config", checkout / "config")
    installed = tmp_path / "etc" / "receptionist.yaml"
    installed.parent.mkdir()
    installed.write_text(f"businesses_dir: {checkout / 'config' / 'businesses'}\n")
    monkeypatch.chdir(checkout)
    monkeypatch.setattr(settings, "SEARCH_PATH", (Path("config/receptionist.yaml"), installed))
    main(["config", "check"])
    out = capsys.readouterr().out
    assert f"ok       settings: {checkout / 'config' / 'receptionist.yaml'}\n" in out
    assert (f"warning  read {checkout / 'config' / 'receptionist.yaml'} (this directory's); "
            f"{installed} was not read") in out  # fmt: skip
    monkeypatch.chdir(tmp_path)  # elsewhere only the installed file exists: no warning
    main(["config", "check"])
    out = capsys.readouterr().out
    assert f"ok       settings: {installed}\n" in out and "was not read" not in out


def test_a_user_who_cannot_write_the_data_directory_gets_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "receptionist.db"
    Store(database).close()
    lock = f"{database}.lock"
    real_open = open

    def refused(file: str, *args: object, **kwargs: object) -> object:
        # What the OS answers a user outside the service's group (tests run as root,
        # whom it never refuses).
        if str(file) == lock:
            raise PermissionError(13, "Permission denied", lock)
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(sqlite_module, "open", refused, raising=False)
    assert main(["calls", "list", "--db", str(database)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"receptionist calls: permission denied: {lock}: run it as a user who may write "
        "there (the service's: sudo -u receptionist receptionist calls ...)"
    )
