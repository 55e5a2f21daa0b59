"""Sampling the flow head: Euler integration of its velocity field from noise to a mel slot.

`FlowHead` (microturn/model/heads.py) is a rectified flow: dx/dt = v(x, t | h) carries
x0 ~ N(0, temperature I) at t = 0 to a standardised log-mel vector at t = 1. This file is the
one sampler: the offline path (`FlowHead.sample`, `InteractionModel.sample_mel`) and the
runtime (`Engine`, each session with its own noise generator and step count) both call
`sample_flow`, so a streaming session and an offline pass given the same noise, condition and
step count draw the same bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from microturn.model.heads import FlowHead


def flow_noise(
    shape: int | tuple[int, ...],
    temperature: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """x0 ~ N(0, temperature I) of `shape` (std sqrt(temperature), as in Pocket TTS).

    Normal draws fill in order, so (n, D) from one generator equals n draws of (D,) when D is
    a multiple of 16 (torch's vectorised normal fill); the runtime draws each row from its
    own session's generator."""
    return torch.randn(shape, generator=generator, device=device) * temperature**0.5


@torch.no_grad()
def sample_flow(flow: FlowHead, cond: torch.Tensor, x0: torch.Tensor, steps: int) -> torch.Tensor:
    """cond (N, width) projected condition (`flow.cond(h)`), x0 (N, D) noise -> x1 (N, D)
    float32 by `steps` Euler steps from t = 0 to 1. Every row is computed at every step
    (static shapes); rows never mix, so with batch-invariant GEMMs a row's bits do not
    depend on the other rows."""
    x = x0
    for i in range(steps):
        t = torch.full((x.shape[0],), i / steps, device=x.device)
        x = x + flow.velocity(x, t, cond).float() / steps
    return x
