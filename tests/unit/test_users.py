"""Web page accounts: scrypt hashes, roles and businesses, sessions, the users CLI; the
accounts, sessions and audit on both engines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from receptionist.cli import main
from receptionist.store.callbacks import extension_of
from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from receptionist.store.users import UserError, Users, hash_password, verify_password
from receptionist.web.sessions import LoginLimiter, Sessions
from tests.unit.store_backends import (  # noqa: F401 (fixtures: each test runs on both engines)
    database_fixture,
    store_fixture,
)

PASSWORD = "correct horse battery staple"


def test_hashes_are_salted_scrypt_and_verify_only_the_right_password() -> None:
    first, second = hash_password(PASSWORD, n=2**10), hash_password(PASSWORD, n=2**10)
    assert first.startswith("scrypt$1024$8$1$") and first != second
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password(PASSWORD, "not a hash")
    assert PASSWORD not in first


def test_new_passwords_get_owasp_cost() -> None:
    assert hash_password(PASSWORD).startswith("scrypt$131072$8$1$")


def test_users_have_roles_and_businesses_and_bad_input_is_refused(store: Store) -> None:
    users = Users(store.sql, cost=2**10)
    admin = users.add("Alice", PASSWORD, "admin")
    staff = users.add("bob", PASSWORD, "staff", ["dental", "plumbing"])
    assert admin.username == "alice" and admin.visible() is None and admin.can_see("anything")
    assert staff.visible() == ("dental", "plumbing") and not staff.can_see("bakery")
    assert [u.username for u in users.list()] == ["alice", "bob"]
    for args, why in [
        (("carl", PASSWORD, "staff", []), "at least one business"),
        (("carl", "short", "staff", ["dental"]), "at least 10 characters"),
        (("carl", PASSWORD, "admin", ["dental"]), "every business"),
        (("bob", PASSWORD, "staff", ["dental"]), "already a user"),
        (("no spaces", PASSWORD, "admin", []), "not a valid username"),
        (("carl", PASSWORD, "staff", ["../etc"]), "not a business slug"),
    ]:
        with pytest.raises(UserError, match=why):
            users.add(*args)  # type: ignore[arg-type]
    assert users.authenticate("BOB", PASSWORD) == staff
    assert users.authenticate("bob", "wrong password!") is None
    assert users.authenticate("nobody", PASSWORD) is None


def test_a_new_password_ends_sessions_and_removal_ends_the_account(store: Store) -> None:
    db = store.sql
    sessions = Sessions(db)
    sessions.users.cost = 2**10
    user = sessions.users.add("bob", PASSWORD, "staff", ["dental"])
    token = sessions.open(user)
    found = sessions.get(token)
    assert found is not None and found.user == user and len(found.csrf) > 20
    # Only a hash of the token is stored: the database alone opens no session.
    assert token not in str(db.query("SELECT * FROM sessions"))
    sessions.audit(user, "mark_handled", "message 1")
    [entry] = sessions.audit_log()
    assert entry["action"] == "mark_handled" and entry["created_at"].startswith("20")
    assert sessions.users.set_password("bob", "another long password")
    assert sessions.get(token) is None
    token = sessions.open(user)
    assert sessions.users.remove("bob") and sessions.get(token) is None
    assert not sessions.users.remove("bob")


def test_login_limiter_blocks_after_repeated_failures_per_address_and_name() -> None:
    limiter = LoginLimiter(attempts=3, window=60)
    for _ in range(3):
        assert not limiter.blocked("10.0.0.1", "bob")
        limiter.failed("10.0.0.1", "bob")
    assert limiter.blocked("10.0.0.1", "BOB")
    assert not limiter.blocked("10.0.0.2", "bob") and not limiter.blocked("10.0.0.1", "alice")
    spray = LoginLimiter(attempts=3, window=60, per_address=5)
    for n in range(5):
        assert not spray.blocked("10.0.0.3", f"user{n}")
        spray.failed("10.0.0.3", f"user{n}")
    assert spray.blocked("10.0.0.3", "someone-new") and not spray.blocked("10.0.0.4", "user1")


def test_users_cli_adds_lists_changes_and_removes(
    database: Path | PostgresUrl,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = database.secret() if isinstance(database, PostgresUrl) else str(database)

    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["users", *args, "--db", db])

    assert run("list") == 0
    assert "add the first admin" in capsys.readouterr().out  # no default account
    assert run("add", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert run("add", "bob", "--business", "dental", "--password-stdin", stdin=PASSWORD) == 0
    assert run("add", "carl", "--password-stdin", stdin=PASSWORD) == 1
    assert "at least one business" in capsys.readouterr().err
    assert run("list") == 0
    out = capsys.readouterr().out
    assert "alice" in out and "all businesses" in out and "bob" in out and "dental" in out
    assert PASSWORD not in out
    assert run("passwd", "bob", "--password-stdin", stdin="a new long password") == 0
    assert Users(Store(database).sql).authenticate("bob", "a new long password") is not None
    assert run("remove", "bob") == 0 and run("remove", "bob") == 1
    assert "no user 'bob'" in capsys.readouterr().err


def test_users_phone_sets_and_clears_the_desk_phone_callbacks_ring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "calls.db")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD))
    assert (
        main(["users", "add", "bob", "--business", "dental", "--password-stdin", "--db", db]) == 0
    )
    assert main(["users", "phone", "bob", "201", "--db", db]) == 0
    assert "bob: Call back rings 201" in capsys.readouterr().out
    user = Users(Store(db).sql).get("bob")
    assert user is not None and extension_of(Store(db).sql, user.id) == "201"
    assert main(["users", "phone", "bob", "201@evil,PJSIP/9", "--db", db]) == 1
    assert "not a desk phone extension" in capsys.readouterr().err
    assert main(["users", "phone", "nobody", "202", "--db", db]) == 1
    assert main(["users", "phone", "bob", "--db", db]) == 0  # cleared
    assert extension_of(Store(db).sql, user.id) is None
