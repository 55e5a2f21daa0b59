"""Batch-invariant kernels: a row's result must not depend on what else is in the call.

CPU BLAS picks a different kernel for a 1-row product than for a 200-row one, so the same
token gives bits that differ by ~1e-5 depending on how many sessions share the step, or
whether it was computed in a streaming step or in one full pass (measured:
`research/components.md` §5.2, and `tests/test_runtime.py`'s negative control). Two rules fix
it here, in plain torch:

- **linear:** never multiply fewer than `MIN_ROWS` rows (zero-pad up to it). Below that the
  BLAS takes a small-M path whose bits differ; from 16 rows up, a row's result is the same
  for any M, any offset and 1 or 2 threads on this machine (measured up to M = 5,000; the
  tests re-check it, since it is a property of the BLAS build, not a law). Research found
  fixed 64-row blocks work too, at 4x the cost of a 1-row step;
- **attention:** queries always come as one fixed block of `QUERY_BLOCK` rows (a chunk's 8
  positions, at their own row) against a fixed-length key buffer with a mask, so each row's
  reduction over keys is chunked the same way in a 1-row decode step and in a full pass.

`InteractionModel.forward` applies both whenever it runs over an invariant KV cache
(`runtime/cache.py`); a cache made with `invariant=False` skips both (plain GEMMs on the live
rows, only the real query rows): the negative control, and the speed reference for the mode's
cost. Training (no cache) runs plain GEMMs on its thousands of rows and SDPA's causal kernel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MIN_ROWS = 16  # fewer rows than this take the BLAS's batch-dependent small-M path
QUERY_BLOCK = 8  # query rows per attention call: one micro-turn chunk


def pad_rows(x: torch.Tensor, invariant: bool = True) -> tuple[torch.Tensor, int]:
    """Rows (M, ...) -> (max(M, MIN_ROWS), ...) zero-padded when invariant, and M: every GEMM
    downstream of these rows then runs with at least MIN_ROWS rows."""
    m = x.shape[0]
    if not invariant or m >= MIN_ROWS:
        return x, m
    return torch.cat([x, x.new_zeros(MIN_ROWS - m, *x.shape[1:])]), m


def rows(fn, x: torch.Tensor, pad: bool, lead: int | None = None) -> torch.Tensor:
    """fn over the rows of x -> (*x.shape[:lead], d'); a row is everything after the first
    `lead` dims (default: all but the last). With `pad`, fn sees at least MIN_ROWS rows."""
    if not pad:
        return fn(x)
    lead = x.dim() - 1 if lead is None else lead
    h, n = pad_rows(x.reshape(-1, *x.shape[lead:]))
    return fn(h)[:n].view(*x.shape[:lead], -1)


def place(t: torch.Tensor, row0: int, dim: int, fill: float) -> torch.Tensor:
    """Put t's r rows (along `dim`) at rows row0.. of a QUERY_BLOCK-row block filled with fill."""
    shape = list(t.shape)
    shape[dim] = QUERY_BLOCK
    out = t.new_full(shape, fill)
    out.narrow(dim, row0, t.shape[dim]).copy_(t)
    return out


def additive(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Bool visibility (True = may attend) -> float mask (0 / -inf), made once per step."""
    z = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return z.masked_fill_(~mask, float("-inf"))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """q (B, H, Q, hd), k/v (B, Hkv, L, hd), mask (B, 1, Q, L) float additive -> (B, H, Q, hd).

    The query heads sharing a K/V head are folded into rows (one SDPA call per K/V head, no
    K/V copies; 1.3x faster than `enable_gqa` here). Invariant callers pass Q == QUERY_BLOCK
    (unused rows zero) and the cache's fixed L; masked keys add exact zeros, so a row's
    reduction does not depend on the rows beside it.
    """
    B, H, Q, hd = q.shape
    g = H // k.shape[1]
    rows = q.reshape(B, k.shape[1], g * Q, hd)  # heads of a group are adjacent (GQA layout)
    m = mask.expand(B, g, Q, mask.shape[-1]).reshape(B, 1, g * Q, mask.shape[-1])
    return F.scaled_dot_product_attention(rows, k, v, attn_mask=m).view(B, H, Q, hd)
