"""What /health reports: each part the service needs to take a call, and which one fails.

A part is healthy when it can do its job right now: ARI's events websocket is
connected, the AudioSocket server is accepting connections, and the call log takes a
write (store/health.py: on SQLite a file made in its directory and the database's write
lock; on PostgreSQL a connection to a primary).
"""

from __future__ import annotations

from dataclasses import dataclass

from receptionist.audiosocket.server import AudioSocketServer
from receptionist.store.engine import Location
from receptionist.store.health import probe


@dataclass(frozen=True)
class Health:
    ari: str  # "connected" | "disconnected"
    audiosocket: str  # "listening" | "down"
    call_log: str  # "writable" | "unwritable: <why>"
    active_calls: int

    @property
    def failing(self) -> list[str]:
        return [
            name
            for name, good in (
                ("ari", self.ari == "connected"),
                ("audiosocket", self.audiosocket == "listening"),
                ("call_log", self.call_log == "writable"),
            )
            if not good
        ]

    def body(self) -> dict[str, object]:
        return {
            "status": "ok" if not self.failing else "failing",
            "failing": self.failing,
            "ari": self.ari,
            "audiosocket": self.audiosocket,
            "call_log": self.call_log,
            "active_calls": self.active_calls,
        }


async def check_health(
    *,
    ari_connected: bool,
    audiosocket: AudioSocketServer | None,
    database: Location,
    active_calls: int,
) -> Health:
    problem = await probe(database)
    return Health(
        ari="connected" if ari_connected else "disconnected",
        audiosocket="listening" if audiosocket is not None and audiosocket.listening else "down",
        call_log="writable" if problem is None else f"unwritable: {problem}",
        active_calls=active_calls,
    )
