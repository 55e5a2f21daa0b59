"""The KV cache of N session slots: preallocated, ring-buffered with attention sinks.

Each slot holds one session's keys and values for every layer in a fixed-length buffer of
L = (sink_chunks + window_chunks) * 8 positions (both from `ModelConfig`, the one place the
policy is set). The first `sink_chunks` chunks stay forever (attention sinks, as in
StreamingLLM); after them a ring keeps the last `window_chunks` chunks, so a session can run for
an hour in bounded memory and per-step cost. The ring works in whole chunks: the chunk being
written only ever overwrites one that has already left every query's window, so every query
sees the same keys at the same places however its chunk's rows were split into calls.

`seq` records which sequence index each physical position holds (-1: empty); visibility is
computed from it, never from ring arithmetic at the call site:

    key j is visible to query i  <=>  seq[j] <= i  and
                                      (chunk(seq[j]) < sink_chunks or
                                       chunk(seq[j]) > chunk(i) - window_chunks)

`InteractionModel.forward(batch, cache=...)` drives it: `begin(r, run)` registers the next r
positions of every running slot (all running slots stand at the same row of their chunk: the
engine steps a chunk's rows in the same calls for every session), then each layer's attention
calls `attend`, which writes its keys and values and attends over the buffer. All writes take
an exec mask: a row whose session has nothing to do this tick is left bit-for-bit unchanged.
The cache is plain tensors owned by the runtime, never by a module.
"""

from __future__ import annotations

import torch

from microturn.config import Config
from microturn.grid import Grid
from microturn.model.invariant import additive, attend, place


class KVCache:
    def __init__(
        self,
        cfg: Config,
        slots: int,
        invariant: bool = True,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        if slots < 1:
            raise ValueError(f"need slots >= 1, got {slots}")
        m = cfg.model
        self.P = 2 * Grid(cfg.grid).positions_per_chunk  # sequence positions per chunk (in + out)
        self.slots, self.invariant = slots, invariant
        self.window_chunks, self.sink_chunks = m.window_chunks, m.sink_chunks
        self.L = (self.sink_chunks + self.window_chunks) * self.P
        hd = m.d_model // m.n_heads
        shape = (m.n_layers, slots, m.n_kv_heads, self.L, hd)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.seq = torch.full((slots, self.L), -1, dtype=torch.long, device=device)
        self.length = torch.zeros(slots, dtype=torch.long, device=device)  # positions written
        self.row = 0  # the row of their chunk that running slots write next (host side)
        self._rows = torch.arange(slots, device=device)[:, None]
        self._step: tuple | None = None  # (row0, r, run, phys, mask) of the current call

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

    # --- one model call ----------------------------------------------------------------------
    def begin(self, r: int, run: torch.Tensor) -> None:
        """Register the next r positions (all in the current chunk) of every slot in `run` (N,)
        bool; the next model call's layers write and attend there. Rows not in `run` compute
        garbage and leave the cache unchanged."""
        row0 = self.row
        if not 0 < r <= self.P - row0:
            raise ValueError(f"{r} rows from row {row0} cross a chunk of {self.P} positions")
        seq = self.length[:, None] + torch.arange(r, device=self.seq.device)  # (N, r)
        phys = self.physical(seq)
        old = self.seq[self._rows, phys]
        self.seq[self._rows, phys] = torch.where(run[:, None], seq, old)
        self.length = torch.where(run, self.length + r, self.length)
        # Invariant: the r query rows sit at their own rows of a whole chunk's 8-row block.
        q_seq = place(seq, row0, 1, -1) if self.invariant else seq
        mask = additive(self.visible(q_seq), self.k.dtype)
        self._step = (row0, r, run, phys, mask)
        self.row = (row0 + r) % self.P

    def attend(self, layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q (N, H, r, hd), k/v (N, Hkv, r, hd) of the registered rows -> (N, H, r, hd):
        k/v go into `layer` (running slots only), then q attends over the whole buffer."""
        assert self._step is not None, "call begin() before the model"
        row0, r, run, phys, mask = self._step
        keep = run[:, None, None, None]
        for buf, new in ((self.k[layer], k), (self.v[layer], v)):
            old = buf[self._rows, :, phys]  # (N, r, Hkv, hd)
            buf[self._rows, :, phys] = torch.where(keep, new.transpose(1, 2).to(buf.dtype), old)
        if not self.invariant:
            return attend(q, self.k[layer], self.v[layer], mask)
        y = attend(place(q, row0, 2, 0.0), self.k[layer], self.v[layer], mask)  # (N, H, 8, hd)
        return y[:, :, row0 : row0 + r]

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
