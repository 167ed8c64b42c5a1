"""Who sees what on the web page: logins, businesses, CSRF, recordings' paths, cookies;
on SQLite and on PostgreSQL.

Runs the real web app on a loopback port and talks HTTP to it, as a browser (or an
attacker guessing URLs) would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from receptionist.store.log import Store
from receptionist.store.pg.url import PostgresUrl
from tests.unit.store_backends import database_fixture  # noqa: F401 (each test on both engines)
from tests.web_site import PASSWORD, Site, make_site, serving, write_wav


@pytest.fixture
def site(tmp_path: Path, database: Path | PostgresUrl) -> Site:
    return make_site(tmp_path, database=database)


@pytest.fixture
async def url(site: Site) -> AsyncIterator[str]:
    async with serving(site.settings, site.businesses) as base:
        yield base


def client(url: str) -> aiohttp.ClientSession:
    # unsafe=True: keep cookies for an IP-address host (the server is on 127.0.0.1).
    return aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True))


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field"
    return found.group(1)


async def login(http: aiohttp.ClientSession, username: str, **headers: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = await (await http.get("/login", headers=headers)).text()
    form = {"username": username, "password": PASSWORD, "csrf": hidden(page, "csrf")}
    response = await http.post("/login", data=form | {"next": "/inbox"}, headers=headers)
    assert response.status == 200 and response.url.path == "/inbox", response.status
    return hidden(await response.text(), "csrf")


GUESSES = ["/calls/call-b", "/calls/call-b/recordings/2", "/calls/call-a/recordings/2",
           "/calls?business=plumbing", "/inbox?business=plumbing", "/calls/no-such-call",
           "/calls/call-a/recordings/7",
           "/calls/call-a/recordings/..%2F..%2Fetc%2Fpasswd", "/calls/..%2Fcall-b"]  # fmt: skip


async def test_logged_out_requests_go_to_the_login_page(url: str, site: Site) -> None:
    async with client(url) as http:
        for path in ["/", "/inbox", "/calls", "/calls/call-a", "/calls/call-a/recordings/1",
                     "/live", "/live/events"]:  # fmt: skip
            response = await http.get(path)
            assert response.url.path == "/login", path
            assert "Sign in" in await response.text()
        response = await http.post(f"/messages/{site.messages['dental']}/handled", data={})
        assert response.url.path == "/login"
    assert _status(site, "dental") == "new"


async def test_staff_get_404_for_another_business_by_any_url(url: str, site: Site) -> None:
    async with client(url) as http:
        csrf = await login(http, "staff-a")
        inbox = await (await http.get("/inbox")).text()
        assert "Caller of dental" in inbox and "plumbing" not in inbox.lower()
        calls = await (await http.get("/calls")).text()
        assert "/calls/call-a" in calls and "call-b" not in calls
        for path in GUESSES:
            response = await http.get(path, allow_redirects=False)
            assert response.status == 404, path
        other = site.messages["plumbing"]
        for action in ("handled", "reopen", "assign", "note"):
            form = {"csrf": csrf, "note": "x", "assignee": ""}
            response = await http.post(f"/messages/{other}/{action}", data=form)
            assert response.status == 404, action
        own = await http.get("/calls/call-a/recordings/1")
        assert own.status == 200 and (await own.read())[:4] == b"RIFF"
    assert _status(site, "plumbing") == "new"


async def test_admin_sees_every_business(url: str) -> None:
    async with client(url) as http:
        await login(http, "admin")
        for path in ("/calls/call-b", "/calls/call-b/recordings/2", "/calls?business=plumbing"):
            assert (await http.get(path)).status == 200, path


async def test_a_post_without_its_csrf_token_is_refused(url: str, site: Site) -> None:
    message = site.messages["dental"]
    async with client(url) as http:
        csrf = await login(http, "staff-a")
        for data in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1]}):
            response = await http.post(f"/messages/{message}/handled", data=data)
            assert response.status == 403
        assert _status(site, "dental") == "new"
        response = await http.post(f"/messages/{message}/handled", data={"csrf": csrf})
        assert response.status == 200 and response.url.path == "/inbox"
        # Logging in needs the login form's own token too.
        response = await http.post("/login", data={"username": "admin", "password": PASSWORD})
        assert response.status == 403
    assert _status(site, "dental") == "handled"
    store = Store(site.database)
    audit = store.sql.query("SELECT username, action, target FROM audit")
    assert audit == [
        {"username": "staff-a", "action": "mark_handled", "target": f"message {message}"}
    ]


async def test_recordings_outside_the_recordings_folder_are_refused(
    url: str, site: Site, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF secret")
    store = Store(site.database)
    store.add_recording("call-a", str(site.recordings / ".." / "secret.wav"), 1.0)
    store.add_recording("call-a", str(secret), 1.0)
    (site.recordings / "link.wav").symlink_to(secret)
    store.add_recording("call-a", str(site.recordings / "link.wav"), 1.0)
    async with client(url) as http:
        await login(http, "admin")
        for recording_id in (3, 4, 5):
            response = await http.get(f"/calls/call-a/recordings/{recording_id}")
            assert response.status == 404, recording_id
        assert (await http.get("/calls/call-a/recordings/1")).status == 200


async def test_recordings_answer_range_requests_and_playback_is_audited(
    url: str, site: Site
) -> None:
    size = (site.recordings / "call-call-a.wav").stat().st_size
    async with client(url) as http:
        await login(http, "staff-a")
        whole = await http.get("/calls/call-a/recordings/1")
        assert whole.status == 200 and whole.headers["Accept-Ranges"] == "bytes"
        part = await http.get("/calls/call-a/recordings/1", headers={"Range": "bytes=1000-1999"})
        assert part.status == 206
        assert part.headers["Content-Range"] == f"bytes 1000-1999/{size}"
        assert len(await part.read()) == 1000
    rows = Store(site.database).sql.query("SELECT action, target FROM audit")
    assert rows == [{"action": "play_recording", "target": "call call-a recording 1"}]


async def test_session_cookie_flags_and_secure_only_behind_a_trusted_tls_proxy(
    url: str, tmp_path: Path
) -> None:
    cookie = await login_cookie(url, {})
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # The test client is 127.0.0.1: by default a trusted proxy, whose word about TLS counts.
    tls = {"X-Forwarded-Proto": "https"}
    assert "Secure" in await login_cookie(url, tls)
    untrusted = make_site(tmp_path / "untrusted", web_trusted_proxies="192.0.2.1")
    async with serving(untrusted.settings, untrusted.businesses) as other:
        assert "Secure" not in await login_cookie(other, tls)


async def login_cookie(url: str, headers: dict[str, str]) -> str:
    async with client(url) as http:
        page = await (await http.get("/login", headers=headers)).text()
        form = {"username": "admin", "password": PASSWORD, "csrf": hidden(page, "csrf")}
        response = await http.post("/login", data=form, headers=headers, allow_redirects=False)
        assert "Content-Security-Policy" in response.headers
        return response.headers["Set-Cookie"]


async def test_repeated_failed_logins_are_rate_limited(url: str) -> None:
    async with client(url) as http:
        csrf = hidden(await (await http.get("/login")).text(), "csrf")
        statuses = []
        for _ in range(6):
            form = {"username": "admin", "password": "wrong password", "csrf": csrf}
            statuses.append((await http.post("/login", data=form)).status)
        assert statuses == [401] * 5 + [429]
        form = {"username": "admin", "password": PASSWORD, "csrf": csrf}
        assert (await http.post("/login", data=form)).status == 429  # even the right one, for now


async def test_open_redirects_are_not_followed_after_login_or_a_form(url: str, site: Site) -> None:
    async with client(url) as http:
        for target in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
            page = await (await http.get("/login", params={"next": target})).text()
            assert hidden(page, "next") == "/inbox"
        csrf = await login(http, "staff-a")
        form = {"csrf": csrf, "back": "/\\evil.example/"}
        response = await http.post(f"/messages/{site.messages['dental']}/handled", data=form,
                                   allow_redirects=False)  # fmt: skip
        assert response.headers["Location"] == "/inbox"


def _status(site: Site, business: str) -> str:
    message = Store(site.database).get_message(site.messages[business])
    assert message is not None
    return message.status


async def test_signing_out_ends_the_session_on_the_server(url: str) -> None:
    async def replay(token: str) -> str:
        async with client(url) as other:
            other.cookie_jar.update_cookies({"rx_session": token}, URL(url))
            return (await other.get("/inbox")).url.path

    async with client(url) as http:
        csrf = await login(http, "staff-a")
        token = next(c.value for c in http.cookie_jar if c.key == "rx_session")
        assert await replay(token) == "/inbox"  # the cookie alone is the session
        assert (await http.post("/logout", data={})).status == 403  # CSRF here too
        response = await http.post("/logout", data={"csrf": csrf})
        assert response.url.path == "/login"
    # The same cookie, replayed, opens nothing now: the session is gone from the database.
    assert await replay(token) == "/login"


async def test_players_follow_recording_ids_past_a_purged_recording(url: str, site: Site) -> None:
    """Retention purged the first recording of a call with two: one player is left, and
    it plays the second file (numbering by position served the wrong one, or none)."""
    second = site.recordings / "second.wav"
    write_wav(second, 3.0)
    store = Store(site.database)
    kept = store.add_recording("call-a", str(second), 3.0)
    store.sql.execute("UPDATE recordings SET purged_at = '2026-01-01' WHERE id = 1")
    async with client(url) as http:
        await login(http, "staff-a")
        page = await (await http.get("/calls/call-a")).text()
        players = re.findall(r'<audio[^>]* src="([^"]+)"', page)
        assert players == [f"/calls/call-a/recordings/{kept}"]
        served = await (await http.get(players[0])).read()
        assert served == second.read_bytes()
        assert (await http.get("/calls/call-a/recordings/1")).status == 404
