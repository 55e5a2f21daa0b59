"""Audio at the edges: read, resample to the grid rate, write. Errors are one clear line.

Inside microturn audio is float32 mono at 16 kHz in [-1, 1]. Anything else is converted
here (resampling with soxr) or refused with an `AudioError` that says what was wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microturn.config import GridConfig


class AudioError(ValueError):
    """Unreadable, empty or malformed audio (a one-line message for the user)."""


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a mono float signal with soxr (high quality); a no-op when rates match."""
    if sr_in <= 0 or sr_out <= 0:
        raise AudioError(f"sample rates must be positive, got {sr_in} -> {sr_out}")
    x = np.asarray(x, dtype=np.float32)
    if sr_in == sr_out or x.size == 0:
        return x
    import soxr

    return soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32)


class StreamResampler:
    """`resample` for a stream cut into pieces: soxr with its filter state kept across calls,
    so piece boundaries leave no clicks (the output lags the input by the filter's delay)."""

    def __init__(self, sr_in: int, sr_out: int):
        if sr_in <= 0 or sr_out <= 0:
            raise AudioError(f"sample rates must be positive, got {sr_in} -> {sr_out}")
        import soxr

        self.same = sr_in == sr_out
        self._s = None if self.same else soxr.ResampleStream(sr_in, sr_out, 1, "float32", "HQ")

    def __call__(self, x: np.ndarray, last: bool = False) -> np.ndarray:
        """The next piece (n,) float32 mono -> its resampled output so far."""
        x = np.asarray(x, dtype=np.float32)
        return x if self._s is None else self._s.resample_chunk(x, last=last)


def load(
    path: str | Path, sample_rate: int = GridConfig().sample_rate, mono: str = "error"
) -> np.ndarray:
    """Read a sound file as float32 mono at `sample_rate`.

    mono: "error" refuses multi-channel files, "mix" averages the channels.
    Raises AudioError for a missing, unreadable, truncated or empty file.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types; all mean "cannot decode"
        raise AudioError(f"{path}: cannot read audio ({_first_line(e)})") from None
    if x.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no audio samples")
    if x.shape[1] > 1:
        if mono != "mix":
            raise AudioError(
                f"{path}: {x.shape[1]} channels; microturn wants mono (pass mono='mix' to downmix)"
            )
        x = x.mean(axis=1, keepdims=True)
    return resample(x[:, 0], sr, sample_rate)


def save(path: str | Path, x: np.ndarray, sample_rate: int = GridConfig().sample_rate) -> None:
    """Write float audio (T,) mono or (T, C) as 16-bit PCM WAV, clipping to [-1, 1]."""
    import soundfile as sf

    x = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sample_rate, subtype="PCM_16")


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)


def from_int16(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x, dtype=np.float32) / 32767).astype(np.float32)


def db(x: np.ndarray) -> float:
    """RMS level in dBFS (-inf-safe)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def _first_line(e: Exception) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__
