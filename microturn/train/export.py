"""Export a trained model for shipping: weights in bf16 (half the bytes), the mel statistics
and the config kept as they are. `from_pretrained` loads it into an fp32 model unchanged.

    microturn export runs/small/model checkpoints/small
"""

from __future__ import annotations

import torch

from microturn.model import InteractionModel


def export(src, dst) -> float:
    """Write `src`'s model to `dst` with bf16 weights; returns the largest |reload - bf16|."""
    model = InteractionModel.from_pretrained(src)
    with torch.no_grad():
        for prm in model.parameters():
            prm.data = prm.data.to(torch.bfloat16)
    model.save_pretrained(dst)
    back = InteractionModel.from_pretrained(dst)
    return max(
        (a.float() - b.float()).abs().max().item()
        for a, b in zip(back.state_dict().values(), model.state_dict().values(), strict=True)
    )
