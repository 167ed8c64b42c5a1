"""A thin typed ARI client on aiohttp: the REST calls we use and the events websocket.

Credentials travel in an Authorization header, never in a URL, so they never
reach a log line. Every response status is checked: a failed ARI call raises
`AriError` naming the call, except the 404s that mean "already gone".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from receptionist.ari.models import Bridge, Channel, Event, Recording, parse_event
from receptionist.core.logs import log

logger = logging.getLogger(__name__)

Params = Mapping[str, str | int | float]


class AriError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, reason: str) -> None:
        super().__init__(f"ARI {method} {path} -> {status}: {reason}")
        self.status = status
        self.reason = reason


# Asterisk's HTTP server drops connections beyond http.conf `sessionlimit` (100 by
# default, shared with every other ARI user on the PBX). aiohttp would open one connection
# per request in flight, so a burst of call setups could reach the limit and those calls
# would fail; requests beyond this many wait for a free connection instead (each takes
# about a millisecond).
MAX_CONNECTIONS = 16

# While Asterisk is down, calls go to the dialplan's app-unavailable fallback; once it is
# back, every second we wait sends more of them there. A connection attempt to a closed
# loopback port costs next to nothing, so retrying every second at most is cheap.
RECONNECT_BACKOFF_START = 0.25
MAX_RECONNECT_BACKOFF = 1.0

# A request slower than this is logged: a busy or stuck Asterisk shows up in our logs
# before it shows up as callers in dead air.
SLOW_REQUEST_S = 0.5


class AriClient:
    """REST calls against `http://HOST:PORT/ari/` and the events websocket."""

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        # A trailing slash keeps `/ari/` when joining relative paths.
        self.base_url = url.rstrip("/") + "/ari/"
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """One ARI call. `path` is relative (no leading slash) so `/ari/` is kept."""
        query = {k: str(v) for k, v in (params or {}).items()}
        started = time.monotonic()
        try:
            async with self.session.request(method, path, params=query, json=body) as response:
                if response.status == 404 and missing_ok:
                    return None
                if response.status >= 300:
                    text = (await response.text())[:300]
                    raise AriError(method, path, response.status, text)
                if response.status == 204 or response.content_length == 0:
                    return None
                return await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # Asterisk down or restarting: one error type for callers to handle.
            raise AriError(method, path, 0, f"unreachable ({type(exc).__name__})") from exc
        finally:
            elapsed = time.monotonic() - started
            if elapsed > SLOW_REQUEST_S:
                log(logger, logging.WARNING, "slow ARI request", method=method, path=path,
                    ms=round(elapsed * 1000))  # fmt: skip

    # ---------------------------------------------------------------- asterisk
    async def asterisk_info(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "asterisk/info")
        return result

    async def version(self) -> str:
        info = await self.asterisk_info()
        return str(info.get("system", {}).get("version", ""))

    async def server_id(self) -> str:
        """Which Asterisk server this is: `<systemname>/<entity id>`, or the entity id when
        asterisk.conf sets no systemname. Both, because servers built from one template
        share a systemname, and servers on one host (or one image) share an entity id
        (a hardware address) unless asterisk.conf sets `entityid`."""
        info = await self.asterisk_info()
        entity = str(info.get("system", {}).get("entity_id", ""))
        name = str(info.get("config", {}).get("name", ""))
        if not entity and not name:
            raise AriError("GET", "asterisk/info", 200, "no entity_id nor name in the answer")
        return f"{name}/{entity}" if name else entity

    # ---------------------------------------------------------------- channels
    async def get_channel(self, channel_id: str) -> Channel | None:
        data = await self.request("GET", f"channels/{channel_id}", missing_ok=True)
        return Channel.from_json(data) if data else None

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"channels/{channel_id}/answer")

    async def ring(self, channel_id: str) -> None:
        """Tell the caller's side it is ringing (before answer)."""
        await self.request("POST", f"channels/{channel_id}/ring")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        # 404: the channel is already gone, which is what we wanted.
        await self.request(
            "DELETE", f"channels/{channel_id}", params={"reason": reason}, missing_ok=True
        )

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        context: str | None = None,
        extension: str | None = None,
        caller_id: str | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout: int = 30,
    ) -> Channel:
        params: dict[str, str | int] = {"endpoint": endpoint, "timeout": timeout}
        optional = {
            "app": app,
            "appArgs": app_args,
            "context": context,
            "extension": extension,
            "callerId": caller_id,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        if context is not None:
            params["priority"] = 1
        body = {"variables": dict(variables)} if variables else None
        return Channel.from_json(await self.request("POST", "channels", params=params, body=body))

    async def external_media(
        self,
        *,
        app: str,
        host: str,
        data: str,
        fmt: str = "slin16",
        channel_id: str | None = None,
    ) -> Channel:
        """An AudioSocket leg: Asterisk connects to `host` and sends `data` (a UUID) first."""
        params: dict[str, str] = {
            "app": app,
            "external_host": host,
            "encapsulation": "audiosocket",
            "transport": "tcp",
            "format": fmt,
            "data": data,
        }
        if channel_id:
            params["channelId"] = channel_id
        return Channel.from_json(
            await self.request("POST", "channels/externalMedia", params=params)
        )

    async def continue_in_dialplan(
        self, channel_id: str, context: str, extension: str, priority: int = 1
    ) -> None:
        params: Params = {"context": context, "extension": extension, "priority": priority}
        await self.request("POST", f"channels/{channel_id}/continue", params=params)

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        params = {"mohClass": moh_class} if moh_class else {}
        await self.request("POST", f"channels/{channel_id}/moh", params=params)

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"channels/{channel_id}/moh")

    async def subscribe(self, app: str, event_source: str) -> None:
        """Keep sending `app` events about e.g. `channel:ID`, even once it left Stasis."""
        params = {"eventSource": event_source}
        await self.request("POST", f"applications/{app}/subscription", params=params)

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        params = {"variable": name, "value": value}
        await self.request("POST", f"channels/{channel_id}/variable", params=params)

    async def get_variable(self, channel_id: str, name: str) -> str | None:
        data = await self.request(
            "GET", f"channels/{channel_id}/variable", params={"variable": name}, missing_ok=True
        )
        return None if data is None else str(data.get("value", ""))

    async def send_dtmf(self, channel_id: str, digits: str) -> None:
        await self.request("POST", f"channels/{channel_id}/dtmf", params={"dtmf": digits})

    # ---------------------------------------------------------------- bridges
    async def create_bridge(
        self, bridge_type: str = "mixing", name: str = "", bridge_id: str | None = None
    ) -> Bridge:
        """`bridge_id`: chosen by the caller, so a step cancelled while Asterisk creates the
        bridge still knows what to destroy."""
        params = {"type": bridge_type, "name": name} if name else {"type": bridge_type}
        if bridge_id is not None:
            params["bridgeId"] = bridge_id
        return Bridge.from_json(await self.request("POST", "bridges", params=params))

    async def play(self, channel_id: str, media: str, playback_id: str | None = None) -> str:
        params = {"media": media}
        if playback_id:
            params["playbackId"] = playback_id
        data = await self.request("POST", f"channels/{channel_id}/play", params=params)
        return str(data["id"])

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request(
            "POST",
            f"bridges/{bridge_id}/removeChannel",
            params={"channel": channel_id},
            missing_ok=True,
        )

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"bridges/{bridge_id}", missing_ok=True)

    async def add_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request(
            "POST", f"bridges/{bridge_id}/addChannel", params={"channel": channel_id}
        )

    async def record_bridge(self, bridge_id: str, name: str, fmt: str = "wav") -> Recording:
        params = {"name": name, "format": fmt, "ifExists": "overwrite", "beep": "false"}
        data = await self.request("POST", f"bridges/{bridge_id}/record", params=params)
        return Recording.from_json(data)

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"recordings/live/{name}/stop", missing_ok=True)

    # ---------------------------------------------------------------- applications
    async def channel_ids(self) -> tuple[str, ...]:
        """Every channel Asterisk has now, in any app or dialplan."""
        return tuple(str(c["id"]) for c in await self.request("GET", "channels"))

    async def application(self, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(channel ids, bridge ids) a Stasis app holds; empty when it does not exist.

        Asterisk keeps an app, and the channels in it, after its websocket is gone.
        """
        data = await self.request("GET", f"applications/{name}", missing_ok=True)
        if not data:
            return (), ()
        return tuple(data.get("channel_ids", [])), tuple(data.get("bridge_ids", []))

    # ---------------------------------------------------------------- state
    async def endpoint_state(self, tech: str, resource: str) -> tuple[str, bool]:
        """("online" | "offline" | "unknown" | "missing", whether it is on a call)."""
        data = await self.request("GET", f"endpoints/{tech}/{resource}", missing_ok=True)
        if data is None:
            return "missing", False
        return str(data.get("state", "unknown")), bool(data.get("channel_ids"))

    async def user_event(self, app: str, name: str) -> None:
        """A user event to `app`: it arrives after every event queued for it before."""
        await self.request("POST", f"events/user/{name}", params={"application": app})

    # ---------------------------------------------------------------- events
    async def events(
        self,
        apps: str,
        *,
        connected: asyncio.Event | None = None,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        max_backoff: float = MAX_RECONNECT_BACKOFF,
    ) -> AsyncIterator[Event]:
        """Typed events for `apps` (comma-separated), reconnecting with backoff forever.

        Events arrive in the order Asterisk sent them; `connected` is set while the
        websocket is up (so callers know the app is registered) and cleared on loss.
        `on_connect` runs on each (re)connection before any event is read.
        """
        backoff = RECONNECT_BACKOFF_START
        while True:
            try:
                async with self.session.ws_connect(
                    "events", params={"app": apps, "subscribeAll": "false"}, heartbeat=15.0
                ) as ws:
                    log(logger, logging.INFO, "ari events connected", apps=apps)
                    backoff = RECONNECT_BACKOFF_START
                    if connected is not None:
                        connected.set()
                    if on_connect is not None:
                        await on_connect()
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            yield parse_event(message.json())
                        elif message.type == aiohttp.WSMsgType.ERROR:
                            break
            except (aiohttp.ClientError, OSError) as exc:
                log(logger, logging.WARNING, "ari events unavailable", error=type(exc).__name__,
                    retry_s=backoff)  # fmt: skip
            finally:
                if connected is not None:
                    connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(max_backoff, backoff * 2)
