"""The PostgreSQL call log's edges: the URL setting (kept whole, shown without its
password), /health's probe, a connection the server dropped, and the parts that do not
run on it yet."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from receptionist.cli import main
from receptionist.service.health import check_health
from receptionist.settings import load_settings
from receptionist.store.log import AsyncStore
from receptionist.store.open import postgres_notes
from receptionist.store.pg.url import PostgresUrl
from tests.postgres import Cluster

URL = "postgresql://rec:hunter2@db.example:5432/calls?sslmode=require"


def test_url_setting_is_kept_whole_and_shown_without_its_password(tmp_path: Path) -> None:
    settings_file = tmp_path / "receptionist.yaml"
    settings_file.write_text(f"database: {URL}\n")
    settings = load_settings(settings_file, env={})
    assert isinstance(settings.database, PostgresUrl)
    assert settings.database.secret() == URL  # not taken for a path next to the file
    shown = "postgresql://rec:***@db.example:5432/calls?sslmode=require"
    assert str(settings.database) == shown and "hunter2" not in repr(settings)
    assert settings.model_dump(mode="json")["database"] == shown
    # A file path stays a path, resolved next to the settings file.
    settings_file.write_text("database: data/r.db\n")
    assert load_settings(settings_file, env={}).database == tmp_path / "data" / "r.db"
    with pytest.raises(ValueError, match="not a postgresql"):
        PostgresUrl("mysql://x")


async def test_health_probes_postgres(pg_cluster: Cluster, tmp_path: Path) -> None:
    up = await check_health(
        ari_connected=True, audiosocket=None, database=pg_cluster.new_database(), active_calls=0
    )
    assert up.call_log == "writable"
    gone = PostgresUrl(f"postgresql://rec:hunter2@/calls?host={tmp_path}")
    down = await check_health(ari_connected=True, audiosocket=None, database=gone, active_calls=0)
    assert down.call_log.startswith("unwritable: ") and "hunter2" not in down.call_log
    assert "call_log" in down.failing


def test_postgres_notes_say_what_differs_there() -> None:
    notes = postgres_notes(PostgresUrl(URL))
    assert any("recordings_dir" in note for note in notes)
    assert any("VACUUM FULL" in note for note in notes)
    assert postgres_notes(Path("r.db")) == []


@pytest.mark.parametrize(
    "argv",
    [["retention", "sweep", "--dry-run"], ["recordings", "purge", "--dry-run"],
     ["users", "list"], ["deliveries", "list"], ["calls", "list"]],
)  # fmt: skip
def test_commands_on_an_unreachable_server_fail_without_the_password(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "businesses").mkdir()
    settings = tmp_path / "receptionist.yaml"
    settings.write_text(f"businesses_dir: {tmp_path / 'businesses'}\n")
    url = f"postgresql://rec:hunter2@/calls?host={tmp_path}"  # nothing listens there
    code = main([*argv, "--db", url, "--settings", str(settings)])
    err = capsys.readouterr().err
    assert code != 0 and "error:" in err and "rec:***@" in err, err
    assert "hunter2" not in err
    assert sorted(tmp_path.iterdir()) == [tmp_path / "businesses", settings]  # nothing made


async def test_a_broken_connection_is_replaced(pg_cluster: Cluster) -> None:
    url = pg_cluster.new_database()
    store = await AsyncStore(url).open()
    await store.start_call("c1", "dental", None, None)
    # The server drops the store's connection (a restart, a failover, an admin's kill).
    async with await psycopg.AsyncConnection.connect(url.secret()) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    # The write that finds it broken fails as the call flow expects (a sqlite3.Error)...
    with pytest.raises(sqlite3.Error):
        await store.add_turn("c1", "caller", "lost", 0, 1)
    # ...and the next one goes through a new connection.
    await store.add_turn("c1", "caller", "kept", 0, 1)
    call = await store.get_call("c1")
    assert call is not None and [turn.text for turn in call.turns] == ["kept"]
    await store.close()


def test_config_check_on_a_postgres_url_says_what_differs_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.conftest import EXAMPLE

    monkeypatch.delenv("RECEPTIONIST_SETTINGS", raising=False)
    settings = tmp_path / "receptionist.yaml"
    settings.write_text(f"database: {URL}\n")
    assert main(["config", "check", str(EXAMPLE), "--settings", str(settings)]) == 0
    out = capsys.readouterr().out
    assert "warning  PostgreSQL: recordings are files on the instance" in out
    assert "warning  PostgreSQL: retention deletes rows" in out
    assert "hunter2" not in out
