"""docs/postgresql.md's setup, run as written against the tests' PostgreSQL: its SQL as
the superuser, then the CLI over loopback TCP with password authentication, the
password given as PGPASSWORD or as ${VAR} in the URL, never shown."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from receptionist.cli import main
from receptionist.store.open import open_sync_store
from receptionist.store.pg.url import PostgresUrl
from tests.postgres import Cluster

DOC = (Path(__file__).resolve().parents[2] / "docs" / "postgresql.md").read_text()


def _block(language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", DOC, re.DOTALL)
    assert match, f"no {language} block in docs/postgresql.md"
    return match.group(1)


def _password() -> str:
    match = re.search(r"^ +PGPASSWORD=(\S+)$", DOC, re.MULTILINE)
    assert match
    return match.group(1)


def test_documented_setup_works(
    pg_cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with psycopg.connect(pg_cluster.url().secret(), autocommit=True) as conn:
        for statement in filter(str.strip, _block("sql").split(";")):
            conn.execute(statement.encode())
    # The documented settings line, pointed at the test server's loopback port.
    line = _block("yaml").replace("db.example:5432", f"127.0.0.1:{pg_cluster.port}")
    settings = tmp_path / "receptionist.yaml"
    settings.write_text(line)
    monkeypatch.delenv("RECEPTIONIST_DATABASE", raising=False)  # the file's setting counts
    monkeypatch.setenv("PGPASSWORD", _password())
    # The receptionist role creates the schema on first use, and the CLI reads it.
    url = re.search(r"postgresql://\S+", line)
    assert url is not None
    store = open_sync_store(PostgresUrl(url.group(0)))
    store.start_call("docs-call", "example-dental", "+12125550123", None)
    store.close()
    assert main(["calls", "list", "--settings", str(settings)]) == 0
    assert capsys.readouterr().out.startswith("docs-call")

    # The ${VAR} form, with a wrong password: refused, and the error hides it.
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("DB_PASSWORD", "not-the-password")
    with_var = line.replace("receptionist@", "receptionist:${DB_PASSWORD}@")
    settings.write_text(with_var)
    assert main(["calls", "list", "--settings", str(settings)]) == 2
    err = capsys.readouterr().err
    assert "password authentication failed" in err and "receptionist:***@127.0.0.1" in err
    assert "not-the-password" not in err
    monkeypatch.setenv("DB_PASSWORD", _password())
    assert main(["calls", "list", "--settings", str(settings)]) == 0
    assert capsys.readouterr().out.startswith("docs-call")
