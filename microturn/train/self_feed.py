"""Self-feeding: train the model on its own voice as history (parallel scheduled sampling).

At run time the model hears itself: each output row's own-dMel input is the quantised mel its
flow head sampled one row earlier. Trained only on the true history, it drifts on its own
(the yardstick's text-forced stage: the true words and phones forced, its own audio heard).
`self_feed` runs the model once without gradients on a batch, samples the flow head at every
output row that predicts audio (the runtime's sampler, steps and temperature), quantises the
mel as the runtime does, and puts it where the runtime would hear it (the own-dMel input of
the next output row) for a random `share` of those rows. The training pass then learns the
true targets from that mixed history (Duckworth et al. 2019, "Parallel scheduled sampling").

Output row (chunk k, j) voices slot t; its own audio is heard at row (k, j + 1), or at the
first output row of chunk k + 1 when j is the chunk's last (`data/layout.py`).
"""

from __future__ import annotations

import torch

from microturn.data.layout import Batch
from microturn.grid import Grid
from microturn.model.model import InteractionModel, ModelInput
from microturn.voice.mel import quantize


def next_output_rows(T: int, P: int) -> torch.Tensor:
    """(T,) long: for each position of a layout with P output rows per chunk, the position
    where the audio it voices is heard (the next output row), or -1 (an input row, or no next
    row within T)."""
    i = torch.arange(T)
    j = i % (2 * P) - P  # output index within the chunk, < 0 on input rows
    nxt = torch.where(j < P - 1, i + 1, i + P + 1)
    return torch.where((j >= 0) & (nxt < T), nxt, torch.full_like(i, -1))


@torch.no_grad()
def self_feed(
    model: InteractionModel,
    b: Batch,
    inp: ModelInput,
    share: float,
    gen: torch.Generator,
    passes: int = 1,
    steps: int = 8,
    temperature: float = 0.7,
) -> ModelInput:
    """`inp` (the batch's model input) with the own-dMel input of a random `share` of the
    rows that hear the model's audio replaced by what the model itself said there. With
    `passes` > 1 it says them again from that history, and again: after k passes a run of
    chosen rows is what k steps of its own rollout would say (the same rows each pass)."""
    if share <= 0:
        return inp
    B, T = b.text.shape
    P = Grid(model.cfg.grid).positions_per_chunk
    nxt = next_output_rows(T, P).to(b.text.device).expand(B, T)
    src = b.mel_mask & (nxt >= 0) & b.valid
    src = src & (torch.rand(B, T, generator=gen, device=b.text.device) < share)
    if not src.any():
        return inp
    rows = torch.nonzero(src)  # (N, 2): batch row, source position
    heard = (rows[:, 0], nxt[rows[:, 0], rows[:, 1]])
    was = model.training
    model.eval()  # no dropout in the sampling passes
    try:
        for _ in range(passes):
            h = model(inp, heads=False).hidden.float()
            cond = model.audio_cond(h[src], b.phone_now[src])
            x = model.sample_mel(cond, steps=steps, temperature=temperature, generator=gen)
            dmel = inp.dmel.clone()
            dmel[heard] = quantize(model.destandardize(x), model.cfg.mel)
            inp = ModelInput(**{**vars(inp), "dmel": dmel})
    finally:
        model.train(was)
    return inp
