"""The optimiser and its learning-rate schedule."""

from __future__ import annotations

import math

import torch

from microturn.config import TrainConfig


def make_optimizer(model: torch.nn.Module, t: TrainConfig) -> torch.optim.AdamW:
    """AdamW, weight decay on the matrices only (not on norms, biases or scalars). With
    `train_only` (comma-separated name prefixes) every other parameter is frozen: it gets no
    gradient, so the backward pass stops where the trained parameters begin."""
    only = tuple(filter(None, t.train_only.split(",")))
    if only:
        names = [n for n, _ in model.named_parameters()]
        if not any(n.startswith(only) for n in names):
            raise ValueError(f"train_only={t.train_only!r} names no parameter")
        for n, p in model.named_parameters():
            p.requires_grad_(n.startswith(only))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in params if p.dim() >= 2]
    other = [p for n, p in params if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": t.weight_decay}, {"params": other, "weight_decay": 0.0}],
        lr=t.lr,
        betas=(0.9, 0.95),
        fused=False,
    )


def lr_at(step: int, t: TrainConfig) -> float:
    """Linear warmup over `warmup` steps, then a cosine from `lr` down to `min_lr` at `steps`."""
    if step < t.warmup:
        return t.lr * (step + 1) / t.warmup
    p = min(1.0, (step - t.warmup) / max(1, t.steps - t.warmup))
    return t.min_lr + 0.5 * (t.lr - t.min_lr) * (1 + math.cos(math.pi * p))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr
