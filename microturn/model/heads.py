"""Output heads: next text token, user transcript, and the flow-matching mel head.

`FlowHead` is the MAR "diffusion loss" MLP (SimpleMLPAdaLN) trained as a rectified flow:
for a hidden state h and a target x1 (frames_per_position * n_mels standardised log-mel,
e.g. 2 * 80 = 160), draw x0 ~ N(0, I) and t, form x_t = (1 - t) x0 + t x1 and regress the
velocity v = x1 - x0 (research/components.md §3.3). The head is small, so each hidden state is
reused for several noise draws (MAR's diffusion_batch_mul) to cut the loss variance at little
cost. Sampling integrates dx/dt = v from t = 0 to 1 with a few Euler steps, starting from
x0 ~ N(0, temperature * I) (std sqrt(temperature), as in Pocket TTS); a torch.Generator makes
it reproducible, so a streaming session and an offline pass draw the same audio (one sampler
for both: microturn/voice/flow.py).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from microturn.voice.flow import flow_noise, sample_flow


class VocabHead(nn.Module):
    """Hidden (..., d) -> logits (..., vocab). Optionally shares its matrix with an embedding."""

    def __init__(self, d_model: int, vocab_size: int, tied: nn.Parameter | None = None):
        super().__init__()
        self.proj = nn.Linear(d_model, vocab_size, bias=False)
        if tied is not None:
            assert tied.shape == self.proj.weight.shape, "tied matrix must be (vocab, d_model)"
            self.proj.weight = tied

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h)


def timestep_features(t: torch.Tensor, dim: int = 256, max_period: float = 10_000.0):
    """t (N,) in [0, 1] -> (N, dim) sinusoid [cos | sin] of 1000 t (DiT/MAR convention)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    ang = 1000.0 * t.float()[:, None] * freqs
    return torch.cat([ang.cos(), ang.sin()], dim=-1)


class AdaLNBlock(nn.Module):
    """Residual MLP modulated by condition y: x + gate * mlp(ln(x) * (1 + scale) + shift)."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.mod = nn.Sequential(nn.SiLU(), nn.Linear(width, 3 * width))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.mod(y).chunk(3, dim=-1)
        return x + gate * self.mlp(self.norm(x) * (1 + scale) + shift)


class FlowHead(nn.Module):
    """Velocity field v(x_t, t | h) for rectified flow on a (target_dim,) vector per position.

    h (..., d_cond) hidden states; x (..., target_dim) in the standardised log-mel space.
    """

    def __init__(self, d_cond: int, target_dim: int, width: int, depth: int):
        super().__init__()
        self.target_dim = target_dim
        self.t_embed = nn.Sequential(nn.Linear(256, width), nn.SiLU(), nn.Linear(width, width))
        self.cond = nn.Linear(d_cond, width)
        self.inp = nn.Linear(target_dim, width)
        self.blocks = nn.ModuleList(AdaLNBlock(width) for _ in range(depth))
        self.final_norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.final_mod = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.out = nn.Linear(width, target_dim)
        self._init()

    def _init(self) -> None:
        # MAR/DiT: xavier linears; zero the modulations and the output so every block starts
        # as the identity and the initial velocity is 0.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        for m in [*(b.mod[-1] for b in self.blocks), self.final_mod[-1], self.out]:
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def velocity(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x (N, D), t (N,) in [0, 1], c (N, width) projected condition -> v (N, D)."""
        y = self.t_embed(timestep_features(t)) + c
        z = self.inp(x)
        for block in self.blocks:
            z = block(z, y)
        shift, scale = self.final_mod(y).chunk(2, dim=-1)
        return self.out(self.final_norm(z) * (1 + scale) + shift)

    def loss(
        self,
        h: torch.Tensor,
        x1: torch.Tensor,
        n_draws: int = 4,
        t_dist: str = "logit_normal",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Mean squared velocity error over n_draws noise draws per row.

        h (N, d_cond), x1 (N, D) -> scalar. t ~ sigmoid(N(0, 1)) ("logit_normal", SD3: weights
        the hard middle of the path) or U(0, 1) ("uniform").
        """
        assert h.dim() == 2 and x1.shape == (h.shape[0], self.target_dim), (
            f"need h (N, d) and x1 (N, {self.target_dim}), got {tuple(h.shape)}, {tuple(x1.shape)}"
        )
        # The condition is linear in h: project once per row, then repeat for the draws.
        c = self.cond(h).repeat(n_draws, 1)  # (n_draws*N, W)
        x1 = x1.float().repeat(n_draws, 1)  # (n_draws*N, D)
        n = x1.shape[0]
        x0 = torch.randn(x1.shape, generator=generator, device=x1.device)
        if t_dist == "logit_normal":
            t = torch.sigmoid(torch.randn(n, generator=generator, device=x1.device))
        elif t_dist == "uniform":
            t = torch.rand(n, generator=generator, device=x1.device)
        else:
            raise ValueError(f"unknown t_dist {t_dist!r}; use 'logit_normal' or 'uniform'")
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        v = self.velocity(xt, t, c)
        return F.mse_loss(v.float(), x1 - x0)

    @torch.no_grad()
    def sample(
        self,
        h: torch.Tensor,
        steps: int = 8,
        temperature: float = 0.7,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """h (..., d_cond) -> x (..., D) by `steps` Euler steps from x0 ~ N(0, temperature I)."""
        lead = h.shape[:-1]
        c = self.cond(h.reshape(-1, h.shape[-1]))  # (N, W), reused by every step
        x0 = flow_noise((c.shape[0], self.target_dim), temperature, generator, h.device)
        return sample_flow(self, c, x0, steps).reshape(*lead, self.target_dim)
