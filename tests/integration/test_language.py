"""A Spanish call through the sandbox: the dialed number sets the language, the model
session transcribes Spanish, the FAQ answers a Spanish question, and when the model
fails the caller hears the Spanish fallback prompt (checked by its sound, not its name)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from receptionist.ari import AriClient
from receptionist.sandbox import SandboxInfo
from tests.conftest import PEOPLE_APP
from tests.fakes.realtime_server import Reply, Script, ToolCall
from tests.fakes.tones import tone as tone24
from tests.integration.harness import (
    CALLER_APP,
    AudioSocketPeer,
    EventWatcher,
    place_call,
    reached_operator,
)
from tests.integration.live import REPO, function_outputs, receptionist

pytestmark = pytest.mark.integration

SPANISH_DID = "+15555550188"  # mapped to es in the sandbox's [receptionist-languages]
FRAME_S = 0.02


def envelope(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Loudness per 20 ms frame, in dB: the shape of speech, whatever the sample rate."""
    step = int(rate * FRAME_S)
    frames = pcm[: len(pcm) // step * step].astype(np.float64).reshape(-1, step)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1.0)


def prompt_envelope(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return envelope(pcm, wav.getframerate())


def best_match(heard: np.ndarray, prompt: np.ndarray) -> float:
    """The highest correlation of the prompt's envelope with any stretch of what was heard."""
    p = (prompt - prompt.mean()) / prompt.std()
    best = -1.0
    for lag in range(len(heard) - len(prompt) + 1):
        window = heard[lag : lag + len(prompt)]
        if window.std() > 0:
            best = max(best, float(np.mean(p * (window - window.mean()) / window.std())))
    return best


async def test_a_spanish_call_transcribes_answers_and_falls_back_in_spanish(
    ari: AriClient, sandbox: SandboxInfo, tmp_path: Path
) -> None:
    question = {"question": "¿Aceptan seguro dental?"}
    script = Script(replies=[Reply(tone24(1000, 0.5), "Hola", (ToolCall("lookup_faq", question),))])
    apps = f"{CALLER_APP},{PEOPLE_APP}"
    async with (
        receptionist(sandbox, tmp_path, script) as live,
        EventWatcher(ari, apps) as watcher,
        AudioSocketPeer() as ear,
    ):
        call = await place_call(ari, watcher, ear, SPANISH_DID, variables=live.variables)
        [update, *_] = await live.fake.wait_for("session.update")
        transcription = update.session.audio.input.transcription
        assert transcription is not None and transcription.language == "es"
        assert "Callers on this line speak Spanish" in update.session.instructions
        [greeting, *_] = await live.fake.wait_for("response.create")
        assert "Say it all in Spanish" in greeting.response.instructions
        [(tool, output)] = await function_outputs(live, 1)
        assert tool == "lookup_faq" and "Delta Dental" in output, output

        await live.fake.wait_sent("response.done", 2)  # the answer to the tool result
        await live.fake.drop()  # the model goes away: the dialplan's fallback takes over
        await reached_operator(ari, watcher, live.app_name, PEOPLE_APP)
        assert call.peer is not None
        # Frames in the order they came (Playback sends every one, silent ones too), not
        # by arrival time, which a busy machine bunches up.
        heard = envelope(np.frombuffer(call.peer.audio(), dtype="<i2"), 16000)
        spanish = best_match(heard, prompt_envelope(REPO / "sounds/es/fallback.wav"))
        english = best_match(heard, prompt_envelope(REPO / "sounds/fallback.wav"))
        print(f"fallback heard vs prompt envelopes: es {spanish:.2f}, en {english:.2f}")
        assert spanish > 0.8 and spanish > english + 0.2, (spanish, english)
        record = live.store.get_call(call.dialplan_id)
        assert record is not None and "fallback" in record.outcomes
        await ari.hangup(call.dialplan_id)
