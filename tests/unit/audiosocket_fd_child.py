"""An AudioSocket server in a process with few file descriptors (run by a test).

Prints its port, then for each line read on stdin registers a fresh UUID (printed) and
prints "connected" or "timeout" once Asterisk's stand-in has (not) come.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import sys
import uuid

from receptionist.audiosocket.server import AudioSocketServer
from receptionist.core.logs import configure_logging

FD_LIMIT = 48


async def main() -> None:
    configure_logging(logging.INFO)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    # The default cap on handshakes is above FD_LIMIT: descriptors really run out.
    async with AudioSocketServer(first_frame_timeout=60) as server:
        print(server.port, flush=True)
        while await stdin.readline():
            leg = uuid.uuid4()
            print(leg, flush=True)
            try:
                await asyncio.wait_for(server.register(leg), 10)
                print("connected", flush=True)
            except TimeoutError:
                print("timeout", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
