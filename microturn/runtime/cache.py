"""The KV cache of N session slots: preallocated, ring-buffered with attention sinks.

Each slot holds one session's keys and values for every layer in a fixed-length buffer of
L = (sink_chunks + window_chunks) * 8 positions. The first `sink_chunks` chunks stay forever
(attention sinks, as in StreamingLLM); after them a ring keeps the last `window_chunks` chunks,
so a session can run for an hour in bounded memory and per-step cost. The ring works in whole
chunks: the chunk being written only ever overwrites one that has already left every query's
window, so a step and a full pass see the same keys at the same places.

`seq` records which sequence index each physical position holds (-1: empty); visibility is
computed from it, never from ring arithmetic at the call site:

    key j is visible to query i  <=>  seq[j] <= i  and
                                      (chunk(seq[j]) < sink_chunks or
                                       chunk(seq[j]) > chunk(i) - window_chunks)

All writes take an exec mask: a row whose session has nothing to do this tick is left
bit-for-bit unchanged. The cache is plain tensors owned by the runtime, never by a module.
"""

from __future__ import annotations

import torch

from microturn.config import Config
from microturn.grid import Grid


class KVCache:
    def __init__(
        self,
        cfg: Config,
        slots: int,
        window_chunks: int = 80,
        sink_chunks: int = 1,
        n_layers: int | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        if window_chunks < 1 or sink_chunks < 0 or slots < 1:
            raise ValueError("need slots >= 1, window_chunks >= 1, sink_chunks >= 0")
        m = cfg.model
        self.P = 2 * Grid(cfg.grid).positions_per_chunk  # sequence positions per chunk (in + out)
        self.slots, self.window_chunks, self.sink_chunks = slots, window_chunks, sink_chunks
        self.L = (sink_chunks + window_chunks) * self.P
        hd = m.d_model // m.n_heads
        n_layers = m.n_layers if n_layers is None else n_layers
        shape = (n_layers, slots, m.n_kv_heads, self.L, hd)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.seq = torch.full((slots, self.L), -1, dtype=torch.long, device=device)
        self.length = torch.zeros(slots, dtype=torch.long, device=device)  # positions written
        self._rows = torch.arange(slots, device=device)[:, None]

    # --- addressing ------------------------------------------------------------------------
    def physical(self, seq: torch.Tensor) -> torch.Tensor:
        """Sequence indices (..., ) -> physical positions in the buffer."""
        sink = self.sink_chunks * self.P
        ring = self.window_chunks * self.P
        return torch.where(seq < sink, seq, sink + (seq - sink) % ring)

    def visible(self, q_seq: torch.Tensor) -> torch.Tensor:
        """q_seq (N, Q) query sequence indices (-1: an unused query row) -> (N, 1, Q, L) bool.

        Unused rows see every key (finite garbage, discarded): a fully masked row would be NaN.
        """
        ks = self.seq[:, None, :]  # (N, 1, L)
        q = q_seq[:, :, None]  # (N, Q, 1)
        kc, qc = ks.div(self.P, rounding_mode="floor"), q.div(self.P, rounding_mode="floor")
        vis = (ks >= 0) & (ks <= q) & ((kc < self.sink_chunks) | (kc > qc - self.window_chunks))
        return (vis | (q < 0)).unsqueeze(1)

    # --- writes ------------------------------------------------------------------------------
    def claim(self, seq: torch.Tensor, run: torch.Tensor) -> torch.Tensor:
        """Register sequence indices seq (N, r) for the rows in `run` (N,) bool; returns their
        physical positions (N, r). Call once per step, before the layers write."""
        phys = self.physical(seq.clamp_min(0))
        old = self.seq[self._rows, phys]
        self.seq[self._rows, phys] = torch.where(run[:, None], seq, old)
        self.length = torch.where(run, seq.max(1).values + 1, self.length)
        return phys

    def write(
        self, layer: int, phys: torch.Tensor, k: torch.Tensor, v: torch.Tensor, run: torch.Tensor
    ) -> None:
        """k/v (N, Hkv, r, hd) into `layer` at phys (N, r), for the rows in `run` only."""
        keep = run[:, None, None, None]
        for buf, new in ((self.k[layer], k), (self.v[layer], v)):
            old = buf[self._rows, :, phys]  # (N, r, Hkv, hd)
            buf[self._rows, :, phys] = torch.where(keep, new.transpose(1, 2).to(buf.dtype), old)

    # --- one slot ----------------------------------------------------------------------------
    def reset(self, slot: int) -> None:
        self.k[:, slot].zero_()
        self.v[:, slot].zero_()
        self.seq[slot].fill_(-1)
        self.length[slot] = 0

    def snapshot(self, slot: int) -> dict[str, torch.Tensor]:
        return {
            "k": self.k[:, slot].clone(),
            "v": self.v[:, slot].clone(),
            "seq": self.seq[slot].clone(),
            "length": self.length[slot].clone(),
        }

    def restore(self, slot: int, snap: dict[str, torch.Tensor]) -> None:
        if snap["k"].shape != self.k[:, slot].shape:
            raise ValueError(
                f"snapshot shape {tuple(snap['k'].shape)} does not fit this cache "
                f"{tuple(self.k[:, slot].shape)}"
            )
        self.k[:, slot] = snap["k"]
        self.v[:, slot] = snap["v"]
        self.seq[slot] = snap["seq"]
        self.length[slot] = snap["length"]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.k, self.v, self.seq, self.length))
