"""The trained model and the served model are one forward: 30 s streamed through the runtime
(`Engine`, one tick per 200 ms, sampling its own outputs) against `InteractionModel.forward`
on the same inputs, for the dense and the MoE presets (random weights; `tiny` and `tiny-moe`
here, `small` and `small-moe` in `microturn bench forward`).

- through the runtime's KV cache in one call: bit-exact, with the window covering the whole
  input and with the shipped sink + window policy wrapping the ring;
- the training forward (no cache: SDPA's causal kernel, and the MoE's sparse path): for the
  dense model bit-exact where the window covers the whole input (plain causal attention;
  measured on this machine's BLAS and SDPA kernels); within fp32 tolerance where the ring wraps
  and the sink + window mask is given as `attn_mask` (an explicit mask takes another SDPA
  kernel), and for the MoE, whose training path (each expert on its routed rows) rounds
  differently from the runtime's per-token decode path (measured: 1e-6 on `small-moe`).
"""

import dataclasses

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.model import InteractionModel, ModelInput
from microturn.runtime.cache import KVCache
from microturn.runtime.engine import Engine
from microturn.runtime.session import Sampling

SECONDS = 30
CHUNKS = SECONDS * 5


def with_window(name: str, window_chunks: int):
    cfg = preset(name)
    return dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, window_chunks=window_chunks)
    )


def streamed(model: InteractionModel):
    """30 s of noise bursts through one session -> (the inputs it saw, its hidden states)."""
    rng = np.random.default_rng(0)
    eng = Engine(model, slots=1)
    # pinned, not the runtime's defaults: the stream this test replays stays the same
    s = eng.open(seed=0, sampling=Sampling(temperature=1.5, top_k=0, word_temperature=0.5))
    s.record = True
    s.inject_text("about ninety three metres", eng.tok, t=2.0)  # a pending result to read
    for _ in range(CHUNKS):
        x = rng.standard_normal(3200).astype(np.float32) * 0.1
        s.push_audio(x * np.repeat(rng.random(4) > 0.4, 800).astype(np.float32))
        eng.step()
    cat = lambda k: torch.cat([t[k] for t in s.trace])[None]  # noqa: E731
    text = cat("text")
    batch = ModelInput(cat("dmel"), torch.ones_like(text, dtype=torch.bool), text, cat("kind"),
                       cat("pos"), phones=cat("phones"), pending=cat("pending"))  # fmt: skip
    return batch, cat("hidden")[0]


def speaking_phones(model):
    """The phone stream and the pending result start at zero (a fresh model reads and writes
    silence): random weights, so the streamed phones vary and both enter the forward."""
    with torch.no_grad():
        for p in (model.phone_embed.weight, model.phone_token.weight, model.phone_head.weight):
            p.normal_(0, 0.5)
        model.pending_proj.weight.normal_(0, 0.1)
    return model


def window_mask(cfg, T: int) -> torch.Tensor:
    """(1, T, T) bool: the cache's sink + window visibility, for the training forward."""
    P = 2 * cfg.grid.chunk_ms // (cfg.grid.hop_ms * cfg.grid.frames_per_position)
    c = torch.arange(T) // P
    m = cfg.model
    return ((c[None, :] < m.sink_chunks) | (c[None, :] > c[:, None] - m.window_chunks))[None]


@pytest.mark.parametrize("name", ["tiny", "tiny-moe"])
@pytest.mark.parametrize("covers", [True, False], ids=["window-covers-input", "ring-wraps"])
def test_runtime_stream_is_the_model_forward(name, covers):
    torch.manual_seed(0)
    cfg = with_window(name, CHUNKS) if covers else preset(name)
    assert (cfg.model.sink_chunks + cfg.model.window_chunks >= CHUNKS) == covers
    model = speaking_phones(InteractionModel(cfg).eval())
    batch, h_stream = streamed(model)
    assert batch.phones.any(), "the phone stream is exercised"
    assert (batch.pending != 0).any(), "the pending result is exercised"
    T = batch.text.shape[1]
    assert h_stream.shape == (T, cfg.model.d_model) and T == CHUNKS * 8
    with torch.no_grad():
        h_cached = model(batch, cache=KVCache(cfg, 1), heads=False).hidden[0]
        mask = None if covers else window_mask(cfg, T)
        h_train = model(dataclasses.replace(batch, attn_mask=mask)).hidden[0]
    assert torch.equal(h_cached, h_stream)
    if covers and not cfg.model.n_experts:
        assert torch.equal(h_train, h_stream)
    else:
        torch.testing.assert_close(h_train, h_stream, rtol=1e-4, atol=1e-4)
    if not covers:  # the policy binds: without the mask the training forward differs
        with torch.no_grad():
            h_full = model(batch).hidden[0]
        assert (h_full - h_stream).abs().max() > 1e-3
