"""Train-time augmentation of the dMel inputs: one random "voice and channel" per sample for
the user's audio (`augment_dmel`), and the error of a flow head for the model's own
(`noisy_own`).

The model hears the held-out engine (festival) worse than the train voices, and its
turn-taking read-out is worst where it hears worst (docs/LOG.md, the 2026-11-30 entries on
hearing). Synthesis gives a few engines and voices; this widens them cheaply, on the stored
dMel codes (no re-synthesis), with one draw per sample and per epoch:

- a warp of the mel axis (channel c reads channel c / alpha): a shorter or longer vocal
  tract, like `Voice.formant` but for every voice and engine;
- a level shift and a spectral tilt (a ramp from low to high channels), in dMel bins
  (one bin is 0.35 log10 units, ~7 dB): a louder or duller channel;
- with probability 1/2, one band of channels blanked (a frequency mask).

Silence stays silence: cells at the floor code 0 are never raised. `strength` scales every
range (0 = off, 1 = the ranges below). The draw comes from (seed, epoch, sample), so a
resumed run augments exactly as the uninterrupted one.
"""

from __future__ import annotations

import numpy as np

WARP = 0.10  # alpha in [1 - WARP, 1 + WARP] at strength 1
LEVEL = 1.0  # bins
TILT = 1.5  # bins, the ramp's value at the top channel (minus at the bottom)
MASK = 8  # widest blanked band, channels


def augment_dmel(codes: np.ndarray, rng: np.random.Generator, strength: float, bins: int = 16):
    """(frames, channels) uint8 dMel codes -> augmented copy (same shape and dtype)."""
    if strength <= 0:
        return codes
    n = codes.shape[1]
    alpha = 1.0 + strength * WARP * rng.uniform(-1, 1)
    src = np.clip(np.rint(np.arange(n) / alpha), 0, n - 1).astype(np.int64)
    x = codes[:, src].astype(np.float32)
    lit = x > 0
    ramp = np.linspace(-1.0, 1.0, n, dtype=np.float32)
    x += strength * (LEVEL * rng.uniform(-1, 1) + TILT * rng.uniform(-1, 1) * ramp)
    out = np.where(lit, np.clip(np.rint(x), 0, bins - 1), 0).astype(codes.dtype)
    if rng.random() < 0.5:
        width = int(rng.integers(0, int(strength * MASK) + 1))
        lo = int(rng.integers(0, n - width + 1))
        out[:, lo : lo + width] = 0
    return out


def noisy_own(
    codes: np.ndarray, rng: np.random.Generator, sigma: float, bin_width: float, bins: int = 16
):
    """(frames, channels) uint8 dMel codes of the model's own channel -> a copy with Gaussian
    noise of `sigma` log10 units per cell (`bin_width` log10 units per code), rounded and
    clipped to the codebook: its history as its own flow head would say it (the head's error
    is ~0.3 log10 per cell), so that what it hears of itself in free running is no surprise.
    sigma 0 returns `codes`."""
    if sigma <= 0:
        return codes
    x = codes.astype(np.float32) + rng.normal(0.0, sigma / bin_width, codes.shape)
    return np.clip(np.rint(x), 0, bins - 1).astype(codes.dtype)
