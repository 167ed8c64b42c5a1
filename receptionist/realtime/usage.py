"""What a model session used, in the units providers bill by.

Realtime sessions add up the `usage` of each `response.done` (tokens by modality); the
pipeline counts seconds transcribed, chat tokens and characters synthesized. Prices live
in config (see business/model_choice.py), never here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Usage:
    text_in_tokens: int = 0
    cached_in_tokens: int = 0
    audio_in_tokens: int = 0
    text_out_tokens: int = 0
    audio_out_tokens: int = 0
    seconds_transcribed: float = 0.0
    characters_synthesized: int = 0

    def add_realtime(self, usage: Any) -> None:
        """Add a Realtime `response.done` usage object (the SDK's, validated or not)."""
        given = getattr(usage, "input_token_details", None)
        made = getattr(usage, "output_token_details", None)
        self.text_in_tokens += int(getattr(given, "text_tokens", 0) or 0)
        self.audio_in_tokens += int(getattr(given, "audio_tokens", 0) or 0)
        self.cached_in_tokens += int(getattr(given, "cached_tokens", 0) or 0)
        self.text_out_tokens += int(getattr(made, "text_tokens", 0) or 0)
        self.audio_out_tokens += int(getattr(made, "audio_tokens", 0) or 0)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
