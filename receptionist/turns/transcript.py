"""The transcript as the caller heard it: a caller line runs from speech start to stop; an
assistant line is saved once its audio has played, timed by playout, and a line cut short
says how much of it was heard."""

from __future__ import annotations

from receptionist.realtime.audio_format import BYTES_PER_MS
from receptionist.turns.events import Command, SaveTurn
from receptionist.turns.state import Item, Playout


class Transcript:
    def __init__(self) -> None:
        self._started: dict[str, int] = {}
        self._stopped: dict[str, int] = {}

    def speech_started(self, item_id: str, now: int) -> None:
        self._started[item_id] = now

    def speech_stopped(self, item_id: str, now: int) -> None:
        self._stopped[item_id] = now

    def caller_line(self, item_id: str, text: str, now: int) -> SaveTurn:
        start = self._started.pop(item_id, now)
        end = self._stopped.pop(item_id, now)
        return SaveTurn("caller", text, start, max(start, end))

    @staticmethod
    def assistant_line(item: Item) -> list[Command]:
        """The item's line, once: when its text is known and it has played (or been cut)."""
        if item.saved or item.text is None or item.playout is Playout.PENDING:
            return []
        if item.played_ms <= 0:
            return []  # never heard: nothing to log
        item.saved = True
        start = item.started_ms or 0
        text = item.text
        if item.playout is Playout.CUT:
            total = item.audio_bytes // BYTES_PER_MS
            text = f"{text} [cut off: heard {item.played_ms} of {total} ms]"
        return [SaveTurn("assistant", text, start, start + item.played_ms)]
