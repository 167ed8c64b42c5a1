"""Every prompt the caller hears starts and ends with its voice: silence at either end of
a prompt is dead air on the line (a gap before a department rings, after a fallback)."""

from __future__ import annotations

import array
import wave
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMPTS = sorted([*REPO.glob("sounds/**/*.wav"), *REPO.glob("receptionist/audio/filler*.wav")])
MAX_EDGE_SILENCE_S = 0.1
# Below this the sample is silence: 0.5 % of full scale, the threshold the generator's
# `sox silence` trims at (espeak-ng's quiet tail is far below it, speech far above).
SILENT = int(0.005 * 32768)


def edge_silence(path: Path) -> tuple[float, float, float]:
    """(seconds of silence before the first sound, after the last, the whole length)."""
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2), path
        rate = wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    loud = [i for i, value in enumerate(samples) if abs(value) > SILENT]
    assert loud, f"{path} is silent throughout"
    return loud[0] / rate, (len(samples) - 1 - loud[-1]) / rate, len(samples) / rate


def test_every_prompt_is_found() -> None:
    names = {str(p.relative_to(REPO)) for p in PROMPTS}
    assert {"sounds/transfer.wav", "sounds/es/transfer.wav", "sounds/fallback.wav",
            "sounds/consent.wav", "receptionist/audio/filler.wav"} <= names  # fmt: skip


@pytest.mark.parametrize("path", PROMPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_prompt_has_no_silence_at_its_ends(path: Path) -> None:
    lead, trail, length = edge_silence(path)
    assert length > 0.5, f"{path}: {length:.2f} s is too short to be the prompt"
    assert lead <= MAX_EDGE_SILENCE_S, f"{path} starts with {lead:.3f} s of silence"
    assert trail <= MAX_EDGE_SILENCE_S, f"{path} ends with {trail:.3f} s of silence"
