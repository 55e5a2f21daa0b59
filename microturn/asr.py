"""Offline speech recognition for measuring intelligibility (pocketsphinx, CPU, bundled model).

pocketsphinx is weak on synthetic speech, so a WER alone says little: always report it next to
the same recogniser's WER on reference speech (e.g. the data's own espeak model channel).
Optional dependency: `pip install -e .[eval]`.
"""

from __future__ import annotations

import numpy as np


def transcribe(wave: np.ndarray, sample_rate: int = 16_000) -> str:
    """float mono audio -> lower-case words."""
    from pocketsphinx import Decoder

    d = Decoder(samprate=sample_rate, loglevel="FATAL")
    d.start_utt()
    d.process_raw((np.clip(wave, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
    d.end_utt()
    hyp = d.hyp()
    return hyp.hypstr.lower() if hyp else ""


def wer(ref: str, hyp: str) -> float:
    """Word error rate: word-level edit distance / reference length (1.0 if ref is empty and
    hyp is not)."""
    r, h = ref.split(), hyp.split()
    if not r:
        return float(bool(h))
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)] / len(r)
