"""Login sessions, the audit trail and login rate limiting for the web page."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from receptionist.store.sql import Db, insert
from receptionist.store.users import User, Users

SESSION_HOURS = 12


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str  # the token every POST of this session must carry


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Sessions:
    def __init__(self, db: Db) -> None:
        self.db = db
        self.users = Users(db)

    def open(self, user: User) -> str:
        """A new session for `user`; returns the cookie token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now, time = _now(), self.db.dialect.time
        row = {"token_hash": _digest(token), "user_id": user.id, "csrf": secrets.token_urlsafe(32),
               "created_at": time(now),
               "expires_at": time(now + timedelta(hours=SESSION_HOURS))}  # fmt: skip
        self.db.execute("DELETE FROM sessions WHERE expires_at < ?", [time(now)])
        insert(self.db, "sessions", row)
        return token

    def get(self, token: str) -> Session | None:
        sql = "SELECT user_id, csrf FROM sessions WHERE token_hash = ? AND expires_at > ?"
        rows = self.db.query(sql, [_digest(token), self.db.dialect.time(_now())])
        if not rows:
            return None
        user = self.users.get_by_id(int(rows[0]["user_id"]))
        return Session(user, str(rows[0]["csrf"])) if user else None

    def close(self, token: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE token_hash = ?", [_digest(token)])

    def audit(self, user: User, action: str, target: str) -> None:
        row = {"username": user.username, "action": action, "target": target,
               "created_at": self.db.dialect.now()}  # fmt: skip
        insert(self.db, "audit", row)

    def audit_log(self, limit: int = 100) -> list[dict[str, str]]:
        sql = "SELECT username, action, target, created_at FROM audit ORDER BY id DESC LIMIT ?"
        return [{key: _text(value) for key, value in row.items()}
                for row in self.db.query(sql, [limit])]  # fmt: skip


def _text(value: object) -> str:
    """Audit rows as text on either engine (PostgreSQL returns its times as datetimes)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return str(value) if value is not None else ""


class LoginLimiter:
    """Failed logins allowed within `window` seconds: `attempts` per (address, username),
    and `per_address` per address over every username (a spray of guessed names)."""

    ANY = "\x00any"  # the per-address bucket's key; no username can be this

    def __init__(self, attempts: int = 5, window: float = 300.0, per_address: int = 20) -> None:
        self.attempts = attempts
        self.per_address = per_address
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures

    def blocked(self, address: str, username: str) -> bool:
        return (
            len(self._recent((address, username.casefold()))) >= self.attempts
            or len(self._recent((address, self.ANY))) >= self.per_address
        )

    def failed(self, address: str, username: str) -> None:
        for key in ((address, username.casefold()), (address, self.ANY)):
            self._recent(key).append(time.monotonic())
        if len(self._failures) > 10_000:  # bound memory under a spray of usernames
            self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, address: str, username: str) -> None:
        self._failures.pop((address, username.casefold()), None)
