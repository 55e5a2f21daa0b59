"""The interaction model's own log-mel frames beside the reference samples they stand for:
what `microturn train-vocoder --model-mels` fine-tunes the learned vocoder on, as a TTS
vocoder is fine-tuned on its acoustic model's ground-truth-aligned output.

The model speaks the reference replies of train-split scenarios (`POOL`) as the voice
yardstick's `teacher` and `text-forced` stages do (`eval/voice.py`), through `Engine` sessions
as the runtime runs them: the reference text and phones forced, its audio history the true
one or its own. Its frames then stay aligned with the reference voice, frame for frame (a
session's first chunk speaks from slot `positions_per_chunk` on). Each scenario's pair is cut
from `MARGIN` frames before the model side's first sound to `MARGIN` after its last, pauses
and the user's turns between included.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from microturn.eval.voice import POOL as SENTENCES
from microturn.eval.voice import cases, script

FIRST_SEED = 10_000  # scenario seeds (train split), as `train/vocoder.py`'s utterances
# (family, condition): the yardstick's sentence replies and the families' short ones
POOL = SENTENCES + (
    ("qa", "ask"),
    ("timed", "timed"),
    ("turn", "eot"),
    ("delegate", "direct"),
    ("refusal", "benign"),
    ("backchannel", "bc_ok"),
)
MODES = ("teacher", "text-forced")
MARGIN = 12  # mel frames kept either side of the model side's sound (0.3 s)


def model_frames(
    model_dir: str, n: int, slots: int = 24, first_seed: int = FIRST_SEED
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """n train-split scenarios of `POOL`, each spoken in both `MODES` -> (samples (T * hop,),
    log10 mel (T, n_mels)) pairs, as `train.vocoder.pairs` gives the true ones; a scenario
    whose model side is silent gives none."""
    from microturn.model import InteractionModel
    from microturn.runtime.driver import Driver
    from microturn.runtime.engine import Engine

    model = InteractionModel.from_pretrained(model_dir).eval()
    cfg = model.cfg
    todo = cases(cfg, "train", n, POOL, first_seed)
    driver = Driver(Engine(model, slots=slots))
    hop = driver.engine.grid.hop
    first = driver.engine.grid.positions_per_chunk * cfg.grid.frames_per_position
    jobs = [(c, m) for c in todo for m in MODES]
    live, audio, mels = {}, [], []
    while jobs or live:
        while jobs and len(live) < slots:
            c, mode = jobs.pop(0)
            s = driver.open(c.feed, f"{c.id}/{mode}", zlib.crc32(c.id.encode()))
            s.script = script(c, mode)
            s.mel_out = []
            live[s.slot] = (c, s)
        driver.tick()
        for slot in [k for k, (_, s) in live.items() if driver.done(s)]:
            c, s = live.pop(slot)
            driver.close(s)
            own = torch.cat(s.mel_out)
            m = torch.from_numpy(c.logmel.copy())
            m[first : first + len(own)] = own[: len(m) - first]
            loud = np.flatnonzero(np.abs(c.audio) > 1e-4)
            if not len(loud):
                continue
            a = max(first, loud[0] // hop - MARGIN)
            b = min(len(m), loud[-1] // hop + 1 + MARGIN)
            if b > a:
                mels.append(m[a:b])
                audio.append(torch.from_numpy(c.audio[a * hop : b * hop].copy()))
    return audio, mels
