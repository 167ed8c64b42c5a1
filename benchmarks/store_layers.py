"""The call log's SQL layer against SQLAlchemy Core, on the call path's writes.

    python -m benchmarks.store_layers [--quick]

Why it exists: the queries are written once for SQLite and PostgreSQL, either over the
small dialect layer in receptionist/store/sql.py or over SQLAlchemy Core; this measures
both on what a call writes while it runs (the call row, eight transcript turns, two
tool calls, a message, an outcome, the end), each write committed on its own as the
call flow does, on one connection on one thread (the store's). Same database, same
schema (the receptionist's migrations), same settings: SQLite in WAL with an fsync per
commit; a throwaway PostgreSQL cluster (tests/postgres.py, fsync off, over its unix
socket). SQLAlchemy Core runs its synchronous engine with the same drivers (sqlite3,
psycopg 3): its asyncio engine would run these same drivers through greenlets, and the
store keeps its writes on one thread either way. Needs `pip install sqlalchemy`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import Figure, percentiles, standalone
from receptionist.core.outcomes import Outcome, check_outcome
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from tests.postgres import running_cluster

SECTION = "store layers"
TURNS = 8
Writes = Iterator[tuple[str, Callable[[], object]]]  # one call's writes, in order


def _ours(location: Path | PostgresUrl) -> tuple[Callable[[int], Writes], Store]:
    store = Store(location)

    def call(n: int) -> Writes:
        call_id = f"ours-{n}"
        yield "start_call", lambda: store.start_call(call_id, "bench", "+12125550123", "chan")
        for i in range(TURNS):
            speaker = "caller" if i % 2 == 0 else "assistant"
            yield (
                "add_turn",
                lambda i=i, s=speaker: store.add_turn(  # type: ignore[misc]
                    call_id, s, f"turn {i} about the billing question", i * 1000, i * 1000 + 900
                ),
            )
        for _ in range(2):
            yield "add_tool_call", lambda: store.add_tool_call(call_id, "faq", "{}", "ok", 1.5)
        yield "add_message", lambda: store.add_message(call_id, "bench", "Ann", "+1", "call back")
        yield "add_outcome", lambda: store.add_outcome(call_id, "completed")
        yield "end_call", lambda: store.end_call(call_id)

    return call, store


def _alchemy(location: Path | PostgresUrl) -> tuple[Callable[[int], Writes], Any]:
    import sqlalchemy as sa

    Store(location).close()  # the same schema: the receptionist's migrations
    if isinstance(location, PostgresUrl):
        url = location.secret().replace("postgresql://", "postgresql+psycopg://", 1)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
        now: Callable[[], Any] = lambda: datetime.now(UTC)  # noqa: E731
    else:
        engine = sa.create_engine(f"sqlite:///{location}", pool_size=1)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA busy_timeout = 15000")

        now = lambda: datetime.now(UTC).isoformat(timespec="milliseconds")  # noqa: E731
    meta = sa.MetaData()
    names = ["calls", "turns", "tool_calls", "messages", "outcomes"]
    meta.reflect(engine, only=names)
    calls, turns, tools, messages, outcomes = (meta.tables[n] for n in names)
    conn = engine.connect()

    def write(statement: Any, *, returns: bool = False) -> Any:
        if isinstance(location, PostgresUrl):
            result = conn.execute(statement)
            return result.scalar_one() if returns else None
        with conn.begin():  # pysqlite: one transaction per write, committed (fsync'd)
            result = conn.execute(statement)
            return result.scalar_one() if returns else None

    def returning_id(table: Any, **values: Any) -> int:
        statement = sa.insert(table).values(**values).returning(table.c.id)
        return int(write(statement, returns=True))

    def call(n: int) -> Writes:
        call_id = f"sa-{n}"
        insert_call = (
            sa.insert(calls)
            .values(
                id=call_id,
                business="bench",
                caller_number="+12125550123",
                channel_id="chan",
                started_at=now(),
            )
            .prefix_with("OR IGNORE", dialect="sqlite")
        )
        yield "start_call", lambda: write(insert_call)
        for i in range(TURNS):
            speaker = "caller" if i % 2 == 0 else "assistant"
            yield "add_turn", lambda i=i, s=speaker: returning_id(  # type: ignore[misc]
                turns, call_id=call_id, speaker=s, text=f"turn {i} about the billing question",
                start_ms=i * 1000, end_ms=i * 1000 + 900, created_at=now(),
            )  # fmt: skip
        for _ in range(2):
            yield "add_tool_call", lambda: returning_id(
                tools, call_id=call_id, name="faq", arguments="{}", result="ok",
                duration_ms=1.5, created_at=now(),
            )  # fmt: skip
        yield "add_message", lambda: returning_id(
            messages, call_id=call_id, business="bench", caller_name="Ann", callback_number="+1",
            message="call back", status="new", created_at=now(),
        )  # fmt: skip
        label = check_outcome(Outcome.COMPLETED)
        outcome = {"call_id": call_id, "outcome": label, "created_at": now()}
        yield "add_outcome", lambda: write(sa.insert(outcomes).values(**outcome).prefix_with(
            "OR IGNORE", dialect="sqlite"))  # fmt: skip
        yield "end_call", lambda: write(
            sa.update(calls).where(calls.c.id == call_id, calls.c.ended_at.is_(None))
            .values(ended_at=now())
        )  # fmt: skip

    class Closer:
        def close(self) -> None:
            conn.close()
            engine.dispose()

    return call, Closer()


def _measure(make: Callable[[Path | PostgresUrl], Any], location: Path | PostgresUrl,
             calls: int) -> list[float]:  # fmt: skip
    call, handle = make(location)
    for warm in range(3):  # connections, statement caches, first pages
        for _, write in call(-1 - warm):
            write()
    spent: list[float] = []
    for n in range(calls):
        for _, write in call(n):
            start = time.perf_counter()
            write()
            spent.append((time.perf_counter() - start) * 1e6)
    handle.close()
    return spent


@contextmanager
def _engines() -> Iterator[dict[str, Callable[[str], Path | PostgresUrl]]]:
    with tempfile.TemporaryDirectory() as tmp, running_cluster() as cluster:

        def sqlite(name: str) -> Path:
            return Path(tmp) / f"{name}.db"

        yield {"sqlite": sqlite, "postgresql": lambda _name: cluster.new_database()}


def run(quick: bool = False) -> list[Figure]:
    calls = 20 if quick else 100
    figures: list[Figure] = []
    note = f"{calls} calls x {TURNS + 6} writes, each committed"
    with _engines() as engines:
        for engine, location in engines.items():
            for layer, make in (("sql.py", _ours), ("SQLAlchemy Core", _alchemy)):
                spent = _measure(make, location(layer.split()[0].replace(".", "")), calls)
                p50, p95 = percentiles(spent, 50, 95)
                name = f"{engine} {layer} write"
                figures += [
                    Figure(SECTION, f"{name} p50", p50, "us", note=note),
                    Figure(SECTION, f"{name} p95", p95, "us", note=note),
                    Figure(SECTION, f"{name} mean", statistics.fmean(spent), "us", note=note),
                ]
    code = "import time; t = time.perf_counter(); import sqlalchemy; print(time.perf_counter() - t)"
    took = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)  # fmt: skip
    figures.append(Figure(SECTION, "SQLAlchemy import", took * 1e3, "ms",
                          note="what each process would pay at start"))  # fmt: skip
    return figures


if __name__ == "__main__":
    standalone(SECTION, __doc__ or "", run, "20 calls instead of 100")
