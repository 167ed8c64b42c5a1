"""A throwaway PostgreSQL cluster for tests: Debian's `postgresql` package (installed by
`make test`), initdb'd in a temporary directory. The tests connect as the superuser over a unix
socket there (trusted); loopback TCP on a free port asks for a password (scram-sha-256),
as a real server would, for the roles the docs tell an admin to create.

PostgreSQL refuses to run as root, so as root the cluster runs as the package's
unprivileged `postgres` user (runuser); as anyone else, as that user.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from receptionist.sandbox.launcher import free_port
from receptionist.sandbox.state import alive
from receptionist.store.pg.url import PostgresUrl

PG_ROOT = Path("/usr/lib/postgresql")
_names = itertools.count(1)


def bindir() -> Path:
    found = sorted(PG_ROOT.glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test-tools` (apt postgresql)")
    return found[-1].parent


@dataclass(frozen=True)
class Cluster:
    socket_dir: Path
    user: str
    port: int

    def url(self, database: str = "postgres") -> PostgresUrl:
        # The port names the socket file (.s.PGSQL.<port>) too.
        return PostgresUrl(
            f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"
        )

    def new_database(self) -> PostgresUrl:
        """An empty database of its own, for one test."""
        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.url().secret(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url(name)


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _stop(base: Path) -> None:
    stop = [str(bindir() / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop"]
    subprocess.run(_as_owner(stop), capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def _reap_orphans() -> None:
    """Stop clusters left by test runs that were killed before their teardown."""
    for base in Path(tempfile.gettempdir()).glob("receptionist-pg-*-*"):
        owner = base.name.split("-")[2]
        if owner.isdigit() and not alive(int(owner)):
            _stop(base)


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    _reap_orphans()
    base = Path(tempfile.mkdtemp(prefix=f"receptionist-pg-{os.getpid()}-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
        data, bins = base / "data", bindir()
        run = {"check": True, "capture_output": True, "text": True}
        subprocess.run(
            _as_owner([str(bins / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync", "--auth-local=trust",
                       "--auth-host=scram-sha-256"]), **run,
        )  # fmt: skip
        # fsync off: a test cluster's crash safety is not under test, and disks are shared.
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{base}'"
            " -c fsync=off"
        )
        start = [str(bins / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", options]
        subprocess.run(_as_owner([*start, "-w", "-t", "60", "start"]), **run)
        yield Cluster(base, "postgres", port)
    finally:
        _stop(base)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One PostgreSQL cluster for the whole run; each test takes a database of its own."""
    with running_cluster() as cluster:
        yield cluster
