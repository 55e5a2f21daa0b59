"""Log-mel analysis and dMel discretisation, in plain torch (no librosa, no torchaudio).

- Slaney mel filterbank (librosa's default: Slaney scale, area-normalised triangles).
- Causal framing: frame k covers samples [k*hop - (win - hop), (k+1)*hop) with zeros before
  the start, so a whole-file pass and a chunk-by-chunk stream give bit-identical frames.
- log10 of the mel *magnitude* (|STFT| @ H), floored; dMel = nearest of `bins` levels spaced
  evenly on [lo, hi] (pinned in config, never fitted per clip).
- Streaming state: the (win - hop) samples before the next chunk, one tensor
  (`init_state`, `step`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from microturn.config import Config, MelConfig
from microturn.grid import Grid


def quantize(logmel: torch.Tensor, m: MelConfig) -> torch.Tensor:
    """log10 mel (..., n_mels) -> dMel codes (..., n_mels) uint8: the nearest of `m.bins`
    levels spaced evenly on [m.lo, m.hi]."""
    step = (m.hi - m.lo) / (m.bins - 1)
    idx = torch.round((logmel.clamp(m.lo, m.hi) - m.lo) / step)
    return idx.clamp_(0, m.bins - 1).to(torch.uint8)


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    logstep = math.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / logstep, lin)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    logstep = math.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(logstep * (m - 15.0)), m * (200.0 / 3))


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    """(n_mels, n_fft//2 + 1) Slaney-normalised triangular filters."""
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    pts = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
    rising = (freqs[None] - lo) / (mid - lo)
    falling = (hi - freqs[None]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (hi - lo))
    return torch.from_numpy(fb.astype(np.float32))


class MelAnalyzer:
    """Waveform -> log10 mel frames on the grid, and log-mel <-> dMel codes.

    Holds no stream: a streaming caller keeps the left context as a state tensor (`step`).
    """

    def __init__(self, cfg: Config):
        self.cfg, self.grid = cfg, Grid(cfg.grid)
        m = cfg.mel
        self.fb = mel_filterbank(cfg.grid.sample_rate, m.n_fft, m.n_mels, m.fmin, m.fmax)
        self.fbT = self.fb.T.contiguous()  # (n_fft//2+1, n_mels)
        self.window = torch.hann_window(self.grid.win, periodic=True)
        self.levels = torch.linspace(m.lo, m.hi, m.bins)  # (bins,) bin centres

    @property
    def context(self) -> int:
        """Samples of left context one frame needs beyond its own hop."""
        return self.grid.win - self.grid.hop

    def frames(self, x: torch.Tensor, left: torch.Tensor | None = None) -> torch.Tensor:
        """(..., T) samples, T a multiple of hop -> (..., T // hop, n_mels) log10 mel.

        `left` is the (..., win - hop) samples before x (zeros at a stream's start).
        """
        hop, win = self.grid.hop, self.grid.win
        if x.shape[-1] % hop:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of the hop ({hop})")
        if left is None:
            left = x.new_zeros(*x.shape[:-1], win - hop)
        xx = torch.cat([left.to(x.dtype), x], dim=-1)
        fr = xx.unfold(-1, win, hop) * self.window  # (..., F, win)
        spec = torch.fft.rfft(fr, n=self.cfg.mel.n_fft).abs()  # (..., F, n_fft//2+1)
        # The filterbank product runs in fixed blocks of one chunk's frames (a batched GEMM
        # with M = frames_per_chunk): a plain (F, 513) @ (513, 80) GEMM rounds differently
        # for different F, and streaming must equal the whole pass bit for bit.
        lead, F, nb = spec.shape[:-2], spec.shape[-2], spec.shape[-1]
        B = self.grid.frames_per_chunk
        n = -(-F // B)
        blocks = torch.nn.functional.pad(spec.reshape(-1, F, nb), (0, 0, 0, n * B - F))
        blocks = blocks.reshape(-1, B, nb)
        mel = torch.bmm(blocks, self.fbT.expand(blocks.shape[0], nb, self.fbT.shape[1]))
        mel = mel.reshape(-1, n * B, self.fbT.shape[1])[:, :F].reshape(*lead, F, -1)
        return torch.log10(mel.clamp_min(self.cfg.mel.floor))  # (..., F, n_mels)

    def init_state(self) -> torch.Tensor:
        """A stream's left context before its first chunk: (win - hop,) zeros."""
        return torch.zeros(self.context)

    def step(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One chunk of a stream: (T,) samples (a multiple of hop) and its (win - hop,) left
        context -> (T // hop, n_mels) log10 mel, bit-identical to the same frames of a whole
        pass, and the next chunk's left context (a new tensor: `state` is left as it was)."""
        out = self.frames(chunk, state)
        return out, torch.cat([state, chunk.to(state.dtype)])[-self.context :]

    def quantize(self, logmel: torch.Tensor) -> torch.Tensor:
        """log10 mel (..., n_mels) -> dMel codes (..., n_mels) uint8, nearest level."""
        return quantize(logmel, self.cfg.mel)

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """dMel codes (..., n_mels) -> log10 mel at the bin centres."""
        return self.levels[codes.long()]

    def dmel(self, x: torch.Tensor) -> torch.Tensor:
        """Waveform (..., T) -> dMel codes (..., T // hop, n_mels)."""
        return self.quantize(self.frames(x))
