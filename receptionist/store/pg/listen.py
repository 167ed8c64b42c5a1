"""Wake-ups from PostgreSQL's LISTEN/NOTIFY, on a connection of their own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql

from receptionist.core.logs import log
from receptionist.store.pg.db import redacted
from receptionist.store.pg.url import PostgresUrl

logger = logging.getLogger(__name__)
RECONNECT_S = 2.0  # between attempts while the server is unreachable


async def notifications(url: PostgresUrl, channel: str) -> AsyncIterator[None]:
    """One item per notification on `channel`, and one each time the listening connection
    is (re)made, since notifications sent while it was down are lost. Runs until cancelled."""
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                url.secret(), autocommit=True, connect_timeout=10
            )
            async with conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                yield None
                async for _ in conn.notifies():
                    yield None
        except psycopg.OperationalError as error:
            log(logger, logging.WARNING, "listening for the outbox failed; polling meanwhile",
                error=redacted(error, url))  # fmt: skip
        await asyncio.sleep(RECONNECT_S)
