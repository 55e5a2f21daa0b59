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
    steps: int = 8,
    temperature: float = 0.7,
) -> ModelInput:
    """`inp` (the batch's model input) with the own-dMel input of a random `share` of the
    rows that hear the model's audio replaced by what the model itself said there."""
    if share <= 0:
        return inp
    B, T = b.text.shape
    P = Grid(model.cfg.grid).positions_per_chunk
    was = model.training
    model.eval()  # no dropout in the sampling pass
    try:
        h = model(inp, heads=False).hidden.float()
    finally:
        model.train(was)
    nxt = next_output_rows(T, P).to(h.device).expand(B, T)
    src = b.mel_mask & (nxt >= 0) & b.valid
    pick = torch.rand(B, T, generator=gen, device=h.device) < share
    src = src & pick
    if not src.any():
        return inp
    cond = model.audio_cond(h[src], b.phone_now[src])
    x = model.sample_mel(cond, steps=steps, temperature=temperature, generator=gen)
    codes = quantize(model.destandardize(x), model.cfg.mel)
    dmel = inp.dmel.clone()
    rows = torch.nonzero(src)  # (N, 2): batch row, source position
    dmel[rows[:, 0], nxt[rows[:, 0], rows[:, 1]]] = codes
    return ModelInput(**{**vars(inp), "dmel": dmel})
