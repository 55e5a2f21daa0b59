"""The phone stream: what the model's voice is saying, one phoneme id per dMel frame.

The model voice is espeak-ng, which reports every phoneme's onset (`synth/espeak.py`); a
phoneme lasts until the next one or its word's end, and frames outside words are silence. The
model learns this stream as its own output, held (a phoneme's id repeats on every frame it
lasts) and frame-aligned, leading its audio by `TrainConfig.phone_lead` slots, so that what it
means to say drives the sound it makes (docs/LOG.md: a held, aligned stream is what a small
model needs to speak intelligibly; one word piece per slot followed by pads is not).

Ids: 0 silence, 1 a phoneme outside the inventory, then INVENTORY in order. The inventory is
espeak-ng's English mnemonics as the data engine's model voice uses them (67 seen in 7,000
corpus sentences), plus spares; it is part of the model's vocabulary: append, never reorder.
"""

from __future__ import annotations

import numpy as np

from microturn.config import ModelConfig
from microturn.synth.base import Word

SILENCE, OTHER = 0, 1
# fmt: off
INVENTORY = (
    "n", "t", "s", "d", "I", "E", "k", "m", "l", "aI", "r", "eI", "i:", "V", "w", "z", "@",
    "f", "a", "oU", "D", "p", "i", "h", "b", "aU", "u:", "v", "g", "3", "T", "@2", "I2", "t#",
    "j", "a#", "N", ";", "0", "3:", "A@", "tS", "O@", "I#", "o@", "t2", "@L", "O2", "O:", "A:",
    "dZ", "S", "U", "aa", "r-", "e@", "i@", "i@3", "U@", "aI@", "aI3", "OI", "@-", "?", "n-",
    "Z", "A~", "l-", "m-", "x", "W", "aI@3", "@5", "u", "e", "o",
)
# fmt: on
N_PHONES = 2 + len(INVENTORY)
assert N_PHONES <= ModelConfig.n_phones, "the inventory outgrew ModelConfig.n_phones"
_ID = {p: i + 2 for i, p in enumerate(INVENTORY)}


def phone_id(name: str) -> int:
    return _ID.get(name, OTHER)


def frame_phones(words: list[Word], n_frames: int, hop_s: float) -> np.ndarray:
    """Words with phones (absolute word times) -> (n_frames,) int64 ids; frame f is the
    phoneme sounding at f * hop_s. A word without phones reads OTHER over its span; a phoneme
    shorter than a frame still takes the frame it starts in."""
    out = np.full(n_frames, SILENCE, np.int64)
    frame = lambda t: min(n_frames, max(0, int(np.ceil(t / hop_s - 1e-9))))  # noqa: E731
    for w in words:
        if not w.phones:
            out[frame(w.t_on) : frame(w.t_off)] = OTHER
            continue
        for i, (name, dt) in enumerate(w.phones):
            on = w.t_on + dt
            off = w.t_on + w.phones[i + 1][1] if i + 1 < len(w.phones) else max(w.t_off, on)
            a = frame(on)
            out[a : max(frame(off), min(a + 1, n_frames))] = phone_id(name)
    return out
