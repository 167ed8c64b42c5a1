"""The benchmark's pipeline model: the fake transcription, chat and speech servers in their
own process (as `benchmarks.model` is for Realtime).

    python -m benchmarks.pipeline_model --greeting-s 60

Every call's first reply is a long greeting (one sentence, streamed by the speech fake at
`--realtime-factor`), later replies are short. Prints `port <http> <stats>` once
listening; GET /stats gives the requests served (the pipeline receives caller audio only
as one upload per turn, so there is no continuous input to count).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from benchmarks.model import REPLY_HZ, serve_until_stopped
from tests.fakes.pipeline_server import FakePipelineServer
from tests.fakes.realtime_script import Reply, Script
from tests.fakes.tones import tone

GREETING = "Hello, thanks for calling."


class BenchScript(Script):
    """The greeting for a chat request without a caller turn yet, short replies after."""

    def __init__(self, greeting_s: float, reply_s: float) -> None:
        super().__init__()
        self.greeting = Reply(tone(REPLY_HZ, greeting_s), GREETING)
        self.reply = Reply(tone(REPLY_HZ, reply_s), "Sure, happy to help.")

    def next_reply(self) -> Reply:
        return self.reply


class BenchServer(FakePipelineServer):
    def reply_for(self, body: dict[str, Any]) -> Reply:
        script = self.script
        assert isinstance(script, BenchScript)
        spoken_to = any(m.get("role") == "user" for m in body.get("messages", []))
        return script.reply if spoken_to else script.greeting


def stats(server: FakePipelineServer) -> dict[str, Any]:
    return {
        "connections": [],  # no continuous caller audio to count
        "requests": len(server.requests),
        "invalid": server.invalid[:5],
    }


async def serve(args: argparse.Namespace) -> None:
    script = BenchScript(args.greeting_s, args.reply_s)
    fake = BenchServer(script, realtime_factor=args.realtime_factor, think_s=args.think_ms / 1000)
    await fake.__aenter__()
    await serve_until_stopped(fake.url, lambda: stats(fake))
    await fake.__aexit__()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--think-ms", type=float, default=0.0, help="chat time to first text")
    parser.add_argument("--greeting-s", type=float, default=2.0, help="length of the greeting")
    parser.add_argument("--reply-s", type=float, default=1.5, help="length of later replies")
    parser.add_argument("--realtime-factor", type=float, default=1.5, help="speech speed-up")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
