"""The pipeline's pure parts: sentence cutting, the reply's heard text and tool-call
joining, the chat history it sends, streamed wav headers, and our endpointing."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from receptionist.audio.resample import StreamResampler
from receptionist.audio.tones import silence, voiced
from receptionist.model.pipeline.endpoints import _WavStream, chat_tools
from receptionist.model.pipeline.reply import Reply, chat_messages, split_sentences
from receptionist.model.pipeline.turn_taking import (
    Dismissed,
    Endpointer,
    Paused,
    Started,
    Stopped,
    Tentative,
)


def test_sentences_are_cut_as_they_complete() -> None:
    assert split_sentences("Hello there. How can", final=False) == (["Hello there."], "How can")
    # Short fragments wait for the next sentence rather than being spoken alone.
    assert split_sentences("Hi. I can help with that. Wh", final=False) == (
        ["Hi. I can help with that."], "Wh",
    )  # fmt: skip
    assert split_sentences("Bye!", final=True) == (["Bye!"], "")
    lines = "Our hours today\nare nine to five"
    assert split_sentences(lines, final=True) == (["Our hours today", "are nine to five"], "")


def test_a_reply_joins_tool_call_deltas_and_keeps_what_was_heard() -> None:
    reply = Reply("resp_1", "item_1")
    reply.add_call_delta(0, "call_a", "take_", None)
    reply.add_call_delta(0, None, "message", '{"caller_')
    reply.add_call_delta(0, None, None, 'name": "Ann"}')
    reply.add_call_delta(1, "call_b", "end_call", None)
    assert reply.tool_calls() == [
        ("call_a", "take_message", '{"caller_name": "Ann"}'), ("call_b", "end_call", "{}"),
    ]  # fmt: skip
    reply.spoken += ["First sentence here.", "Second one follows."]
    reply.ends_ms += [1200, 2500]
    assert reply.heard_text(1300) == "First sentence here."
    assert reply.heard_text(2500) == "First sentence here. Second one follows."
    assert reply.heard_text(500) == ""


def test_the_history_gives_each_tool_call_its_output_right_after_it() -> None:
    history = [
        {"role": "user", "content": "Take a message"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "x", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "y", "arguments": "{}"}},
        ]},
        {"role": "user", "content": "And one more thing"},
    ]  # fmt: skip
    messages = chat_messages("Be brief.", history, {"a": "saved"})
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["a"]  # type: ignore[typeddict-item]
    assert messages[3] == {"role": "tool", "tool_call_id": "a", "content": "saved"}
    # A reply whose calls all went unanswered (cut off) and that said nothing is left out.
    assert [m["role"] for m in chat_messages("s", history[:2], {})] == ["system", "user"]


def test_realtime_tools_become_chat_tools() -> None:
    tool = {"type": "function", "name": "end_call", "description": "Hang up.",
            "parameters": {"type": "object", "properties": {}}}  # fmt: skip
    assert chat_tools([tool]) == [{"type": "function", "function": {
        "name": "end_call", "description": "Hang up.",
        "parameters": {"type": "object", "properties": {}}}}]  # fmt: skip


def _wav_header(rate: int, *, extra: bytes = b"") -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    unknown = struct.pack("<I", 0xFFFFFFFF)  # streaming servers do not know the length
    head = b"RIFF" + unknown + b"WAVE" + extra
    return head + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + unknown


@pytest.mark.parametrize("split", [1, 3, 7, 20, 44, 100])
def test_a_streamed_wav_is_read_across_any_split(split: int) -> None:
    pcm = bytes(range(200))
    # A LIST chunk before fmt, as some servers write.
    stream = _wav_header(22050, extra=b"LIST" + struct.pack("<I", 4) + b"INFO") + pcm
    reader, out = _WavStream(), b""
    for i in range(0, len(stream), split):
        out += reader.feed(stream[i : i + split])
    assert out == pcm and reader.rate == 22050


def test_a_wav_that_is_not_pcm16_mono_is_refused() -> None:
    fmt = struct.pack("<HHIIHH", 1, 2, 16000, 64000, 4, 16)
    stream = b"RIFF\0\0\0\0WAVEfmt " + struct.pack("<I", 16) + fmt + b"data\0\0\0\0"
    with pytest.raises(ValueError, match="16-bit mono"):
        _WavStream().feed(stream)


def test_endpointing_ends_the_turn_after_the_silence_window() -> None:
    up = StreamResampler(16000, 24000)
    audio = up.process(silence(400) + voiced(800) + silence(1500)) + up.flush()
    endpointer = Endpointer(silence_ms=500)
    edges = []
    for offset in range(0, len(audio), 960):  # 20 ms frames at 24 kHz
        edge = endpointer.feed(audio[offset : offset + 960])
        if edge is not None:
            edges.append((offset // 48, edge))
    (held_at, tentative), (started_at, started), (paused_at, paused), (stopped_at, stopped) = edges
    assert isinstance(started, Started) and isinstance(stopped, Stopped)
    # Playback holds after two voiced frames, the turn starts (barge-in) after eight.
    assert isinstance(tentative, Tentative) and 350 <= tentative.at_ms <= 500
    assert 100 <= started_at - held_at <= 140
    # Transcription may start early, before the turn is over: 200 ms before here.
    assert isinstance(paused, Paused) and 180 <= stopped_at - paused_at <= 220
    # The same words; the early cut keeps ~100 ms more of the quiet after them.
    assert abs(len(paused.pcm16k) - len(stopped.pcm16k)) <= 32 * 150
    assert 350 <= started.at_ms <= 500  # the voice began at 400 ms
    # Ended about the silence window after the voice did (1200 ms), webrtcvad's hold included.
    assert 1600 <= stopped_at <= 1900, stopped_at
    # The utterance holds the voice, not the whole silence window after it.
    assert 0.8 <= len(stopped.pcm16k) / 32000 <= 1.5


def test_a_pause_the_caller_goes_on_after_is_not_the_end_of_the_turn() -> None:
    up = StreamResampler(16000, 24000)
    speech = silence(200) + voiced(600) + silence(350) + voiced(600) + silence(1200)
    audio = up.process(speech) + up.flush()
    endpointer = Endpointer(silence_ms=500)
    edges = [endpointer.feed(audio[o : o + 960]) for o in range(0, len(audio), 960)]
    kinds = [type(e).__name__ for e in edges if e is not None]
    assert kinds == ["Tentative", "Started", "Paused", "Resumed", "Paused", "Stopped"]
    [stopped] = [e for e in edges if isinstance(e, Stopped)]
    assert len(stopped.pcm16k) / 32000 >= 1.5  # both parts, one turn


@pytest.mark.parametrize("burst_ms", [20, 40, 60])
def test_a_short_noise_burst_holds_playback_then_lets_it_go_on(burst_ms: int) -> None:
    """A click or a cough: a Tentative (playback holds), then Dismissed once it stops,
    never a turn (which would cut the reply)."""
    rng = np.random.default_rng(burst_ms)
    noise = (rng.standard_normal(16 * burst_ms) * 8000).astype("<i2").tobytes()
    up = StreamResampler(16000, 24000)
    audio = up.process(silence(400) + noise + silence(1000)) + up.flush()
    endpointer = Endpointer(silence_ms=500)
    edges = [endpointer.feed(audio[o : o + 960]) for o in range(0, len(audio), 960)]
    found = [(i * 20, e) for i, e in enumerate(edges) if e is not None]
    kinds = [type(e).__name__ for _, e in found]
    assert kinds == ["Tentative", "Dismissed"], kinds
    (held_at, _), (dismissed_at, _) = found
    # webrtcvad holds "voiced" about 100 ms past a sound: the hold lasts about that long.
    assert dismissed_at - held_at <= burst_ms + 140
    assert isinstance(found[1][1], Dismissed)


def test_a_lines_hiss_after_digital_silence_never_makes_a_turn() -> None:
    """A slin24 leg's audio as Asterisk gives it: digital silence, then a line's faint
    hiss. At most a Tentative and its Dismissed (a moment's hold), never a turn: before,
    soxr's dither on the silence taught webrtcvad a floor below the hiss, which then read
    as a voice and cut the reply."""
    for seed in range(5):
        hiss = np.random.default_rng(seed).normal(0, 30, 24000).astype("<i2").tobytes()
        audio = silence(1000, 24000) + hiss  # the hiss about -60 dBFS
        endpointer = Endpointer(silence_ms=500)
        edges = [endpointer.feed(audio[o : o + 960]) for o in range(0, len(audio), 960)]
        kinds = [type(e).__name__ for e in edges if e is not None]
        assert "Started" not in kinds and kinds in ([], ["Tentative", "Dismissed"]), kinds
        assert not endpointer.speaking
