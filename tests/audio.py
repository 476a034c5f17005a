"""Audio fixtures and measurements for the interop tests.

Tones are written as 16-bit mono WAV (any rate, 8 kHz and 16 kHz in practice) or
as raw G.711 mu-law for SIPp's ``rtp_stream``. Received audio is judged by its
dominant frequency and its energy, never by its bytes: codecs, jitter buffers
and resamplers on the path change the samples but not the pitch.

Run as a script for quick looks::

    python3 tests/audio.py tone 440 3 /tmp/a.wav --rate 8000
    python3 tests/audio.py ulaw 1000 2 /tmp/t.ulaw
    python3 tests/audio.py analyze /tmp/rec.wav
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

# Leading audio ignored by the analysis: jitter buffers fill, players start and
# the first packets of a call are often silence or a click.
DEFAULT_SKIP_S = 0.3


def tone_samples(freq: float, seconds: float, rate: int = 8000, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float samples in [-1, 1]."""
    n = int(round(seconds * rate))
    t = np.arange(n, dtype=np.float64) / rate
    return amplitude * np.sin(2.0 * math.pi * freq * t)


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> Path:
    """Write float samples in [-1, 1] as 16-bit mono PCM WAV."""
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm16(samples).tobytes())
    return path


def write_tone_wav(path: str | Path, freq: float, seconds: float, rate: int = 8000,
                   amplitude: float = 0.5) -> Path:
    return write_wav(path, tone_samples(freq, seconds, rate, amplitude), rate)


# --- G.711 mu-law (ITU-T G.711, the usual biased segment encoding) ---------------

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def ulaw_encode(pcm16: np.ndarray) -> np.ndarray:
    """Encode 16-bit linear samples to mu-law bytes."""
    x = np.asarray(pcm16, dtype=np.int32)
    sign = np.where(x < 0, 0x80, 0x00)
    mag = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    # Segment number: position of the highest set bit above bit 7 (0..7).
    exponent = np.zeros_like(mag)
    for k in range(1, 8):
        exponent += (mag >= (1 << (7 + k))).astype(np.int32)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def ulaw_decode(codes: np.ndarray) -> np.ndarray:
    """Decode mu-law bytes to 16-bit linear samples."""
    u = (~np.asarray(codes, dtype=np.int32)) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def write_tone_ulaw(path: str | Path, freq: float, seconds: float, amplitude: float = 0.5) -> Path:
    """Raw 8 kHz mu-law, headerless, as SIPp's ``rtp_stream`` wants it.

    A whole number of periods of ``freq`` per 20 ms frame is not required: SIPp
    loops the file, and a click at the loop point does not move the peak.
    """
    path = Path(path)
    pcm = to_pcm16(tone_samples(freq, seconds, 8000, amplitude))
    path.write_bytes(ulaw_encode(pcm).tobytes())
    return path


# --- analysis ---------------------------------------------------------------------

def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float in [-1, 1] (channels averaged) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        channels = w.getnchannels()
        width = w.getsampwidth()
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2147483648.0
    else:
        raise ValueError(f"{path}: unsupported sample width {width}")
    if channels > 1:
        usable = len(data) - len(data) % channels
        data = data[:usable].reshape(-1, channels).mean(axis=1)
    return data, rate


def dominant_frequency(samples: np.ndarray, rate: int, min_hz: float = 50.0) -> float:
    """Frequency of the strongest spectral peak above ``min_hz`` (Hann window,
    parabolic interpolation between bins). 0.0 for empty or silent input."""
    if len(samples) < 64 or not np.any(samples):
        return 0.0
    windowed = (samples - samples.mean()) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(windowed))
    bin_hz = rate / len(samples)
    lo = max(1, int(math.ceil(min_hz / bin_hz)))
    if lo >= len(spectrum) - 1:
        return 0.0
    k = lo + int(np.argmax(spectrum[lo:]))
    offset = 0.0
    if 0 < k < len(spectrum) - 1:
        a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-12)
        denom = a - 2.0 * b + c
        if denom != 0.0:
            offset = 0.5 * (a - c) / denom
    return float((k + offset) * bin_hz)


def rms(samples: np.ndarray) -> float:
    if len(samples) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples))))


def dbfs(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else -math.inf


@dataclass
class Analysis:
    path: str
    rate: int
    duration_s: float
    analysed_s: float
    freq_hz: float
    rms: float
    rms_dbfs: float

    def __str__(self) -> str:
        return (f"{self.path}: {self.duration_s:.2f} s at {self.rate} Hz, "
                f"dominant {self.freq_hz:.1f} Hz, rms {self.rms:.4f} ({self.rms_dbfs:.1f} dBFS)")


def analyze(path: str | Path, skip_s: float = DEFAULT_SKIP_S, tail_s: float = 0.1) -> Analysis:
    """Dominant frequency and RMS of a WAV, ignoring its first ``skip_s`` seconds
    and its last ``tail_s`` (hang-up clicks)."""
    samples, rate = read_wav(path)
    start = int(skip_s * rate)
    end = max(start, len(samples) - int(tail_s * rate))
    body = samples[start:end]
    level = rms(body)
    return Analysis(
        path=str(path),
        rate=rate,
        duration_s=len(samples) / rate if rate else 0.0,
        analysed_s=len(body) / rate if rate else 0.0,
        freq_hz=dominant_frequency(body, rate),
        rms=level,
        rms_dbfs=dbfs(level),
    )


def assert_tone(path: str | Path, expected_hz: float, tolerance: float = 0.05,
                min_rms: float = 0.01, min_seconds: float = 1.0) -> Analysis:
    """Fail with a readable message unless the WAV carries ``expected_hz``
    (within ``tolerance``, relative) with at least ``min_rms`` of energy."""
    a = analyze(path)
    assert a.analysed_s >= min_seconds, f"recording too short: {a}"
    assert a.rms >= min_rms, f"recording too quiet (want rms >= {min_rms}): {a}"
    assert abs(a.freq_hz - expected_hz) <= tolerance * expected_hz, (
        f"expected a {expected_hz:.0f} Hz tone (±{tolerance:.0%}), got: {a}")
    return a


# --- multi-tone signals: DTMF, progress tones, speech-like energy ------------------

DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


def tone_between(path: str | Path, start_s: float, end_s: float,
                 floor_dbfs: float = -45.0) -> tuple[float, float]:
    """(dominant Hz, level dBFS) of a recording between two of its seconds;
    0 Hz when the level is below ``floor_dbfs`` (silence has no pitch)."""
    samples, rate = read_wav(path)
    part = samples[int(max(0.0, start_s) * rate):int(end_s * rate)]
    if len(part) <= rate // 10:
        raise AssertionError(f"{path}: nothing between {start_s:.2f} and {end_s:.2f} s")
    level = dbfs(rms(part))
    if level < floor_dbfs:
        return 0.0, level
    return dominant_frequency(part, rate), level


def tone_at_end(path: str | Path, seconds: float, skip_end: float = 0.1) -> tuple[float, float]:
    """:func:`tone_between` over the recording's last ``seconds`` before its
    last ``skip_end``."""
    samples, rate = read_wav(path)
    end = len(samples) / rate - skip_end
    return tone_between(path, end - seconds, end)


def dtmf_freqs(digit: str) -> tuple[float, float]:
    for r, row in enumerate(DTMF_KEYS):
        c = row.find(digit.upper())
        if c >= 0:
            return DTMF_ROWS[r], DTMF_COLS[c]
    raise ValueError(f"not a DTMF digit: {digit!r}")


def dtmf_samples(digits: str, rate: int = 8000, tone_s: float = 0.1, gap_s: float = 0.1,
                 level_dbfs: float = -10.0, lead_s: float = 0.5, tail_s: float = 0.5) -> np.ndarray:
    """In-band DTMF: each digit's two sines at ``level_dbfs`` (peak) apiece, separated
    by silence, with silence before and after."""
    amp = 10.0 ** (level_dbfs / 20.0)
    parts = [np.zeros(int(lead_s * rate))]
    for d in digits:
        lo, hi = dtmf_freqs(d)
        parts.append(tone_samples(lo, tone_s, rate, amp) + tone_samples(hi, tone_s, rate, amp))
        parts.append(np.zeros(int(gap_s * rate)))
    parts.append(np.zeros(int(tail_s * rate)))
    return np.concatenate(parts)


def goertzel_power(frame: np.ndarray, rate: int, freq: float) -> float:
    """Normalised power of ``freq`` in ``frame`` (about amplitude**2 / 4 for a sine)."""
    n = len(frame)
    if n == 0:
        return 0.0
    w = 2.0 * math.pi * freq / rate
    coeff = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for x in frame:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)


def detect_dtmf(samples: np.ndarray, rate: int, frame_s: float = 0.02,
                min_level_dbfs: float = -35.0, min_frames: int = 2) -> str:
    """Digits found in audio, one per key press: a test-side reference detector
    (Goertzel over 20 ms frames, the strongest row and column must each stand
    8 dB above the others, and a digit must hold ``min_frames`` frames)."""
    n = max(1, int(frame_s * rate))
    floor = (10.0 ** (min_level_dbfs / 20.0)) ** 2 / 4.0
    out, current, run = [], None, 0
    for start in range(0, len(samples) - n + 1, n):
        frame = samples[start:start + n]
        rows = [goertzel_power(frame, rate, f) for f in DTMF_ROWS]
        cols = [goertzel_power(frame, rate, f) for f in DTMF_COLS]
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        digit = None
        if rows[r] > floor and cols[c] > floor:
            others_r = max(v for i, v in enumerate(rows) if i != r)
            others_c = max(v for i, v in enumerate(cols) if i != c)
            if rows[r] > 6.3 * others_r and cols[c] > 6.3 * others_c:
                digit = DTMF_KEYS[r][c]
        if digit is not None and digit == current:
            run += 1
            if run == min_frames:
                out.append(digit)
        else:
            current, run = digit, 1 if digit is not None else 0
            if digit is not None and min_frames <= 1:
                out.append(digit)
    return "".join(out)


def read_wav_channels(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float, shape (frames, channels), and the sample rate (16-bit PCM)."""
    with wave.open(str(path), "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: want 16-bit PCM, got {8 * width}-bit")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    usable = len(data) - len(data) % channels
    return data[:usable].reshape(-1, channels), rate


def band_levels(samples: np.ndarray, rate: int, freqs: Iterable[float],
                half_width_hz: float = 15.0) -> dict[float, float]:
    """Share of the signal's spectral energy within ±half_width_hz of each frequency."""
    if len(samples) < 64:
        return {f: 0.0 for f in freqs}
    spectrum = np.abs(np.fft.rfft((samples - samples.mean()) * np.hanning(len(samples)))) ** 2
    total = float(spectrum.sum()) or 1.0
    hz = np.fft.rfftfreq(len(samples), 1.0 / rate)
    return {f: float(spectrum[(hz >= f - half_width_hz) & (hz <= f + half_width_hz)].sum()) / total
            for f in freqs}


def frame_rms(samples: np.ndarray, rate: int, frame_s: float = 0.02) -> np.ndarray:
    n = max(1, int(frame_s * rate))
    usable = len(samples) - len(samples) % n
    if usable == 0:
        return np.zeros(0)
    return np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, n)), axis=1))


def active_runs(samples: np.ndarray, rate: int, threshold_dbfs: float = -30.0,
                frame_s: float = 0.02, bridge_s: float = 0.1) -> list[tuple[float, float]]:
    """(start s, length s) of stretches whose 20 ms RMS is above the threshold;
    gaps shorter than ``bridge_s`` (a lost packet, a codec click) do not split a run."""
    level = frame_rms(samples, rate, frame_s)
    on = level > 10.0 ** (threshold_dbfs / 20.0)
    runs: list[list[float]] = []
    for i, active in enumerate(on):
        if not active:
            continue
        t = i * frame_s
        if runs and t - (runs[-1][0] + runs[-1][1]) <= bridge_s:
            runs[-1][1] = t + frame_s - runs[-1][0]
        else:
            runs.append([t, frame_s])
    return [(round(a, 3), round(b, 3)) for a, b in runs]


def active_seconds(samples: np.ndarray, rate: int, threshold_dbfs: float = -40.0) -> float:
    """Seconds of 20 ms frames above the threshold (speech has pauses: not one run)."""
    level = frame_rms(samples, rate)
    return float(np.count_nonzero(level > 10.0 ** (threshold_dbfs / 20.0))) * 0.02


def _main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tone", help="write a sine tone WAV")
    t.add_argument("freq", type=float)
    t.add_argument("seconds", type=float)
    t.add_argument("out")
    t.add_argument("--rate", type=int, default=8000)
    t.add_argument("--amplitude", type=float, default=0.5)
    u = sub.add_parser("ulaw", help="write a raw 8 kHz mu-law tone")
    u.add_argument("freq", type=float)
    u.add_argument("seconds", type=float)
    u.add_argument("out")
    u.add_argument("--amplitude", type=float, default=0.5)
    m = sub.add_parser("dtmf", help="write in-band DTMF digits as a WAV")
    m.add_argument("digits")
    m.add_argument("out")
    m.add_argument("--rate", type=int, default=8000)
    a = sub.add_parser("analyze", help="print dominant frequency and RMS as JSON")
    a.add_argument("wav")
    a.add_argument("--skip", type=float, default=DEFAULT_SKIP_S)
    args = p.parse_args(argv)
    if args.cmd == "tone":
        write_tone_wav(args.out, args.freq, args.seconds, args.rate, args.amplitude)
    elif args.cmd == "dtmf":
        write_wav(args.out, dtmf_samples(args.digits, args.rate), args.rate)
    elif args.cmd == "ulaw":
        write_tone_ulaw(args.out, args.freq, args.seconds, args.amplitude)
    else:
        print(json.dumps(asdict(analyze(args.wav, args.skip))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
