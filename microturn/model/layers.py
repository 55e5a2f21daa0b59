"""Transformer primitives: RMSNorm, RoPE on explicit positions, GQA attention, SwiGLU, MoE, Block.

Read top-down: primitives first, then the block that composes them. Nothing here holds session
state: positions, masks and the KV cache are passed in by the caller.

- RoPE takes explicit integer positions (B, T) from the caller rather than `arange(T)`: the
  sequence is time-aligned (a fixed number of positions per 200 ms chunk), positions may repeat,
  and a streaming step must rotate a token exactly as the full pass does. cos/sin are computed
  elementwise per token, so they do not depend on what else is in the batch.
- Attention is always causal in sequence order; an optional (B, T, T) boolean mask can only
  remove more keys (padding, packed documents). A token always sees itself, so no row is empty.
  With a KV cache (the runtime, `runtime/cache.py`, passed in as nanochat and gpt-fast do) the
  new keys and values go into the cache and the queries attend over its buffer, under its
  sink + window policy; every GEMM then runs on padded rows when the cache is batch-invariant
  (`invariant.py`). There is one attention and one block either way.
- MoE has three paths that compute the same function (tests hold them to allclose):
  `reference` (every expert on every token, masked by the gates: the oracle, static shapes),
  `sparse` (loop over experts, each on its routed tokens only: the full-sequence/training path),
  `decode` (one token per row: gather the top-k experts' weights, batched matrix-vector; reads
  only the k active experts and needs no sort/scatter, as in gpt-fast's Mixtral).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from microturn.model.invariant import pad_rows, rows

if TYPE_CHECKING:
    from microturn.runtime.cache import KVCache


def swiglu_hidden(d_model: int, mlp_ratio: float) -> int:
    """SwiGLU hidden width: ratio * d rounded up to a multiple of 32 (friendly GEMM shapes)."""
    return 32 * math.ceil(mlp_ratio * d_model / 32)


class RMSNorm(nn.Module):
    """x / rms(x) * weight over the last dim, computed in fp32 and cast back to x's dtype."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


class Rotary(nn.Module):
    """Rotary position embedding on caller-given integer positions (half-split convention)."""

    def __init__(self, head_dim: int, theta: float = 10_000.0):
        super().__init__()
        assert head_dim % 2 == 0, "RoPE rotates pairs of dims"
        inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        # Not persistent: derived from the config, so it stays out of checkpoints.
        self.register_buffer("inv_freq", inv_freq.float(), persistent=False)

    def forward(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pos (B, T) long -> cos, sin each (B, 1, T, head_dim / 2) fp32 (broadcast over heads)."""
        assert pos.dim() == 2, f"positions must be (B, T), got {tuple(pos.shape)}"
        ang = pos.float()[..., None] * self.inv_freq  # (B, T, hd/2)
        return ang.cos()[:, None], ang.sin()[:, None]


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, T, hd) by per-token angles; the rotation runs in fp32 for precision."""
    x1, x2 = x.float().chunk(2, dim=-1)
    out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.to(x.dtype)


class Attention(nn.Module):
    """Causal grouped-query self-attention (n_kv_heads K/V heads shared by n_heads queries)."""

    def __init__(self, d_model: int, n_heads: int, n_kv_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = d_model // n_heads
        self.wq = nn.Linear(d_model, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, d_model, bias=False)
        self.dropout = dropout

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """x (B, T, d), cos/sin (B, 1, T, hd/2) -> (B, T, d).

        Without a cache: causal attention over x itself; mask (B, 1, T, T) bool (True = may
        attend) already including causality, or None for plain causal (SDPA's causal kernel).
        With a cache: x's rows continue each running slot's sequence; their keys and values are
        written into `layer` of the cache and the queries attend over its buffer (`mask` unused).
        """
        B, T, _ = x.shape
        pad = cache is not None and cache.invariant
        q = rows(self.wq, x, pad).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
        k = rows(self.wk, x, pad).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = rows(self.wv, x, pad).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)  # (B, H or Hkv, T, hd)
        if cache is not None:
            y = cache.attend(layer, q, k, v)
        else:
            y = F.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=mask,
                is_causal=mask is None,
                dropout_p=self.dropout if self.training else 0.0,
                enable_gqa=self.n_heads != self.n_kv_heads,
            )  # (B, H, T, hd)
        return rows(self.wo, y.transpose(1, 2).reshape(B, T, -1), pad)


class SwiGLU(nn.Module):
    """Gated MLP: w2(silu(w1 x) * w3 x). w1 and w3 are one fused matrix (one GEMM)."""

    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.w13 = nn.Linear(d_model, 2 * hidden, bias=False)
        self.w2 = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d) -> (..., d)."""
        g, u = self.w13(x).chunk(2, dim=-1)
        return self.w2(F.silu(g) * u)


class MoE(nn.Module):
    """Top-k routed mixture of SwiGLU experts, with a Switch-style load-balancing loss.

    Expert weights are stacked tensors so the decode path can gather the routed experts:
    w13 (E, 2*hidden, d) fused gate+up, w2 (E, d, hidden). The router runs in fp32 outside
    autocast: a routing decision that flips on bf16 rounding would make paths disagree.
    The gate-weighted combine is accumulated in fp32 by every path.
    """

    PATHS = ("auto", "reference", "sparse", "decode")

    def __init__(self, d_model: int, hidden: int, n_experts: int, top_k: int):
        super().__init__()
        self.d_model, self.hidden = d_model, hidden
        self.n_experts, self.top_k = n_experts, top_k
        self.router = nn.Linear(d_model, n_experts, bias=False)
        self.w13 = nn.Parameter(torch.empty(n_experts, 2 * hidden, d_model))
        self.w2 = nn.Parameter(torch.empty(n_experts, d_model, hidden))
        nn.init.normal_(self.w13, std=0.02)
        nn.init.normal_(self.w2, std=0.02)

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (N, d) -> expert ids (N, k) long, gates (N, k) fp32 summing to 1, probs (N, E).

        Top-k on the logits, then a softmax over the k chosen (= renormalised top-k softmax).
        """
        with torch.autocast(x.device.type, enabled=False):
            logits = F.linear(x.float(), self.router.weight.float())  # (N, E)
        top, idx = logits.topk(self.top_k, dim=-1)  # sorted, largest first
        return idx, top.softmax(-1), logits.softmax(-1)

    def forward(
        self, x: torch.Tensor, path: str = "auto", pad: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, d) -> y (B, T, d) fp32, aux load-balancing loss (scalar; 1.0 when balanced).

        path "auto" picks `decode` when T == 1 (a per-row property, so a row's path never
        depends on how many other rows share the batch) and `sparse` otherwise. `pad` runs the
        GEMMs on at least MIN_ROWS rows (batch invariance, `invariant.py`).
        """
        assert path in self.PATHS, f"unknown MoE path {path!r}; one of {self.PATHS}"
        B, T, d = x.shape
        xf, n = pad_rows(x.reshape(B * T, d), pad)
        idx, gates, probs = self.route(xf)
        if path == "auto":
            path = "decode" if T == 1 else "sparse"
        y = {"reference": self._reference, "sparse": self._sparse, "decode": self._decode}[path](
            xf, idx, gates
        )[:n]
        idx, probs = idx[:n], probs[:n]
        # Switch Transformer balance loss: E * sum_e (share of routed slots) * (mean prob).
        share = F.one_hot(idx, self.n_experts).float().mean(dim=(0, 1))  # (E,)
        aux = self.n_experts * (share * probs.mean(0)).sum()
        return y.view(B, T, d), aux

    def _expert(self, x: torch.Tensor, e: int) -> torch.Tensor:
        """SwiGLU of expert e on x (M, d) -> (M, d)."""
        g, u = F.linear(x, self.w13[e]).chunk(2, dim=-1)
        return F.linear(F.silu(g) * u, self.w2[e])

    def _reference(self, x: torch.Tensor, idx: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Every expert on every token, weighted by a dense (N, E) gate matrix (0 if unrouted)."""
        dense = torch.zeros(x.shape[0], self.n_experts, device=x.device)
        dense.scatter_(1, idx, gates)
        out = torch.zeros(x.shape[0], self.d_model, device=x.device)
        for e in range(self.n_experts):
            out = out + dense[:, e : e + 1] * self._expert(x, e).float()
        return out

    def _sparse(self, x: torch.Tensor, idx: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Each expert on its routed tokens only. Host sync per expert (nonzero): training path."""
        out = torch.zeros(x.shape[0], self.d_model, device=x.device)
        for e in range(self.n_experts):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel():
                y = self._expert(x[rows], e).float() * gates[rows, slot, None]
                out.index_add_(0, rows, y)
        return out

    def _decode(self, x: torch.Tensor, idx: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
        """Gather the k routed experts per token and run batched matrix-vector products.

        x (N, d), idx/gates (N, k). Static shapes, no host sync; copies N*k experts' weights,
        so it wins for few rows (decode) and loses to `sparse` when N*k >> E.
        """
        N, k = idx.shape
        w13 = self.w13[idx.reshape(-1)]  # (N*k, 2h, d)
        w2 = self.w2[idx.reshape(-1)]  # (N*k, d, h)
        xk = x.repeat_interleave(k, dim=0)[:, :, None]  # (N*k, d, 1)
        g, u = torch.bmm(w13, xk).squeeze(-1).chunk(2, dim=-1)  # (N*k, h) each
        y = torch.bmm(w2, (F.silu(g) * u)[:, :, None]).squeeze(-1)  # (N*k, d)
        y = y.float().view(N, k, self.d_model) * gates[:, :, None]
        out = torch.zeros(N, self.d_model, device=x.device)
        for j in range(k):  # the same left-to-right accumulation order as the other paths
            out = out + y[:, j]
        return out


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)) (dense or MoE)."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        n_kv_heads: int,
        hidden: int,
        n_experts: int = 0,
        top_k: int = 2,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.attn_norm = RMSNorm(d_model)
        self.attn = Attention(d_model, n_heads, n_kv_heads, dropout)
        self.mlp_norm = RMSNorm(d_model)
        self.mlp = MoE(d_model, hidden, n_experts, top_k) if n_experts else SwiGLU(d_model, hidden)
        self.drop = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,  # Attention.forward's arguments: the block passes them through
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, d) -> x (B, T, d), MoE balance loss (scalar; 0 for a dense block).

        With a cache (the runtime) the MoE takes its per-token decode path on every row, so a
        row's result never depends on how many rows share the call.
        """
        x = x + self.drop(self.attn(self.attn_norm(x), cos, sin, mask, cache, layer))
        h = self.mlp_norm(x)
        pad = cache is not None and cache.invariant
        if isinstance(self.mlp, MoE):
            y, aux = self.mlp(h, path="decode" if cache is not None else "auto", pad=pad)
        else:
            y, aux = rows(self.mlp, h, pad), x.new_zeros(())
        return x + self.drop(y), aux
