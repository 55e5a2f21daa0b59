"""The model's forward pass over a KV cache: a streaming step, and the full pass it must equal.

`step` runs r consecutive positions of each slot's current chunk (rows row0..row0+r-1 of the
chunk's 8) through every block, writing their keys and values into the cache first and then
attending over the whole fixed-length buffer. `full_pass` runs a whole sequence layer by
layer — every projection and MLP over all T positions at once — with attention taken chunk by
chunk over the same sink + window buffer. Both read the weights of the one `InteractionModel`
(its modules hold no state), so the trained model and the served model are the same code.

In invariant mode (default) every GEMM gets at least `MIN_ROWS` rows and every attention call
a full chunk of query rows, so a position's bits do not depend on how it was batched
(`invariant.py`). `invariant=False` is the naive path, kept as the negative control.
"""

from __future__ import annotations

import torch

from microturn.grid import Grid
from microturn.model import InteractionModel
from microturn.model.layers import MoE, apply_rotary
from microturn.runtime.cache import KVCache
from microturn.runtime.invariant import QUERY_BLOCK, additive, attend, pad_rows


def embed(
    model: InteractionModel,
    dmel: torch.Tensor,
    text: torch.Tensor,
    kind: torch.Tensor,
    dmel_mask: torch.Tensor,
    patches: torch.Tensor | None = None,
    patch_mask: torch.Tensor | None = None,
    invariant: bool = True,
) -> torch.Tensor:
    """Per-position inputs (B, r, ...) -> fused embeddings (B, r, d), as `model.forward`."""
    B, r = text.shape
    x = model.text_embed(text) + model.kind_embed(kind)
    codes, n = pad_rows(dmel.reshape(B * r, *dmel.shape[2:]), invariant)
    x = x + model.dmel_embed(codes)[:n].view(B, r, -1) * dmel_mask.unsqueeze(-1)
    if patches is not None:
        p, n = pad_rows(patches.reshape(B * r, *patches.shape[2:]), invariant)
        x = x + model.patch_embed(p)[:n].view(B, r, -1) * patch_mask.unsqueeze(-1)
    return x


def _mlp(blk, h: torch.Tensor) -> torch.Tensor:
    """(M, d) rows -> (M, d): dense SwiGLU, or MoE through its per-token decode path."""
    if isinstance(blk.mlp, MoE):
        return blk.mlp(h[:, None], path="decode")[0][:, 0].to(h.dtype)
    return blk.mlp(h)


def _project_qkv(blk, x: torch.Tensor, B: int, r: int, cos, sin, invariant: bool):
    """x (B, r, d) -> q (B, H, r, hd), k/v (B, Hkv, r, hd), rotated; GEMMs on padded rows."""
    a = blk.attn
    h, n = pad_rows(blk.attn_norm(x.reshape(B * r, -1)), invariant)
    q = a.wq(h)[:n].view(B, r, a.n_heads, a.head_dim).transpose(1, 2)
    k = a.wk(h)[:n].view(B, r, a.n_kv_heads, a.head_dim).transpose(1, 2)
    v = a.wv(h)[:n].view(B, r, a.n_kv_heads, a.head_dim).transpose(1, 2)
    return apply_rotary(q, cos, sin), apply_rotary(k, cos, sin), v


def _finish(blk, x: torch.Tensor, y: torch.Tensor, invariant: bool) -> torch.Tensor:
    """Residual adds: x + wo(y), then + mlp(norm(.)); x, y (B, r, d)."""
    B, r, d = x.shape
    yo, n = pad_rows(y.reshape(B * r, d), invariant)
    x = x + blk.attn.wo(yo)[:n].view(B, r, d)
    h, n = pad_rows(blk.mlp_norm(x.reshape(B * r, d)), invariant)
    return x + _mlp(blk, h)[:n].view(B, r, d)


def _block(t: torch.Tensor, row0: int, dim: int, fill: float) -> torch.Tensor:
    """Place r rows (along `dim`) at rows row0.. of a QUERY_BLOCK-row block filled with fill."""
    shape = list(t.shape)
    shape[dim] = QUERY_BLOCK
    out = t.new_full(shape, fill)
    out.narrow(dim, row0, t.shape[dim]).copy_(t)
    return out


@torch.no_grad()
def step(
    model: InteractionModel,
    cache: KVCache,
    x: torch.Tensor,
    pos: torch.Tensor,
    seq: torch.Tensor,
    row0: int,
    run: torch.Tensor,
    invariant: bool = True,
) -> torch.Tensor:
    """x (N, r, d) embeddings of rows row0..row0+r-1 of each slot's current chunk, pos (N, r)
    RoPE positions, seq (N, r) sequence indices, run (N,) bool exec mask -> hidden (N, r, d)
    after the final norm. Rows not in `run` compute garbage and leave the cache unchanged."""
    B, r, d = x.shape
    phys = cache.claim(seq, run)
    mask = additive(cache.visible(_block(seq, row0, 1, -1) if invariant else seq), cache.k.dtype)
    cos, sin = model.rotary(pos)
    for i, blk in enumerate(model.blocks):
        q, k, v = _project_qkv(blk, x, B, r, cos, sin, invariant)
        cache.write(i, phys, k, v, run)
        qb = _block(q, row0, 2, 0.0) if invariant else q
        y = attend(qb, cache.k[i], cache.v[i], mask)  # (B, H, Q, hd)
        y = y[:, :, row0 : row0 + r] if invariant else y
        x = _finish(blk, x, y.transpose(1, 2).reshape(B, r, d), invariant)
    h, n = pad_rows(x.reshape(B * r, d), invariant)
    return model.norm(h)[:n].view(B, r, d)


@torch.no_grad()
def full_pass(
    model: InteractionModel,
    x: torch.Tensor,
    pos: torch.Tensor,
    window_chunks: int,
    sink_chunks: int = 1,
    invariant: bool = True,
) -> torch.Tensor:
    """x (1, T, d) embeddings of a whole sequence (T a multiple of 8), pos (1, T) -> hidden
    (1, T, d). Projections and MLPs see all T rows at once; attention runs per chunk over a
    sink + window buffer identical to the runtime's."""
    B, T, d = x.shape
    C = 2 * Grid(model.cfg.grid).positions_per_chunk
    assert B == 1 and T % C == 0, "one sequence of whole chunks"
    cos, sin = model.rotary(pos)
    seq_all = torch.arange(T, device=x.device)[None]
    run = torch.ones(1, dtype=torch.bool, device=x.device)
    for blk in model.blocks:
        q, k, v = _project_qkv(blk, x, B, T, cos, sin, invariant)
        cache = KVCache(
            model.cfg, 1, window_chunks, sink_chunks, n_layers=1, dtype=x.dtype, device=x.device
        )
        ys = []
        for c in range(T // C):
            sl = slice(c * C, (c + 1) * C)
            phys = cache.claim(seq_all[:, sl], run)
            cache.write(0, phys, k[:, :, sl], v[:, :, sl], run)
            mask = additive(cache.visible(seq_all[:, sl]), x.dtype)
            ys.append(attend(q[:, :, sl], cache.k[0], cache.v[0], mask))
        y = torch.cat(ys, 2).transpose(1, 2).reshape(B, T, d)
        x = _finish(blk, x, y, invariant)
    h, n = pad_rows(x.reshape(B * T, d), invariant)
    return model.norm(h)[:n].view(B, T, d)
