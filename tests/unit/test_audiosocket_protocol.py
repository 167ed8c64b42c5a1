"""The AudioSocket codec: every kind, every split point, every way a stream can be wrong."""

from __future__ import annotations

import random
import struct
import uuid

import pytest

from receptionist.audiosocket.protocol import (
    MAX_PAYLOAD,
    AudioFrame,
    Decoder,
    DtmfFrame,
    ErrorFrame,
    Frame,
    HangupFrame,
    Kind,
    ProtocolError,
    UuidFrame,
    encode,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
    frame_bytes,
    kind_for_rate,
    rate_for_kind,
)

LEG = uuid.UUID("0b6c6f1e-8c4f-4c2a-9d55-3e2f6f0a9b01")
RATES = {
    Kind.SLIN8: 8000,
    Kind.SLIN12: 12000,
    Kind.SLIN16: 16000,
    Kind.SLIN24: 24000,
    Kind.SLIN32: 32000,
    Kind.SLIN44: 44100,
    Kind.SLIN48: 48000,
    Kind.SLIN96: 96000,
    Kind.SLIN192: 192000,
}


def raw(kind: int, payload: bytes, length: int | None = None) -> bytes:
    return struct.pack(">BH", kind, len(payload) if length is None else length) + payload


def pcm(n_bytes: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(n_bytes))


def all_kinds_stream() -> tuple[bytes, list[Frame]]:
    frames: list[Frame] = [UuidFrame(LEG)]
    for i, (kind, rate) in enumerate(RATES.items()):
        frames.append(AudioFrame(kind, rate, pcm(frame_bytes(rate) if rate <= 48000 else 64, i)))
    frames += [DtmfFrame("5"), DtmfFrame("#"), ErrorFrame(2), ErrorFrame(None), HangupFrame()]
    return b"".join(encode(f) for f in frames), frames


def test_kind_values_match_the_asterisk_header() -> None:
    assert [int(k) for k in Kind] == [
        0x00, 0x01, 0x03, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0xFF,
    ]  # fmt: skip


def test_rate_table_both_ways() -> None:
    for kind, rate in RATES.items():
        assert rate_for_kind(kind) == rate
        assert kind_for_rate(rate) is kind
    with pytest.raises(ValueError):
        rate_for_kind(Kind.DTMF)
    with pytest.raises(ValueError):
        kind_for_rate(22050)


def test_frame_bytes_is_20ms_of_slin() -> None:
    assert frame_bytes(8000) == 320
    assert frame_bytes(16000) == 640


def test_encode_audio_layout() -> None:
    assert encode_audio(b"\x01\x02\x03\x04") == b"\x12\x00\x04\x01\x02\x03\x04"
    assert encode_audio(b"\x01\x02", rate=8000) == b"\x10\x00\x02\x01\x02"
    assert encode_hangup() == b"\x00\x00\x00"
    assert encode_uuid(LEG) == b"\x01\x00\x10" + LEG.bytes
    assert encode_dtmf("*") == b"\x03\x00\x01*"


def test_encoders_refuse_what_would_end_or_break_the_leg() -> None:
    with pytest.raises(ValueError, match="zero-length"):
        encode_audio(b"")
    with pytest.raises(ValueError, match="16-bit"):
        encode_audio(b"\x00\x00\x00")
    with pytest.raises(ValueError, match="exceeds"):
        encode_audio(bytes(MAX_PAYLOAD + 2))
    with pytest.raises(ValueError, match="no audio kind"):
        encode_audio(b"\x00\x00", rate=22050)
    with pytest.raises(ValueError):
        encode_dtmf("x")


def test_every_kind_round_trips() -> None:
    data, frames = all_kinds_stream()
    assert Decoder().feed(data) == frames


def test_split_at_every_offset() -> None:
    data, frames = all_kinds_stream()
    for cut in range(len(data) + 1):
        dec = Decoder()
        got = dec.feed(data[:cut]) + dec.feed(data[cut:])
        assert got == frames, cut
        assert dec.buffered == 0
        dec.eof()


def test_split_at_every_pair_of_offsets_in_a_short_stream() -> None:
    data = encode_uuid(LEG) + encode_audio(pcm(8)) + encode_dtmf("1")
    frames = Decoder().feed(data)
    for a in range(len(data) + 1):
        for b in range(a, len(data) + 1):
            dec = Decoder()
            assert dec.feed(data[:a]) + dec.feed(data[a:b]) + dec.feed(data[b:]) == frames


def test_byte_at_a_time() -> None:
    data, frames = all_kinds_stream()
    dec = Decoder()
    got: list[Frame] = []
    for i in range(len(data)):
        got += dec.feed(data[i : i + 1])
    assert got == frames


def test_dtmf_lower_case_is_normalised() -> None:
    assert Decoder().feed(raw(Kind.DTMF, b"a")) == [DtmfFrame("A")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (raw(0x02, b""), "unknown kind 0x02"),
        (raw(0x20, b"\x00\x00"), "unknown kind 0x20"),
        (raw(Kind.SLIN16, b"", length=MAX_PAYLOAD + 2), "exceeds"),
        (raw(Kind.UUID, LEG.bytes[:15]), "uuid payload is 15 bytes"),
        (raw(Kind.UUID, LEG.bytes + b"\x00"), "uuid payload is 17 bytes"),
        (raw(Kind.SLIN16, b"\x00\x00\x00"), "odd-length audio"),
        (raw(Kind.SLIN8, b""), "zero-length audio"),
        (raw(Kind.DTMF, b"12"), "dtmf payload is 2 bytes"),
        (raw(Kind.DTMF, b"x"), "invalid dtmf digit"),
    ],
)
def test_protocol_errors_say_why(data: bytes, reason: str) -> None:
    dec = Decoder()
    with pytest.raises(ProtocolError, match=reason):
        dec.feed(encode_uuid(LEG) + data)
    with pytest.raises(ProtocolError, match=reason):  # the decoder stays failed
        dec.feed(encode_audio(b"\x00\x00"))


def test_bad_header_is_refused_before_its_payload_arrives() -> None:
    dec = Decoder()
    with pytest.raises(ProtocolError, match="exceeds"):
        dec.feed(b"\x12\xff\xff")


def test_frames_before_an_error_ride_on_it_and_the_error_is_sticky() -> None:
    dec = Decoder()
    with pytest.raises(ProtocolError) as first:
        dec.feed(encode_uuid(LEG) + raw(0x7F, b""))
    assert first.value.frames == [UuidFrame(LEG)]
    with pytest.raises(ProtocolError, match="unknown kind 0x7f") as again:
        dec.eof()
    assert again.value.frames == []


def test_smaller_payload_cap() -> None:
    dec = Decoder(max_payload=640)
    assert dec.feed(encode_audio(bytes(640)))
    with pytest.raises(ProtocolError, match="exceeds 640"):
        dec.feed(encode_audio(bytes(642)))


def test_eof_inside_a_frame() -> None:
    dec = Decoder()
    dec.feed(encode_audio(bytes(640))[:100])
    assert dec.buffered == 100
    with pytest.raises(ProtocolError, match="stream ended inside a frame"):
        dec.eof()


def test_audio_frame_duration() -> None:
    assert AudioFrame(Kind.SLIN16, 16000, bytes(640)).duration_ms == 20


def test_random_bytes_only_ever_raise_protocol_error() -> None:
    rng = random.Random(4)
    valid, _ = all_kinds_stream()
    refused = 0
    for _ in range(300):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 4)):  # corrupt a few bytes of a valid stream
            data[rng.randrange(len(data))] = rng.randrange(256)
        dec = Decoder()
        step = rng.randint(1, 700)
        try:
            for i in range(0, len(data), step):
                dec.feed(bytes(data[i : i + step]))
            dec.eof()
        except ProtocolError:
            refused += 1
    # Any other exception fails the test; some corruptions only touch audio and pass.
    assert 0 < refused < 300
