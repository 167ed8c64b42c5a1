"""Audio fidelity of the resampler chain a call uses, measured offline (no Asterisk, no model).

    python -m benchmarks.fidelity [--quick]

Everything goes through the project's own `caller_to_model` / `model_to_caller` streams, fed
20 ms chunks of int16 exactly like a call (640 bytes at 16 kHz, 960 at 24 kHz), then flushed.

- Round-trip SNR (leg -> 24 kHz -> leg) on band-limited noise, a multi-tone and a voiced
  signal: the output is aligned to the input by cross-correlation (integer lag, plus a
  parabolic fractional estimate), 100 ms is skipped at each end, and
  SNR = 10*log10(sum(x^2) / sum((x - y)^2)). The round-trip delay is reported too.
- Alias rejection on the way down (24 kHz -> leg): tones above the leg's Nyquist frequency
  at -6 dBFS; rejection = input tone level - strongest output component (where the alias
  lands). Image rejection on the way up is the same idea for the 24 kHz side.
- Passband: a tone sweep through the round trip, reporting the -0.1 dB and -3 dB edges.
- Held back: the most audio each stream holds inside its filter while streaming (latency).

Tone levels come from a Kaiser-windowed FFT (beta 20: sidelobes far below any level measured
here, so leakage does not limit the rejection figures), summing the main lobe's power.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soxr

from benchmarks.report import Figure, standalone
from receptionist.audio.resample import (
    DEFAULT_QUALITY,
    StreamResampler,
    caller_to_model,
    model_to_caller,
)
from receptionist.audio.tones import voiced

SECTION = "fidelity"
MODEL_RATE = 24000
SKIP_S = 0.1  # stream start and end are transients, not steady-state fidelity
KAISER_BETA = 20.0
LOBE_BINS = 8  # half-width of the Kaiser(20) main lobe is about 6.4 bins
NOISE_DBFS = -15.0  # RMS; Gaussian noise peaks ~13 dB higher, so it must not sit at -12
TONE_DBFS = -12.0  # RMS of the multi-tone and voiced signals
ALIAS_DBFS = -6.0  # tone amplitude for the rejection tests
MULTITONE_HZ = (200, 500, 1000, 2000, 3000, 5000, 6500)
# Two int16 stages, each with quantisation plus soxr's TPDF dither (0.5 LSB RMS): the noise
# floor is about -94 dBFS, so an int16 round trip cannot beat ~94 + signal level in dB.
INT16_NOTE = "int16 + soxr dither caps this near 94 dB + level, ~79 dB at -15 dBFS"


def stream(rs: StreamResampler, x: np.ndarray) -> np.ndarray:
    """Push int16 samples through `rs` in 20 ms chunks as a call does, then flush."""
    data = x.astype("<i2").tobytes()
    chunk = rs.in_rate // 50 * 2
    out = [rs.process(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    out.append(rs.flush())
    return np.frombuffer(b"".join(out), dtype="<i2").copy()


def round_trip(leg: int, x: np.ndarray) -> np.ndarray:
    return stream(model_to_caller(leg), stream(caller_to_model(leg), x))


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) to int16, as a codec would deliver them."""
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def at_rms(x: np.ndarray, dbfs: float) -> np.ndarray:
    return x * (10 ** (dbfs / 20) / np.sqrt(np.mean(x * x)))


def band_limit(x: np.ndarray, rate: int, lo: float, hi: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    spectrum[(freqs < lo) | (freqs > hi)] = 0
    return np.fft.irfft(spectrum, len(x))


def band_noise(rate: int, seconds: float, lo: float, hi: float, seed: int) -> np.ndarray:
    white = np.random.default_rng(seed).standard_normal(round(rate * seconds))
    return to_int16(at_rms(band_limit(white, rate, lo, hi), NOISE_DBFS))


def multitone(rate: int, seconds: float, freqs: Sequence[float]) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    phases = np.random.default_rng(7).uniform(0, 2 * np.pi, len(freqs))  # keeps the crest low
    x = sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=True))
    return to_int16(at_rms(np.asarray(x), TONE_DBFS))


def voiced_signal(rate: int, seconds: float, hi: float) -> np.ndarray:
    # The sawtooth is not band-limited; real wideband speech stops at ~7 kHz (G.722).
    saw = np.frombuffer(voiced(seconds * 1000, rate), dtype="<i2") / 32768
    return to_int16(at_rms(band_limit(saw, rate, 0, hi), TONE_DBFS))


def sine(rate: int, seconds: float, freq: float, dbfs: float) -> np.ndarray:
    """A tone of amplitude `dbfs`, TPDF-dithered: plain rounding of a tone whose period is a
    whole number of samples leaves periodic error, i.e. in-band harmonics that would pass
    for aliases (9 kHz at 24 kHz repeats every 8 samples: products at multiples of 3 kHz)."""
    n = round(rate * seconds)
    t = np.arange(n) / rate
    tpdf = np.random.default_rng(round(freq)).triangular(-1, 0, 1, n) / 32768
    return to_int16(10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t) + tpdf)


def delay(x: np.ndarray, y: np.ndarray) -> float:
    """Samples by which y lags x: cross-correlation peak, refined by a parabola."""
    n = 1 << (len(x) + len(y)).bit_length()
    c = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    k = int(np.argmax(c))
    a, b, d = c[k - 1], c[k], c[(k + 1) % n]
    frac = 0.5 * (a - d) / (a - 2 * b + d) if a - 2 * b + d else 0.0
    return (k if k < n // 2 else k - n) + frac


def snr_db(x: np.ndarray, y: np.ndarray, lag: int, skip: int) -> float:
    xs = x[skip : len(x) - skip].astype(np.float64)
    ys = y[skip + lag : len(x) - skip + lag].astype(np.float64)
    err = float(np.sum((xs - ys) ** 2))
    return float(10 * np.log10(np.sum(xs * xs) / err)) if err else float("inf")


def spectrum_dbfs(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin power of the Kaiser-windowed signal, scaled so a full-scale sine sums to 0 dB."""
    x = x[round(rate * SKIP_S) : len(x) - round(rate * SKIP_S)].astype(np.float64) / 32768
    w = np.kaiser(len(x), KAISER_BETA)
    power = np.abs(np.fft.rfft(x * w)) ** 2 * 4 / (len(x) * np.sum(w * w))
    return np.fft.rfftfreq(len(x), 1 / rate), power


def lobe_dbfs(power: np.ndarray, k: int) -> float:
    lobe = power[max(k - LOBE_BINS, 0) : k + LOBE_BINS + 1]
    return float(10 * np.log10(np.sum(lobe) + 1e-30))


def tone_dbfs(x: np.ndarray, rate: int, freq: float) -> float:
    """Level (amplitude re full scale) of the component at `freq`."""
    freqs, power = spectrum_dbfs(x, rate)
    return lobe_dbfs(power, int(np.argmin(np.abs(freqs - freq))))


def strongest(x: np.ndarray, rate: int, above: float = 20.0) -> tuple[float, float]:
    """(frequency, level) of the strongest component above `above` Hz."""
    freqs, power = spectrum_dbfs(x, rate)
    power[freqs < above] = 0
    k = int(np.argmax(power))
    return float(freqs[k]), lobe_dbfs(power, k)


def held_back_ms(rs: StreamResampler, seconds: float) -> tuple[float, float]:
    """Mean and most audio the stream holds back over 20 ms steps, after the first second.

    soxr emits whole internal blocks, so output comes in bursts and the hold-back swings."""
    chunk = rs.in_rate // 50
    frame = sine(rs.in_rate, 0.02, 1000, -12).tobytes()
    fed = produced = 0
    held: list[float] = []
    for i in range(round(seconds * 50)):
        produced += len(rs.process(frame)) // 2
        fed += chunk
        if i >= 50:
            held.append((fed * rs.out_rate / rs.in_rate - produced) / rs.out_rate * 1000)
    return float(np.mean(held)), float(np.max(held))


def passband_edges(leg: int, seconds: float, step: float) -> tuple[float, float]:
    """-0.1 dB and -3 dB frequencies of the round trip (linear between sweep points)."""
    freqs = np.arange(leg * 0.3, leg / 2 - step / 2, step)
    gains = [
        tone_dbfs(round_trip(leg, x), leg, f) - tone_dbfs(x, leg, f)
        for f in freqs
        for x in [sine(leg, seconds, f, TONE_DBFS)]
    ]
    edges = []
    for level in (-0.1, -3.0):
        i = next((i for i, g in enumerate(gains) if g < level), None)
        if i is None or i == 0:
            edges.append(float("nan"))
            continue
        g0, g1 = gains[i - 1], gains[i]
        edges.append(float(freqs[i - 1] + step * (g0 - level) / (g0 - g1)))
    return edges[0], edges[1]


def rejection(
    in_rate: int, out_rate: int, tones: Sequence[float], seconds: float, above: float = 20.0
) -> dict[float, tuple[float, float]]:
    """Per input tone: (input level - strongest output level above `above` Hz, its frequency)."""
    out: dict[float, tuple[float, float]] = {}
    for f in tones:
        x = sine(in_rate, seconds, f, ALIAS_DBFS)
        where, level = strongest(stream(StreamResampler(in_rate, out_rate), x), out_rate, above)
        out[f] = (tone_dbfs(x, in_rate, f) - level, where)
    return out


def snr_figures(leg: int, seconds: float) -> list[Figure]:
    k = f"{leg // 1000}k"
    signals = {
        "noise 100-3400 Hz": (band_noise(leg, seconds, 100, 3400, 1), f"{NOISE_DBFS:g} dBFS")
    }
    if leg == 16000:
        tones = ", ".join(f"{f / 1000:g}" for f in MULTITONE_HZ)
        signals["noise 100-7000 Hz"] = (band_noise(leg, seconds, 100, 7000, 2), INT16_NOTE)
        signals["multi-tone"] = (multitone(leg, seconds, MULTITONE_HZ), f"{tones} kHz")
        signals["voiced"] = (voiced_signal(leg, seconds, 7000), "f0 140 Hz, band-limited to 7 kHz")
    target = ">= 60" if leg == 16000 else None
    skip = round(leg * SKIP_S)
    figures: list[Figure] = []
    lags: list[float] = []
    for label, (x, note) in signals.items():
        y = round_trip(leg, x)
        lags.append(delay(x, y))
        snr = snr_db(x, y, round(lags[-1]), skip)
        figures.append(Figure(SECTION, f"round-trip SNR {k}, {label}", snr, "dB", target, note))
    lag = round(float(np.mean(lags)), 3)
    # soxr trims its own filter delay; the latency a caller hears is the held-back audio.
    note = f"{round(lag)} samples, fractional part {lag - round(lag):+.3f}; see held back"
    figures.append(Figure(SECTION, f"round-trip delay {k}", lag / leg * 1000, "ms", note=note))
    if leg == 16000:
        # The same soxr filters in float64: their own error, without the int16 floor.
        x = signals["noise 100-7000 Hz"][0] / 32768
        up = soxr.resample(x, leg, MODEL_RATE, quality=DEFAULT_QUALITY)
        snr = snr_db(x, soxr.resample(up, MODEL_RATE, leg, quality=DEFAULT_QUALITY), 0, skip)
        name = f"round-trip SNR {k}, noise 100-7000 Hz, float64 chain"
        figures.append(Figure(SECTION, name, snr, "dB", note=f"soxr {DEFAULT_QUALITY}, no int16"))
    return figures


def leg_figures(leg: int, quick: bool) -> list[Figure]:
    k = f"{leg // 1000}k"
    seconds = 1.0 if quick else 4.0
    figures = snr_figures(leg, seconds)
    # Tones above the leg's Nyquist frequency (one just above it: the hardest case).
    down = (8100, 8500, 9000, 10000, 11000) if leg == 16000 else (4100, 4500, 5000, 6000, 9000)
    target = ">= 60" if leg == 16000 else None
    rejected = rejection(MODEL_RATE, leg, down, seconds)
    # Where the alias would land; if the strongest output is elsewhere, the alias is under
    # the output's own int16 dither floor and the figure is a lower bound.
    buried = {
        f: abs(where - abs(f - leg * round(f / leg))) > 10 for f, (_, where) in rejected.items()
    }
    worst = min(rejected, key=lambda f: rejected[f][0])
    note = f"at {worst / 1000:g} kHz, {ALIAS_DBFS:g} dBFS tones"
    if all(buried.values()):
        note += "; every alias is under the int16 dither floor, so at least this"
    name = f"alias rejection 24k->{k}, worst"
    figures.append(Figure(SECTION, name, rejected[worst][0], "dB", target, note))
    for f, (db, where) in rejected.items():
        name = f"alias rejection 24k->{k}, {f / 1000:g} kHz"
        note = "alias under the noise floor" if buried[f] else f"alias at {where:.0f} Hz"
        figures.append(Figure(SECTION, name, db, "dB", note=note))
    # Upsampling images of in-band tones land at leg - f, above the leg's Nyquist frequency.
    up = (3000, 5000, 7000) if leg == 16000 else (1000, 2000, 3400)
    imaged = rejection(leg, MODEL_RATE, up, seconds, above=leg / 2 + 100)
    worst = min(imaged, key=lambda f: imaged[f][0])
    name = f"image rejection {k}->24k, worst"
    note = f"from {worst / 1000:g} kHz, strongest image at {imaged[worst][1]:.0f} Hz"
    figures.append(Figure(SECTION, name, imaged[worst][0], "dB", note=note))
    lo, hi = passband_edges(leg, 0.25 if quick else 1.0, leg / 160 if quick else leg / 640)
    figures.append(Figure(SECTION, f"round-trip -0.1 dB edge {k}", lo, "Hz"))
    figures.append(Figure(SECTION, f"round-trip -3 dB edge {k}", hi, "Hz"))
    for rs in (caller_to_model(leg), model_to_caller(leg)):
        mean, most = held_back_ms(rs, 2.0 if quick else 5.0)
        name = f"held back {rs.in_rate // 1000}k->{rs.out_rate // 1000}k"
        figures.append(Figure(SECTION, f"{name}, mean", mean, "ms", note="latency it adds"))
        figures.append(Figure(SECTION, f"{name}, max", most, "ms", note="soxr emits in blocks"))
    return figures


def run(quick: bool = False) -> list[Figure]:
    """Fidelity figures for the 16 kHz legs (slin16) and the 8 kHz fallback legs."""
    return leg_figures(16000, quick) + leg_figures(8000, quick)


if __name__ == "__main__":
    standalone(SECTION, __doc__ or "", run, "shorter signals, coarser sweep")
