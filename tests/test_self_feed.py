"""Self-feeding (`microturn.train.self_feed`): the model's own voice goes where the runtime
would hear it, and nowhere else."""

import shutil

import pytest
import torch

from microturn.config import preset
from microturn.data.generate import Job, run
from microturn.data.layout import INPUT
from microturn.data.shards import ShardReader
from microturn.model import InteractionModel
from microturn.tokenizer import Tokenizer
from microturn.train.loader import Loader
from microturn.train.losses import losses, model_input
from microturn.train.self_feed import next_output_rows, self_feed
from microturn.voice.mel import quantize

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("self_feed_data")
    cfg = preset("tiny")
    job = Job("train", str(d), cfg.to_dict(), per_shard=4, per_condition=2, families=("qa",))
    run(job, workers=1, progress=False)
    return cfg, Loader(ShardReader(d), cfg, Tokenizer(), seed=1).next()


def test_next_output_rows_follow_the_layout():
    """P = 4: input rows hear nothing; output row j hears at j + 1, the chunk's last output row
    at the next chunk's first; the last row of the sequence has no next."""
    nxt = next_output_rows(16, 4).tolist()
    assert nxt[:4] == [-1] * 4 and nxt[8:12] == [-1] * 4
    assert nxt[4:8] == [5, 6, 7, 12]
    assert nxt[12:16] == [13, 14, 15, -1]


def test_the_next_output_row_hears_the_slot_a_row_voices(batch):
    """On real data the own-dMel input at the next output row is the quantised mel target of
    the row before it: the mapping points at the very frames the runtime feeds back (one row
    off, the agreement collapses)."""
    cfg, b = batch
    B, T = b.text.shape
    nxt = next_output_rows(T, 4).expand(B, T)
    src = b.mel_mask & b.valid & (nxt >= 0)
    target = quantize(b.mel_target[src].unflatten(-1, (-1, cfg.mel.n_mels)), cfg.mel)
    rows = torch.nonzero(src)
    heard = b.dmel[rows[:, 0], nxt[rows[:, 0], rows[:, 1]]]
    assert len(rows) > 100
    # float16 storage of the target moves a value near a bin boundary by one code, rarely
    assert (heard == target).float().mean() > 0.99
    assert (heard.int() - target.int()).abs().max() <= 1
    off = b.dmel[rows[:, 0], (nxt[rows[:, 0], rows[:, 1]] + 1).clamp_max(T - 1)]
    assert (off == target).float().mean() < 0.9


def test_self_feed_replaces_only_heard_rows_with_the_models_own_voice(batch):
    cfg, b = batch
    torch.manual_seed(0)
    model = InteractionModel(cfg).eval()
    inp = model_input(b)
    assert self_feed(model, b, inp, 0.0, torch.Generator().manual_seed(0)) is inp
    fed = self_feed(model, b, inp, 1.0, torch.Generator().manual_seed(3))
    B, T = b.text.shape
    nxt = next_output_rows(T, 4).expand(B, T)
    src = b.mel_mask & b.valid & (nxt >= 0)
    heard = torch.zeros(B, T, dtype=torch.bool)
    rows = torch.nonzero(src)
    heard[rows[:, 0], nxt[rows[:, 0], rows[:, 1]]] = True
    assert torch.equal(fed.dmel[~heard], inp.dmel[~heard])  # user audio and the rest: as is
    assert not (heard & (b.kind == INPUT)).any()
    # what was put there is the flow head's sample, quantised as the runtime quantises it
    gen = torch.Generator().manual_seed(3)
    torch.rand(B, T, generator=gen)  # self_feed's row draw comes first
    with torch.no_grad():
        h = model(inp, heads=False).hidden
        cond = model.audio_cond(h[src], b.phone_now[src])
        x = model.sample_mel(cond, generator=gen)
    want = quantize(model.destandardize(x), cfg.mel)
    assert torch.equal(fed.dmel[rows[:, 0], nxt[rows[:, 0], rows[:, 1]]], want)
    assert not torch.equal(want, inp.dmel[heard])
    # two passes: the same rows, said again from the history the first pass made
    twice = self_feed(model, b, inp, 1.0, torch.Generator().manual_seed(3), passes=2)
    with torch.no_grad():
        h = model(fed, heads=False).hidden
        x = model.sample_mel(model.audio_cond(h[src], b.phone_now[src]), generator=gen)
    assert torch.equal(twice.dmel[~heard], inp.dmel[~heard])
    assert torch.equal(twice.dmel[heard], quantize(model.destandardize(x), cfg.mel))
    # a share draws that share of the rows
    half = self_feed(model, b, inp, 0.5, torch.Generator().manual_seed(4))
    changed = (half.dmel != inp.dmel).flatten(2).any(-1)
    assert 0.3 < changed.sum() / src.sum() < 0.6


def test_the_training_loss_runs_on_a_self_fed_history(batch):
    import dataclasses

    cfg, b = batch
    torch.manual_seed(0)
    model = InteractionModel(cfg)
    fed = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, self_feed=1.0, bf16=False))
    ls = losses(model, b, fed, torch.Generator().manual_seed(0), distributed=False)
    ls.total.backward()
    assert torch.isfinite(ls.total)
    assert model.dmel_embed.table.grad is not None
