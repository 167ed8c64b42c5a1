"""When a time rule of the turn is due: the first-audio deadline (filler, then the
fallback; while a tool runs, the filler again and the longer tool wait), the caller's
silence (a check-in, then a goodbye), the maximum call length, and the goodbye's grace.
Pure, like the machine: times are plain milliseconds since the call was answered, handed
in by the caller of `Turns.handle`; what to do when a rule is due is the machine's
business.
"""

from __future__ import annotations

from enum import Enum, auto
from typing import NamedTuple

from receptionist.turns.events import TurnLimits
from receptionist.turns.state import Phase


class Due(Enum):
    FILLER = auto()
    NO_AUDIO = auto()
    MAX_CALL = auto()
    SILENCE = auto()
    GOODBYE_OVER = auto()


class Activity(NamedTuple):  # a tuple: one is made for every event, each audio chunk too
    """What the call is doing, as far as the time rules care."""

    busy: bool  # a reply is being generated, played or awaited, or a tool is running
    playing: bool  # audio is queued or playing
    tools_running: bool


class Timers:
    def __init__(self, limits: TurnLimits) -> None:
        self.limits = limits
        self._waiting_since: int | None = None  # the caller waits for a reply's first audio
        self._fillers = 0  # played since the caller started waiting
        self._quiet_since = 0  # neither side has said anything since (call start)
        self._caller_speaking = False
        self._goodbye_at: int | None = None

    # ------------------------------------------------------------ the first audio
    @property
    def waiting(self) -> bool:
        return self._waiting_since is not None

    def start_waiting(self, now: int) -> None:
        if self._waiting_since is None:
            self._waiting_since, self._fillers = now, 0

    def stop_waiting(self) -> None:
        self._waiting_since, self._fillers = None, 0

    def restart_waiting(self, now: int) -> None:
        """The tools are done: the reply about their results gets its own deadline."""
        if self._waiting_since is not None:
            self._waiting_since, self._fillers = now, 0

    def hold(self, now: int) -> None:
        """Earlier audio is still playing: the wait counts from when it stops."""
        if self._waiting_since is not None:
            self._waiting_since = max(self._waiting_since, now)

    def filled(self) -> None:
        self._fillers += 1

    # ------------------------------------------------------------ silence and the goodbye
    def caller_voice(self, speaking: bool, now: int) -> None:
        self._caller_speaking = speaking
        self._quiet_since = now

    def quiet_from(self, now: int) -> None:
        """Something was said (or asked): the silence counts from `now`."""
        self._quiet_since = max(self._quiet_since, now)

    def goodbye(self, now: int) -> None:
        self._goodbye_at = now + self.limits.goodbye_grace_ms

    # ------------------------------------------------------------ what is due
    def deadlines(self, phase: Phase, now: Activity) -> list[tuple[int, Due]]:
        """The deadlines running now. The silence and the call length wait while a reply is
        under way (the goodbye is asked for between replies, never over one), and the
        goodbye's grace while audio still plays."""
        limits, out = self.limits, []
        if phase is Phase.ENDED:
            return []
        if self._waiting_since is not None:
            out.append(self._first_audio(self._waiting_since, now.tools_running))
        if phase is Phase.GOODBYE:
            if self._goodbye_at is not None and not now.playing:
                out.append((self._goodbye_at, Due.GOODBYE_OVER))
        elif not now.busy:
            out.append((limits.max_call_ms, Due.MAX_CALL))
            if not self._caller_speaking:
                out.append((self._quiet_since + limits.silence_ms, Due.SILENCE))
        return out

    def _first_audio(self, since: int, tools_running: bool) -> tuple[int, Due]:
        limits = self.limits
        if tools_running:
            # A tool's result is worth a longer wait: the filler again and again meanwhile.
            filler = limits.filler_after_ms + self._fillers * limits.tool_filler_every_ms
            if filler < limits.tool_wait_ms:
                return since + filler, Due.FILLER
            return since + limits.tool_wait_ms, Due.NO_AUDIO
        if self._fillers:
            return since + limits.fallback_after_ms, Due.NO_AUDIO
        return since + limits.filler_after_ms, Due.FILLER


def first_deadline(deadlines: list[tuple[int, Due]]) -> int | None:
    return min((at for at, _ in deadlines), default=None)


def earliest_due(deadlines: list[tuple[int, Due]], at: int) -> Due | None:
    """The earliest of `deadlines` reached by `at`, if any."""
    reached = [d for d in deadlines if d[0] <= at]
    return min(reached, key=lambda d: d[0])[1] if reached else None
