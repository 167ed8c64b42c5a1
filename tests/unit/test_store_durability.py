"""A message the model was told is saved survives the process being killed at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from receptionist.store.open import open_sync_store
from receptionist.store.pg.url import PostgresUrl
from tests.unit.conftest import EXAMPLE, REPO
from tests.unit.store_backends import database_fixture  # noqa: F401 (SQLite and PostgreSQL)

# Runs in a child process: take a message through the real tool, report, then wait to be killed.
CHILD = """
import asyncio, json, sys
from pathlib import Path
from receptionist.business import load_business
from receptionist.store.open import open_store
from receptionist.store.pg.url import PostgresUrl, is_postgres
from receptionist.tools.call_tools import CallTools

async def main() -> None:
    business = load_business(sys.argv[1], env={})
    where = sys.argv[2]
    store = await open_store(PostgresUrl(where) if is_postgres(where) else Path(where))
    await store.start_call("durable-call", business.slug, "+12125550123", "chan")
    tools = CallTools(business, store, "durable-call")
    arguments = {"caller_name": "Dora", "callback_number": "917 555 0142", "message": "Keep me"}
    outcome = await tools.call("take_message", json.dumps(arguments))
    print("SAVED" if outcome.ok else "FAILED " + outcome.output, flush=True)
    await asyncio.Event().wait()  # never closes the store: the parent kills us

asyncio.run(main())
"""


def test_message_survives_sigkill(database: Path | PostgresUrl) -> None:
    where = database.secret() if isinstance(database, PostgresUrl) else str(database)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(EXAMPLE), where],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)  # immediately after it reported success
    finally:
        child.kill()
        child.wait(timeout=10)
    assert line == "SAVED"
    assert child.returncode == -signal.SIGKILL
    if isinstance(database, Path):
        # Not checkpointed: the row is in the WAL, which SQLite replays on the next open.
        assert Path(f"{database}-wal").stat().st_size > 0
    store = open_sync_store(database, create=False)
    [message] = store.list_messages()
    assert (message.caller_name, message.callback_number, message.message) == (
        "Dora",
        "+19175550142",
        "Keep me",
    )
    assert message.call_id == "durable-call" and message.status == "new"
    store.close()
