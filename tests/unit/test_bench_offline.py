"""The offline benchmarks run and report finite figures (never asserted on speed)."""

from __future__ import annotations

import math

import pytest

from benchmarks import fidelity, micro
from benchmarks.report import Figure

pytestmark = pytest.mark.benchmark  # runs the benchmark code; asserts figures exist, never speed


def by_name(figures: list[Figure]) -> dict[str, Figure]:
    return {f.name: f for f in figures}


def test_fidelity_quick_reports_every_figure() -> None:
    figures = by_name(fidelity.run(quick=True))
    assert all(f.section == "fidelity" and math.isfinite(f.value) for f in figures.values())
    for name in (
        "round-trip SNR 16k, noise 100-3400 Hz",
        "round-trip SNR 16k, noise 100-7000 Hz",
        "round-trip SNR 16k, multi-tone",
        "round-trip SNR 16k, voiced",
        "round-trip delay 16k",
        "alias rejection 24k->16k, worst",
        "round-trip -0.1 dB edge 16k",
        "round-trip -3 dB edge 16k",
        "held back 16k->24k, mean",
        "round-trip SNR 8k, noise 100-3400 Hz",
        "alias rejection 24k->8k, worst",
    ):
        assert name in figures, name
    # Not a benchmark threshold: a chain that loses 40 dB of SNR is broken (wrong rate,
    # restarted filters at chunk joins, misalignment).
    for name, f in figures.items():
        if name.startswith("round-trip SNR"):
            assert f.value > 40, (name, f.value)


def test_micro_quick_reports_every_figure() -> None:
    figures = by_name(micro.run(quick=True))
    assert all(f.section == "micro" and math.isfinite(f.value) for f in figures.values())
    assert set(figures) == {
        "AudioSocket parse, one slin16 frame",
        "AudioSocket parse throughput, 64 KiB reads",
        "AudioSocket build, encode_audio slin16",
        "resample 16k->24k per 20 ms",
        "resample 24k->16k per 20 ms",
        "resample 8k->24k per 20 ms",
        "resample 24k->8k per 20 ms",
        "webrtcvad SpeechDetector 16k per 20 ms",
        "webrtcvad SpeechDetector 8k per 20 ms",
    }
