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
    a = sub.add_parser("analyze", help="print dominant frequency and RMS as JSON")
    a.add_argument("wav")
    a.add_argument("--skip", type=float, default=DEFAULT_SKIP_S)
    args = p.parse_args(argv)
    if args.cmd == "tone":
        write_tone_wav(args.out, args.freq, args.seconds, args.rate, args.amplitude)
    elif args.cmd == "ulaw":
        write_tone_ulaw(args.out, args.freq, args.seconds, args.amplitude)
    else:
        print(json.dumps(asdict(analyze(args.wav, args.skip))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
