"""The scorer's one fixed VAD: when a system speaks, read from its output audio.

Every system is timed the same way, from the samples it wrote, never from what it says it did
(research/benchmarks.md C0-C1): 10 ms frames; a frame is speech when its level is at least
max(-40 dBFS, the file's peak frame - 35 dB); runs shorter than 60 ms are dropped; gaps of at
most 0.35 s are merged, so one utterance with commas stays one segment.

Deterministic, numpy only, and deliberately plain: it is part of the instrument, and its
source is hashed into every result (`score.SCORER_VERSION`).
"""

from __future__ import annotations

import numpy as np

from microturn.config import GridConfig

FRAME_S = 0.01
FLOOR_DB = -40.0
BELOW_PEAK_DB = 35.0
MIN_SPEECH_S = 0.06
MERGE_GAP_S = 0.35


def frame_db(x: np.ndarray, sr: int = GridConfig().sample_rate) -> np.ndarray:
    n = int(round(FRAME_S * sr))
    x = np.asarray(x, np.float64)
    k = len(x) // n
    if k == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(x[: k * n].reshape(k, n) ** 2, axis=1))
    return 20 * np.log10(rms + 1e-10)


def segments(x: np.ndarray, sr: int = GridConfig().sample_rate) -> list[tuple[float, float]]:
    """Output audio (T,) -> speech segments [(onset_s, offset_s), ...] in time order."""
    db = frame_db(x, sr)
    if not len(db):
        return []
    on = db >= max(FLOOR_DB, db.max() - BELOW_PEAK_DB)
    runs, start = [], None
    for i, v in enumerate(np.append(on, False)):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append([start * FRAME_S, i * FRAME_S])
            start = None
    runs = [r for r in runs if r[1] - r[0] >= MIN_SPEECH_S - 1e-9]  # blips first, then merge
    merged: list[list[float]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= MERGE_GAP_S + 1e-9:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(round(a, 3), round(b, 3)) for a, b in merged]
