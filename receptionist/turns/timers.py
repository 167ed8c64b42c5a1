"""When a time rule of the turn is due: the first-audio deadline (filler, then the
fallback), the caller's silence (a check-in, then a goodbye), the maximum call length,
and the goodbye's grace. Pure, like the machine: times are plain milliseconds since the
call was answered, handed in by the caller of `Turns.handle`; what to do when a rule is
due is the machine's business.
"""

from __future__ import annotations

from enum import Enum, auto

from receptionist.turns.events import TurnLimits
from receptionist.turns.state import Phase


class Wait(Enum):
    """Whether the caller is waiting for a reply's first audio."""

    NONE = auto()
    WAITING = auto()
    FILLED = auto()  # still waiting, and the filler has played


class Due(Enum):
    FILLER = auto()
    NO_AUDIO = auto()
    MAX_CALL = auto()
    SILENCE = auto()
    GOODBYE_OVER = auto()


class Timers:
    def __init__(self, limits: TurnLimits) -> None:
        self.limits = limits
        self.wait = Wait.NONE
        self._waiting_since = 0
        self._quiet_since = 0  # neither side has said anything since (call start)
        self._caller_speaking = False
        self._goodbye_at: int | None = None

    # ------------------------------------------------------------ the first audio
    def start_waiting(self, now: int) -> None:
        if self.wait is Wait.NONE:
            self.wait, self._waiting_since = Wait.WAITING, now

    def stop_waiting(self) -> None:
        self.wait = Wait.NONE

    def hold(self, now: int) -> None:
        """Earlier audio is still playing: the wait counts from when it stops."""
        if self.wait is not Wait.NONE:
            self._waiting_since = max(self._waiting_since, now)

    def filled(self) -> None:
        self.wait = Wait.FILLED

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
    def deadlines(self, phase: Phase, *, busy: bool, playing: bool) -> list[tuple[int, Due]]:
        """The deadlines running now. The silence and the call length wait while a reply is
        under way (the goodbye is asked for between replies, never over one), and the
        goodbye's grace while audio still plays."""
        limits, out = self.limits, []
        if phase is Phase.ENDED:
            return []
        if self.wait is Wait.WAITING:
            out.append((self._waiting_since + limits.filler_after_ms, Due.FILLER))
        elif self.wait is Wait.FILLED:
            out.append((self._waiting_since + limits.fallback_after_ms, Due.NO_AUDIO))
        if phase is Phase.GOODBYE:
            if self._goodbye_at is not None and not playing:
                out.append((self._goodbye_at, Due.GOODBYE_OVER))
        elif not busy:
            out.append((limits.max_call_ms, Due.MAX_CALL))
            if not self._caller_speaking:
                out.append((self._quiet_since + limits.silence_ms, Due.SILENCE))
        return out

    def due(self, now: int, phase: Phase, *, busy: bool, playing: bool) -> Due | None:
        """The earliest deadline reached by `now`, if any."""
        reached = [d for d in self.deadlines(phase, busy=busy, playing=playing) if d[0] <= now]
        return min(reached, key=lambda d: d[0])[1] if reached else None
