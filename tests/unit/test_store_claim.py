"""Row claiming for background workers on PostgreSQL: two workers never hold one row."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from receptionist.store.pg.claim import claim, release
from receptionist.store.pg.url import PostgresUrl
from tests.postgres import Cluster

LEASE = timedelta(minutes=5)
Conn = psycopg.AsyncConnection[tuple[object, ...]]


async def _jobs(cluster: Cluster, count: int) -> PostgresUrl:
    url = cluster.new_database()
    async with await psycopg.AsyncConnection.connect(url.secret(), autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " kind text, claimed_by text, claimed_until timestamptz)"
        )
        await conn.execute(
            "INSERT INTO jobs (kind) SELECT CASE WHEN n %% 2 = 0 THEN 'mail' ELSE 'hook' END"
            " FROM generate_series(1, %s) AS n",
            [count],
        )
    return url


async def _connect(url: PostgresUrl) -> Conn:
    return await psycopg.AsyncConnection.connect(url.secret(), autocommit=True)


async def test_two_workers_claiming_at_once_never_share_a_row(pg_cluster: Cluster) -> None:
    url = await _jobs(pg_cluster, 400)
    taken: dict[str, list[int]] = {"a": [], "b": []}

    async def worker(name: str) -> None:
        async with await _connect(url) as conn:
            while rows := await claim(conn, "jobs", worker=name, lease=LEASE, limit=3):
                assert all(row["claimed_by"] == name for row in rows)
                taken[name].extend(row["id"] for row in rows)

    await asyncio.gather(worker("a"), worker("b"))
    assert set(taken["a"]).isdisjoint(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == list(range(1, 401))  # every row, once


async def test_rows_locked_by_a_claim_in_progress_are_skipped_not_waited_for(
    pg_cluster: Cluster,
) -> None:
    url = await _jobs(pg_cluster, 4)
    async with await _connect(url) as first, await _connect(url) as second:
        async with first.transaction():  # first's claim holds its row locks until commit
            held = await claim(first, "jobs", worker="a", lease=LEASE, limit=2)
            # Without SKIP LOCKED this would wait for `first`; the timeout would then fail it.
            other = await asyncio.wait_for(
                claim(second, "jobs", worker="b", lease=LEASE, limit=4), timeout=10
            )
        assert [row["id"] for row in held] == [1, 2]
        assert [row["id"] for row in other] == [3, 4]
        # Committed leases keep the rows: nothing left to claim.
        assert await claim(second, "jobs", worker="b", lease=LEASE, limit=4) == []


async def test_expired_leases_and_released_rows_are_claimed_again(pg_cluster: Cluster) -> None:
    url = await _jobs(pg_cluster, 4)
    async with await _connect(url) as conn:
        mail = sql.SQL("kind = {}").format(sql.Literal("mail"))
        first = await claim(conn, "jobs", worker="a", lease=LEASE, limit=10, ready=mail)
        assert [(row["id"], row["kind"]) for row in first] == [(2, "mail"), (4, "mail")]
        # A worker that died: its lease has run out, so another worker takes the row.
        await conn.execute("UPDATE jobs SET claimed_until = now() - interval '1 second'"
                           " WHERE id = 2")  # fmt: skip
        assert [r["id"] for r in await claim(conn, "jobs", worker="b", lease=LEASE)] == [1]
        again = await claim(conn, "jobs", worker="b", lease=LEASE, limit=10, ready=mail)
        assert [(row["id"], row["claimed_by"]) for row in again] == [(2, "b")]
        assert await release(conn, "jobs", [4], worker="b") == 0  # not b's to release
        assert await release(conn, "jobs", [4], worker="a") == 1
        assert [r["id"] for r in await claim(conn, "jobs", worker="b", lease=LEASE)] == [3]
        assert [r["id"] for r in await claim(conn, "jobs", worker="b", lease=LEASE)] == [4]
        with pytest.raises(ValueError, match="limit"):
            await claim(conn, "jobs", worker="b", lease=LEASE, limit=0)
