"""A fake Google Calendar API (v3) and OAuth2 token endpoint on 127.0.0.1 for tests.

It speaks the REST wire protocol google-api-python-client and google-auth use:
the service-account JWT-bearer grant at /token (the assertion's RS256 signature
is checked against the account's public key), then free/busy queries and event
inserts under /calendar/v3/ with the Bearer token it issued. Point a business at
it with `api_endpoint: <server.url>` and a key file whose token_uri is
`server.token_uri`.

    async with FakeGoogleCalendar(email, public_key, busy={"cal": [(start, end)]}) as fake:
        ...book...
        assert fake.events["cal"][0]["summary"] == "Appointment: Ann"
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Client-chosen event ids: base32hex (a-v, 0-9), 5 to 1024 characters.
EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always signs for Google's own audience, whatever token_uri says.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


def write_key_file(path: Path, key: rsa.RSAPrivateKey, token_uri: str, email: str) -> Path:
    """A service-account JSON key file for `email`, signed by `key`, using `token_uri`."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account", "project_id": "test-project", "private_key_id": "k1",
        "private_key": pem, "client_email": email, "client_id": "1", "token_uri": token_uri,
    }  # fmt: skip
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _error(status: int, reason: str, message: str) -> web.Response:
    """Google's JSON error shape."""
    detail = {"domain": "global", "reason": reason, "message": message}
    body = {"error": {"code": status, "message": message, "errors": [detail]}}
    return web.json_response(body, status=status)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class FakeGoogleCalendar:
    """`async with FakeGoogleCalendar(...) as fake:`; the API root is `fake.url`.

    `busy` maps calendar ids to scripted (start, end) busy intervals; inserted events
    are busy too. Set `fail_status` to answer every API call with that HTTP error.
    A slow calendar: `insert_delay` seconds between storing an event and answering the
    insert; `hang_inserts` stores it and never answers (until the server closes).
    `invites` lists (event id, email) for each invitation Google would email: attendees
    of an insert or a patch sent with sendUpdates=all or externalOnly.
    """

    def __init__(
        self,
        client_email: str,
        public_key: rsa.RSAPublicKey,
        busy: dict[str, list[tuple[datetime, datetime]]] | None = None,
    ) -> None:
        self.client_email = client_email
        self.public_key = public_key
        self.busy = busy or {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.freebusy_requests: list[dict[str, Any]] = []
        self.token_requests = 0
        self.fail_status: int | None = None
        self.insert_delay = 0.0
        self.hang_inserts = False
        self.invites: list[tuple[str, str]] = []
        self.deleted: list[str] = []
        self.requests: list[str] = []  # "METHOD path?query" of every API call, in order
        self._closing = asyncio.Event()
        self._tokens: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    async def __aenter__(self) -> FakeGoogleCalendar:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/calendar/v3/freeBusy", self._freebusy)
        app.router.add_post("/calendar/v3/calendars/{calendar_id}/events", self._insert)
        event = "/calendar/v3/calendars/{calendar_id}/events/{event_id}"
        app.router.add_patch(event, self._patch)
        app.router.add_delete(event, self._delete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()  # hung inserts answer now, so the server can stop
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if form.get("grant_type") != JWT_BEARER:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        assertion = str(form.get("assertion", ""))
        problem = self._check_assertion(assertion)
        if problem:
            return web.json_response(
                {"error": "invalid_grant", "error_description": problem}, status=400
            )
        token = secrets.token_urlsafe(16)
        self._tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "Bearer",
                                  "expires_in": 3600})  # fmt: skip

    def _check_assertion(self, assertion: str) -> str | None:
        parts = assertion.split(".")
        if len(parts) != 3:
            return "assertion is not a JWT"
        try:
            header = json.loads(_b64decode(parts[0]))
            payload = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except ValueError:
            return "assertion is not a JWT"
        if header.get("alg") != "RS256":
            return f"unexpected alg {header.get('alg')!r}"
        signed = f"{parts[0]}.{parts[1]}".encode()
        try:
            self.public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "Invalid JWT Signature."
        if payload.get("iss") != self.client_email:
            return f"unknown issuer {payload.get('iss')!r}"
        if payload.get("aud") != TOKEN_AUDIENCE:
            return f"unexpected audience {payload.get('aud')!r}"
        if "calendar" not in str(payload.get("scope", "")):
            return "no calendar scope"
        return None

    def _refusal(self, request: web.Request) -> web.Response | None:
        self.requests.append(f"{request.method} {request.path_qs}")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self._tokens:
            return _error(401, "authError", "Invalid Credentials")
        if self.fail_status is not None:
            return _error(self.fail_status, "backendError", "Backend Error")
        return None

    async def _freebusy(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        body = await request.json()
        self.freebusy_requests.append(body)
        low, high = _instant(body["timeMin"]), _instant(body["timeMax"])
        calendars: dict[str, Any] = {}
        for item in body.get("items", []):
            cal = item["id"]
            if cal not in self.busy and cal not in self.events:
                calendars[cal] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                  "busy": []}  # fmt: skip
                continue
            spans = list(self.busy.get(cal, []))
            spans += [(_instant(e["start"]["dateTime"]), _instant(e["end"]["dateTime"]))
                      for e in self.events.get(cal, [])]  # fmt: skip
            busy = [
                {"start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                 "end": end.astimezone(UTC).isoformat().replace("+00:00", "Z")}
                for start, end in sorted(spans) if start < high and low < end
            ]  # fmt: skip
            calendars[cal] = {"busy": busy}
        return web.json_response({"kind": "calendar#freeBusy", "timeMin": body["timeMin"],
                                  "timeMax": body["timeMax"], "calendars": calendars})  # fmt: skip

    async def _insert(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        cal = request.match_info["calendar_id"]
        if cal not in self.busy and cal not in self.events:
            return _error(404, "notFound", "Not Found")
        body = await request.json()
        problems = [f for f in ("summary",) if not body.get(f)]
        for edge in ("start", "end"):
            value = body.get(edge) or {}
            if "dateTime" not in value or not value.get("timeZone"):
                problems.append(f"{edge}.dateTime and {edge}.timeZone")
        if problems:
            return _error(400, "required", f"Missing {', '.join(problems)}")
        event_id = str(body.get("id") or secrets.token_hex(8))
        if not EVENT_ID.fullmatch(event_id):
            return _error(400, "invalid", "Invalid resource id value.")
        if any(e["id"] == event_id for e in self.events.get(cal, [])):
            return _error(409, "duplicate", "The requested identifier already exists.")
        event = {**body, "id": event_id, "kind": "calendar#event", "status": "confirmed"}
        self.events.setdefault(cal, []).append(event)
        self._invite(event_id, body.get("attendees", []), request)
        # Stored first, answered late (or never): what a slow or hung calendar does.
        if self.hang_inserts:
            await self._closing.wait()
        elif self.insert_delay:
            await asyncio.sleep(self.insert_delay)
        return web.json_response(event)

    def _find(self, request: web.Request) -> dict[str, Any] | None:
        cal, event_id = request.match_info["calendar_id"], request.match_info["event_id"]
        return next((e for e in self.events.get(cal, []) if e["id"] == event_id), None)

    async def _patch(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        event = self._find(request)
        if event is None:
            return _error(404, "notFound", "Not Found")
        body = await request.json()
        before = {a["email"] for a in event.get("attendees", [])}
        event.update(body)
        added = [a for a in body.get("attendees", []) if a["email"] not in before]
        self._invite(event["id"], added, request)
        return web.json_response(event)

    async def _delete(self, request: web.Request) -> web.Response:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        event = self._find(request)
        if event is None:
            return _error(404, "notFound", "Not Found")
        self.events[request.match_info["calendar_id"]].remove(event)
        self.deleted.append(event["id"])
        return web.Response(status=204)

    def _invite(self, event_id: str, attendees: list[dict[str, str]], request: web.Request) -> None:
        if request.query.get("sendUpdates") in ("all", "externalOnly"):
            self.invites += [(event_id, a["email"]) for a in attendees]
