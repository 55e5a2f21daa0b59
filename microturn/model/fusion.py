"""Encoder-free input embeddings: dMel audio, 40x40 image patches (hMLP), text tokens.

Early fusion: each modality becomes one d_model vector per sequence position through a light,
from-scratch layer; the model sums the vectors present at a position. No pretrained encoder.

- `DMelEmbed`: a "bag of embeddings" per frame (one learned row per (mel channel, bin), summed
  over the channels: research/components.md §1.3), then the `frames_per_position` frames of a
  position are concatenated and projected to d_model. Why concat+project rather than summing
  the frames with a frame-index embedding: a sum is order-blind (the frame-index vectors add
  the same constant whichever frame came first), so "rising" and "falling" 50 ms would embed
  the same; concat keeps the order, and the (channel, bin) table stays shared between frames.
- `HMLPStem`: the 4-layer hMLP of Touvron et al. 2022 for 40 = 5*2*2*2 pixel patches: each
  stage is a conv whose stride equals its kernel, so it is a per-patch MLP and no pixel of one
  patch reaches another patch's token. LayerNorm over channels, not BatchNorm: BatchNorm would
  couple the samples of a batch (breaking batch invariance and patch independence in training).
- `TextEmbed`: token embedding whose pad id embeds to exactly zero (even if the matrix is tied
  to the text head, which does train that row).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DMelEmbed(nn.Module):
    """dMel codes (..., frames, n_mels) uint8 -> (..., d_model), one vector per position."""

    def __init__(self, d_model: int, n_mels: int, bins: int, frames: int):
        super().__init__()
        self.n_mels, self.bins, self.frames = n_mels, bins, frames
        self.table = nn.Parameter(torch.empty(n_mels * bins, d_model))
        nn.init.normal_(self.table, std=0.02)
        self.proj = nn.Linear(frames * d_model, d_model, bias=False)
        # Row of (channel c, bin b) is c * bins + b.
        self.register_buffer("offset", torch.arange(n_mels) * bins, persistent=False)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        assert codes.shape[-2:] == (self.frames, self.n_mels), (
            f"dMel codes must be (..., {self.frames}, {self.n_mels}), got {tuple(codes.shape)}"
        )
        lead = codes.shape[:-2]
        rows = codes.long().reshape(-1, self.n_mels) + self.offset  # (N*frames, n_mels)
        # embedding_bag sums the 80 rows without materialising an (N, frames, 80, d) tensor.
        bag = F.embedding_bag(rows, self.table, mode="sum")  # (N*frames, d)
        return self.proj(bag.reshape(*lead, -1))  # (..., d)


class ChannelNorm(nn.Module):
    """LayerNorm over C at each spatial location of a (N, C, H, W) map."""

    def __init__(self, channels: int):
        super().__init__()
        self.ln = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class HMLPStem(nn.Module):
    """Patches (..., 3, p, p) float in [0, 1] -> tokens (..., d_model); p = 40 by default.

    Stages: kernel=stride (p/8, 2, 2, 2), widths (d/4, d/4, d/4, d), each conv followed by a
    channel LayerNorm; GELU between stages, none after the last (as in the hMLP paper).
    """

    def __init__(self, d_model: int, patch: int = 40):
        super().__init__()
        if patch % 8:
            raise ValueError(f"hMLP needs a patch side divisible by 8 (p/8, 2, 2, 2), got {patch}")
        self.patch = patch
        kernels = (patch // 8, 2, 2, 2)
        widths = (d_model // 4, d_model // 4, d_model // 4, d_model)
        layers: list[nn.Module] = []
        c = 3
        for i, (k, w) in enumerate(zip(kernels, widths, strict=True)):
            layers += [nn.Conv2d(c, w, kernel_size=k, stride=k), ChannelNorm(w)]
            if i < len(kernels) - 1:
                layers.append(nn.GELU())
            c = w
        self.net = nn.Sequential(*layers)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        p = self.patch
        assert patches.shape[-3:] == (3, p, p), f"patches must be (..., 3, {p}, {p})"
        lead = patches.shape[:-3]
        x = patches.reshape(-1, 3, p, p) * 2.0 - 1.0  # [0, 1] -> [-1, 1]
        return self.net(x).reshape(*lead, -1)  # (N, d, 1, 1) -> (..., d)


def patchify(images: torch.Tensor, patch: int = 40) -> torch.Tensor:
    """Images (..., 3, H, W) -> patches (..., H/p * W/p, 3, p, p), row-major patch order."""
    *lead, c, h, w = images.shape
    assert h % patch == 0 and w % patch == 0, f"image {h}x{w} is not a multiple of {patch}"
    x = images.reshape(*lead, c, h // patch, patch, w // patch, patch)
    x = x.movedim(-4, -5).movedim(-2, -4)  # (..., H/p, W/p, c, p, p)
    return x.reshape(*lead, (h // patch) * (w // patch), c, patch, patch)


class TextEmbed(nn.Module):
    """Token ids (...) long -> (..., d_model); the pad id (no token in this slot) gives zeros."""

    def __init__(self, vocab_size: int, d_model: int, pad_id: int):
        super().__init__()
        self.pad_id = pad_id
        self.emb = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)

    @property
    def weight(self) -> torch.Tensor:
        return self.emb.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # Masking (not just padding_idx) keeps pad at zero when the head ties and trains the row.
        return self.emb(ids) * (ids != self.pad_id).unsqueeze(-1).to(self.emb.weight.dtype)
