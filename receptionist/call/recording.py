"""Recording one call: started once the consent has played, finished at teardown.

Two modes (the business YAML's `recording.mode`):

- full (the default): one file from the consent to the hang-up, the talk with staff
  after a transfer included, and the PBX's call record pointing at it
  (`CDR(recordingfile)`, which FreePBX reads). That needs MixMonitor, which lives on
  the caller's channel and so outlives Stasis; but ARI has no MixMonitor (it is a
  dialplan application and an AMI action, and we keep to one protocol). So the caller
  takes a short detour: `continue` into [receptionist-record], which starts MixMonitor,
  sets CDR(recordingfile) and re-enters Stasis (args `resume`); the call then puts the
  caller back into its bridge. The caller misses a few milliseconds of silence.
- bridge: ARI records the receptionist's mixing bridge (both parties). It ends with the
  bridge, so a transferred caller's talk with staff is not in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from receptionist.ari import AriClient, AriError, Recording
from receptionist.call.dialplan import RECORD_CONTEXT
from receptionist.core.logs import log
from receptionist.store.log import StoreError
from receptionist.store.protocols import CallWriter

logger = logging.getLogger(__name__)
FINISH_TIMEOUT_S = 3.0
RESUME_TIMEOUT_S = 3.0


class CallRecorder:
    def __init__(self, ari: AriClient, call_id: str, directory: Path, mode: str = "full") -> None:
        self.ari = ari
        self.call_id = call_id
        self.directory = directory
        self.mode = mode
        self.name: str | None = None  # the recording's name once started
        self.done: asyncio.Future[Recording] = asyncio.get_running_loop().create_future()
        self.detouring = False  # the caller is in [receptionist-record], coming back
        self.resumed = asyncio.Event()

    async def start(self, bridge_id: str) -> bool:
        """Start recording. False (logged) if Asterisk refused: the caller still
        deserves an answer, so the call goes on unrecorded."""
        if self.name is not None:
            return True
        name = f"call-{self.call_id.replace('.', '-')}"
        try:
            if self.mode == "full":
                await self._mixmonitor(bridge_id, name)
            else:
                await self.ari.record_bridge(bridge_id, name)
        except (AriError, TimeoutError) as exc:
            log(logger, logging.ERROR, "recording failed", mode=self.mode, error=repr(exc))
            return False
        self.name = name
        log(logger, logging.INFO, "recording started", name=name, mode=self.mode)
        return True

    async def _mixmonitor(self, bridge_id: str, name: str) -> None:
        await self.ari.set_variable(self.call_id, "RECEPTIONIST_RECORDING", name)
        self.detouring = True
        try:
            await self.ari.continue_in_dialplan(self.call_id, RECORD_CONTEXT, "s")
            await asyncio.wait_for(self.resumed.wait(), RESUME_TIMEOUT_S)
        finally:
            self.detouring = False
        await self.ari.add_channel(bridge_id, self.call_id)

    def finished(self, recording: Recording) -> None:
        """RecordingFinished for this call's recording."""
        if not self.done.done():
            self.done.set_result(recording)

    async def finish(self, store: CallWriter) -> None:
        """Log the file; a bridge recording is stopped first (with its duration when
        Asterisk reports it). MixMonitor stops by itself when the caller hangs up."""
        if self.name is None:
            return
        duration = None
        if self.mode == "bridge":
            with contextlib.suppress(AriError):
                await self.ari.stop_recording(self.name)
            with contextlib.suppress(TimeoutError):
                duration = (await asyncio.wait_for(self.done, FINISH_TIMEOUT_S)).duration
        path = self.directory / f"{self.name}.wav"
        with contextlib.suppress(StoreError):
            await store.add_recording(self.call_id, str(path), duration)
