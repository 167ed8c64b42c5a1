"""Accounts for the web page: admins see everything, staff only their businesses.

Passwords are hashed with scrypt (hashlib, RFC 7914) at OWASP's recommended cost;
the parameters are stored with each hash so they can be raised later. There is no
default account: the first admin is made with `receptionist users add`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from receptionist.business.models import SLUG_RE
from receptionist.store.sql import Db, insert

Role = Literal["admin", "staff"]
ROLES: tuple[Role, ...] = ("admin", "staff")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt takes any length; a cap keeps a login request cheap
# OWASP password storage: scrypt N=2^17, r=8, p=1 (128 MiB, about 0.3 s here).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1


class UserError(ValueError):
    """A user command that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    businesses: tuple[str, ...]  # staff only; empty for admins

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see(self, business: str) -> bool:
        return self.is_admin or business in self.businesses

    def visible(self) -> tuple[str, ...] | None:
        """The businesses this user may see, or None for all of them."""
        return None if self.is_admin else self.businesses


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    memory = 128 * r * (n + p + 2)  # what scrypt needs, plus room: OpenSSL's default is 32 MiB
    return hashlib.scrypt(
        password.encode()[:MAX_PASSWORD], salt=salt, n=n, r=r, p=p, maxmem=memory + 2**20, dklen=32
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters")


class Users:
    """The users table. Every change is committed when the method returns."""

    def __init__(self, db: Db, *, cost: int = SCRYPT_N) -> None:
        self.db = db
        self.cost = cost  # scrypt N for new hashes; a stored hash keeps the N it was made with

    def add(self, username: str, password: str, role: Role, businesses: Iterable[str] = ()) -> User:
        username = username.strip().casefold()
        if not USERNAME_RE.match(username):
            raise UserError(
                f"'{username}' is not a valid username (lowercase letters, digits, . _ @ -)"
            )
        if role not in ROLES:
            raise UserError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        slugs = tuple(dict.fromkeys(b.strip() for b in businesses if b.strip()))
        for slug in slugs:
            if not SLUG_RE.match(slug):
                raise UserError(f"'{slug}' is not a business slug")
        if role == "staff" and not slugs:
            raise UserError("a staff user needs at least one business (--business SLUG)")
        if role == "admin" and slugs:
            raise UserError("an admin sees every business: give no --business")
        check_password(password)
        if self.get(username) is not None:
            raise UserError(f"there is already a user '{username}'")
        hashed = hash_password(password, n=self.cost)
        row = {"username": username, "password_hash": hashed, "role": role,
               "businesses": ",".join(slugs), "created_at": self.db.dialect.now()}  # fmt: skip
        user_id = insert(self.db, "users", row)
        assert user_id is not None  # an insert always has one
        return User(int(user_id), username, role, slugs)

    def remove(self, username: str) -> bool:
        user = self.get(username)
        if user is None:
            return False
        self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])
        self.db.execute("DELETE FROM users WHERE id = ?", [user.id])
        return True

    def set_password(self, username: str, password: str) -> bool:
        """Change a password and end that user's sessions; False if there is no such user."""
        check_password(password)
        user = self.get(username)
        if user is None:
            return False
        hashed = hash_password(password, n=self.cost)
        self.db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hashed, user.id])
        self.db.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])
        return True

    def list(self) -> list[User]:
        rows = self.db.query("SELECT id, username, role, businesses FROM users ORDER BY username")
        return [_user(row) for row in rows]

    def get(self, username: str) -> User | None:
        rows = self.db.query(
            "SELECT id, username, role, businesses FROM users WHERE username = ?",
            [username.strip().casefold()],
        )
        return _user(rows[0]) if rows else None

    def get_by_id(self, user_id: int) -> User | None:
        sql = "SELECT id, username, role, businesses FROM users WHERE id = ?"
        rows = self.db.query(sql, [user_id])
        return _user(rows[0]) if rows else None

    def authenticate(self, username: str, password: str) -> User | None:
        user, stored = self.credentials(username)
        return user if check_credentials(password, stored) else None

    def credentials(self, username: str) -> tuple[User | None, str]:
        """The user and their stored hash, for checking a password elsewhere (it is slow):
        for an unknown name, None and a hash no password matches at the same cost."""
        sql = "SELECT id, username, role, businesses, password_hash FROM users WHERE username = ?"
        rows = self.db.query(sql, [username.strip().casefold()])
        if not rows:
            return None, _DUMMY_HASH
        return _user(rows[0]), str(rows[0]["password_hash"])


def check_credentials(password: str, stored: str) -> bool:
    """Hashes even for an unknown user (the dummy hash), so a wrong username takes as
    long as a wrong password."""
    return verify_password(password, stored)


def _user(row: dict[str, object]) -> User:
    role: Role = "admin" if row["role"] == "admin" else "staff"
    slugs = tuple(s for s in str(row["businesses"] or "").split(",") if s)
    return User(int(str(row["id"])), str(row["username"]), role, slugs)


# A well-formed hash no password matches, at the same cost as a real one.
_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$" + "A" * 22 + "==$" + "A" * 43 + "="
