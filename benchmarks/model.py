"""The benchmark's model: the fake realtime server in its own process, with a think time.

    python -m benchmarks.model --think-ms 300 --greeting-s 60 --reply-s 1.5

It answers like the test fake (same wire protocol, validated against the openai SDK's
types; in lean mode only the first events of each per-frame type are validated), and
prints `port <realtime> <stats>` once listening. GET http://127.0.0.1:<stats>/stats gives,
per connection, the input audio received and the times of the events sent, so the
benchmark can relate the model's clock (CLOCK_MONOTONIC, shared by all processes) to
what the caller heard. It runs in its own process so that its work does not count
toward, or delay, the receptionist or the simulated callers.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.fakes.realtime_connection import FakeConnection
from tests.fakes.realtime_script import Reply, Script
from tests.fakes.realtime_server import FakeRealtimeServer
from tests.fakes.tones import tone

REPLY_HZ = 1000  # what the model says, so the caller's ear can tell it from anything else


class BenchScript(Script):
    """A long greeting first (callers talk over it, or just listen), then short replies."""

    def __init__(self, greeting_s: float, reply_s: float) -> None:
        super().__init__()
        # One buffer for all calls: the fake slices it per chunk, memory stays flat.
        self.greeting = Reply(tone(REPLY_HZ, greeting_s), "Hello, thanks for calling.")
        self.reply = Reply(tone(REPLY_HZ, reply_s), "Sure, happy to help.")
        self.greeted: set[int] = set()

    async def on_response_create(self, conn: FakeConnection, event: Any) -> None:
        first = id(conn) not in self.greeted
        self.greeted.add(id(conn))
        await conn.start_response(self.greeting if first else self.reply)

    def next_reply(self) -> Reply:
        return self.reply


def stats(server: FakeRealtimeServer) -> dict[str, Any]:
    return {
        "connections": [
            {"input_bytes": c.input_bytes, "timeline": c.timeline} for c in server.connections
        ],
        "invalid_received": [f"{e.error}" for e in server.invalid_events[:5]],
        "invalid_sent": [f"{e.error}" for e in server.invalid_sent[:5]],
    }


async def serve_until_stopped(url: str, figures: Callable[[], dict[str, Any]]) -> None:
    """Print the fake's port and a /stats port for the benchmark, then serve until
    SIGTERM or SIGINT."""
    app = web.Application()
    app.router.add_get("/stats", lambda _: web.json_response(figures()))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = url.rsplit(":", 1)[1].split("/")[0]
    print(f"port {port} {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


async def serve(args: argparse.Namespace) -> None:
    script = BenchScript(args.greeting_s, args.reply_s)
    fake = FakeRealtimeServer(
        script,
        think_s=args.think_ms / 1000,
        chunk_ms=args.chunk_ms,
        realtime_factor=args.realtime_factor,
        lean=True,
        detect_speech=not args.no_turns,
    )
    await fake.start()
    await serve_until_stopped(fake.url, lambda: stats(fake))
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--think-ms", type=float, default=300.0, help="time to first audio")
    parser.add_argument("--greeting-s", type=float, default=2.0, help="length of the greeting")
    parser.add_argument("--reply-s", type=float, default=1.5, help="length of later replies")
    parser.add_argument("--chunk-ms", type=int, default=40, help="audio per delta event")
    parser.add_argument(
        "--realtime-factor", type=float, default=1.5, help="audio streamed this much faster"
    )
    parser.add_argument(
        "--no-turns", action="store_true", help="never detect speech (callers only listen)"
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
