"""Recording one call: started once the consent has played, finished at teardown.

Bridge mode records the receptionist's mixing bridge with ARI (one file, both
parties): no second protocol, but it ends with the bridge, so a transferred caller's
talk with staff is not in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from receptionist.ari import AriClient, AriError, Recording
from receptionist.logs import log
from receptionist.store import AsyncStore, StoreError

logger = logging.getLogger(__name__)
FINISH_TIMEOUT_S = 3.0


class CallRecorder:
    def __init__(self, ari: AriClient, call_id: str, directory: Path) -> None:
        self.ari = ari
        self.call_id = call_id
        self.directory = directory
        self.name: str | None = None  # the recording's name once started
        self.done: asyncio.Future[Recording] = asyncio.get_running_loop().create_future()

    async def start(self, bridge_id: str) -> bool:
        """Record the bridge. False (logged) if Asterisk refused: the caller still
        deserves an answer, so the call goes on unrecorded."""
        if self.name is not None:
            return True
        name = f"call-{self.call_id.replace('.', '-')}"
        try:
            await self.ari.record_bridge(bridge_id, name)
        except AriError as exc:
            log(logger, logging.ERROR, "recording failed", error=str(exc))
            return False
        self.name = name
        log(logger, logging.INFO, "recording started", name=name)
        return True

    def finished(self, recording: Recording) -> None:
        """RecordingFinished for this call's recording."""
        if not self.done.done():
            self.done.set_result(recording)

    async def finish(self, store: AsyncStore) -> None:
        """Stop it and log the file (with its duration when Asterisk reports it)."""
        if self.name is None:
            return
        with contextlib.suppress(AriError):
            await self.ari.stop_recording(self.name)
        duration = None
        with contextlib.suppress(TimeoutError):
            duration = (await asyncio.wait_for(self.done, FINISH_TIMEOUT_S)).duration
        path = self.directory / f"{self.name}.wav"
        with contextlib.suppress(StoreError):
            await store.add_recording(self.call_id, str(path), duration)
