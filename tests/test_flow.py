"""Flow-head sampling: one Euler sampler, the same bits offline and in the runtime."""

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.model import InteractionModel
from microturn.model.heads import FlowHead
from microturn.model.invariant import pad_rows
from microturn.runtime.engine import Engine
from microturn.runtime.session import Sampling
from microturn.voice.flow import flow_noise, sample_flow


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = InteractionModel(preset("tiny")).eval()
    with torch.no_grad():  # the flow head starts as v = 0: make it say something
        for p in m.flow.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return m


def test_head_sample_is_euler_from_drawn_noise():
    torch.manual_seed(0)
    head = FlowHead(d_cond=32, target_dim=160, width=64, depth=2)
    with torch.no_grad():
        for p in head.parameters():
            p.add_(0.05 * torch.randn_like(p))
    h = torch.randn(2, 3, 32)
    got = head.sample(h, steps=4, temperature=0.6, generator=torch.Generator().manual_seed(9))
    x0 = flow_noise((6, 160), 0.6, torch.Generator().manual_seed(9))
    want = sample_flow(head, head.cond(h.reshape(6, 32)), x0, 4).view(2, 3, 160)
    assert torch.equal(got, want)
    assert not torch.equal(want, x0.view(2, 3, 160))  # the steps moved it


def test_runtime_speaks_the_offline_sample_for_the_same_noise(model):
    """Two sessions with their own step counts and temperatures share a tick; each one's audio
    equals the offline sampler run on its recorded hidden states with its own flow generator's
    noise, vocoded by a fresh stream of its seed."""
    eng = Engine(model, slots=2)
    runs = {3: Sampling(flow_steps=3, flow_temperature=0.5), 4: Sampling(flow_steps=5)}
    sessions = [eng.open(seed=k, sampling=sp) for k, sp in runs.items()]
    x = np.random.default_rng(0).standard_normal(eng.grid.samples_per_chunk).astype(np.float32)
    for s in sessions:
        s.record = True
        s.push_audio(0.1 * x)
    eng.step()
    flow, fpp, n_mels = model.flow, eng.fpp, model.cfg.mel.n_mels
    for s in sessions:
        gen = torch.Generator().manual_seed(s.seed + 1)  # the session's flow generator
        mels = []
        for t in s.trace:  # one call per output slot; its last row speaks
            hp, _ = pad_rows(t["hidden"][-1:])  # the engine's batch-invariant row count
            x0 = torch.zeros(hp.shape[0], flow.target_dim)
            x0[0] = flow_noise(flow.target_dim, s.sampling.flow_temperature, gen)
            x1 = sample_flow(flow, flow.cond(hp), x0, s.sampling.flow_steps)[0]
            mels.append(model.destandardize(x1.view(fpp, n_mels)))
        want, _ = eng.vocoder.step(torch.cat(mels), eng.vocoder.init_state(s.seed))
        assert want.abs().max() > 0 and np.array_equal(s.audio_out[0], want.numpy())
