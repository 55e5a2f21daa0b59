"""The streaming runtime's exactness: a session's outputs are bit-identical (a) streamed vs one
teacher-forced full pass, (b) alone vs batched with other sessions at other positions and with
exec-mask skips, (c) across runs with the same seed — through ring wrap-around — and the naive
path (the negative control) is not."""

import dataclasses

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.model import InteractionModel, ModelInput
from microturn.runtime.cache import KVCache
from microturn.runtime.engine import Engine
from microturn.runtime.events import Delegation, ModelText, ToolResult
from microturn.runtime.session import Sampling


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = preset("tiny")
    # a 4-chunk buffer (1 sink + 3 in the ring): the ring wraps after 0.8 s
    cfg = dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, sink_chunks=1, window_chunks=3)
    )
    m = InteractionModel(cfg).eval()
    # an untrained text head says <pad> almost always; bias it so the test speaks and feeds
    # real tokens back (sampling exercised), and make the flow head non-zero
    with torch.no_grad():
        for p in m.flow.parameters():
            p.add_(0.02 * torch.randn_like(p))
        for p in (m.phone_embed.weight, m.phone_token.weight, m.phone_head.weight):
            p.normal_(0, 0.5)  # the phone stream starts at zero: make it vary
    return m


def speech(n_chunks: int, seed: int) -> np.ndarray:
    """Noise bursts and pauses: 16 kHz, whole 200 ms chunks."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_chunks * 3200).astype(np.float32) * 0.1
    env = np.repeat(rng.random(n_chunks * 4) > 0.4, 800).astype(np.float32)
    return x * env


def chunks(x: np.ndarray) -> list[np.ndarray]:
    return [x[i : i + 3200] for i in range(0, len(x), 3200)]


def run_alone(model, audio, seed=0, invariant=True, record=True):
    eng = Engine(model, slots=1, invariant=invariant)
    s = eng.open(seed=seed, sampling=Sampling(temperature=1.5, top_k=0))
    s.record = record
    for c in chunks(audio):
        s.push_audio(c)
        eng.step()
    return s


def replay(model, s, invariant=True):
    """One forward over the session's own recorded inputs (with the tokens it sampled),
    through a fresh cache: the whole sequence in one call."""
    cat = lambda k: torch.cat([t[k] for t in s.trace])[None]  # noqa: E731
    text = cat("text")
    batch = ModelInput(cat("dmel"), torch.ones_like(text, dtype=torch.bool), text, cat("kind"),
                       cat("pos"), phones=cat("phones"), pending=cat("pending"))  # fmt: skip
    h = model(batch, cache=KVCache(model.cfg, 1, invariant), heads=False).hidden[0]
    return h, cat("hidden")[0]


def test_streaming_equals_the_full_pass_through_ring_wraparound(model):
    s = run_alone(model, speech(10, 1))  # 10 chunks through a 4-chunk buffer
    h_full, h_stream = replay(model, s)
    assert h_full.shape == (80, model.cfg.model.d_model)
    assert torch.equal(h_full, h_stream)
    # the text logits the session sampled from equal the full pass's at its output rows
    out = torch.cat([t["kind"] for t in s.trace]) == 1
    logits = torch.stack([t["logits"] for t in s.trace])
    assert torch.equal(model.text_head(h_full[out]).float(), logits)
    assert any(isinstance(e, ModelText) for e in s.events), "the test should make it speak"


def test_negative_control_the_naive_path_differs(model):
    s = run_alone(model, speech(6, 1), invariant=False)
    h_full, h_stream = replay(model, s, invariant=False)
    assert not torch.equal(h_full, h_stream)
    assert torch.allclose(h_full, h_stream, atol=1e-4)  # ... by rounding only


def test_alone_equals_batched_with_others_and_exec_mask_skips(model):
    a = speech(10, 2)
    alone = run_alone(model, a, seed=7, record=False)
    eng = Engine(model, slots=4)
    early = eng.open(seed=1)  # starts 3 chunks before
    for c in chunks(speech(3, 3)):
        early.push_audio(c)
        eng.step()
    s = eng.open(seed=7, sampling=Sampling(temperature=1.5, top_k=0))
    late = None
    others = chunks(speech(20, 4))
    for i, c in enumerate(chunks(a)):
        s.push_audio(c)
        early.push_audio(others[i])
        if i == 4:
            late = eng.open(seed=9)
        if late is not None:
            late.push_audio(others[i + 1])
        eng.step()
        # ticks where only the others run: s sits out (its row masked, its cache untouched)
        if i in (2, 6):
            early.push_audio(others[i + 10])
            assert s not in eng.step()
    assert s.slot != 0 and len(s.audio_out) == len(alone.audio_out) == 10
    assert np.array_equal(np.concatenate(s.audio_out), np.concatenate(alone.audio_out))
    assert s.events == alone.events


def test_same_seed_same_bytes_other_seed_differs(model):
    a = speech(6, 5)
    one, two = run_alone(model, a, seed=3), run_alone(model, a, seed=3)
    assert np.array_equal(np.concatenate(one.audio_out), np.concatenate(two.audio_out))
    assert one.events == two.events
    other = run_alone(model, a, seed=4)
    assert not np.array_equal(np.concatenate(one.audio_out), np.concatenate(other.audio_out))


def test_snapshot_restore_and_reset_of_one_row(model):
    a = chunks(speech(9, 6))
    eng = Engine(model, slots=2)
    s = eng.open(seed=2, sampling=Sampling(temperature=1.5, top_k=0))
    other = eng.open(seed=5)
    for c in a[:4]:
        s.push_audio(c)
        eng.step()
    snap = eng.snapshot(s)
    other_k = eng.cache.k[:, other.slot].clone()
    for c in a[4:]:
        s.push_audio(c)
        eng.step()
    first = [x.copy() for x in s.audio_out[4:]], list(s.events)
    eng.restore(s, snap)
    assert len(s.audio_out) == 4 and s.stream.chunk == 4
    for c in a[4:]:
        s.push_audio(c)
        eng.step()
    assert all(np.array_equal(x, y) for x, y in zip(first[0], s.audio_out[4:], strict=True))
    assert s.events == first[1]
    assert torch.equal(eng.cache.k[:, other.slot], other_k)  # the other row never moved
    eng.close(s)
    assert (eng.cache.seq[s.slot] == -1).all() and not eng.cache.k[:, s.slot].any()


def test_delegation_hook_and_injected_side_text(model):
    """A <delegate> in the model's text stream calls the session's hook; text injected later
    enters its input text slots (one token per slot) and is logged as a tool result."""
    from microturn.tokenizer import DELEGATE, PAD, RESULT

    eng = Engine(model, slots=2)
    s = eng.open(seed=0)
    tokens = np.full(200, PAD)
    tokens[9] = DELEGATE  # output slot 9 = chunk 1's second output row
    s.script = {"tokens": tokens, "logmel": np.full((400, 80), -4.0, np.float32)}
    calls = []
    s.on_delegate = lambda sess, t: calls.append((sess.id, t))
    s.record = True
    for i, c in enumerate(chunks(speech(5, 7))):
        s.push_audio(c)
        if i == 3:
            s.inject_text("twenty degrees", eng.tok)
        eng.step()
    assert calls == [(s.id, (9 + 2) * 0.05)]  # heard 2 slots after its text slot
    assert [type(e) for e in s.events if isinstance(e, Delegation | ToolResult)] == [
        Delegation,
        ToolResult,
    ]
    side = [t["text"][:4].tolist() for t in s.trace if len(t["text"]) == 5][3]  # chunk 3 inputs
    want = ([RESULT, *eng.tok.encode("twenty degrees")] + [PAD] * 4)[:4]
    assert side == want


def test_video_frames_enter_the_input_rows(model):
    """A lit frame changes what the session computes; a black frame (camera off) does not."""
    a = chunks(speech(3, 8))

    def run(frame):
        eng = Engine(model, slots=1)
        s = eng.open(seed=1)
        s.record = True
        for c in a:
            s.push_audio(c)
            if frame is not None:
                s.video_in.append(frame)
            eng.step()
        return torch.cat([t["hidden"] for t in s.trace])

    plain = run(None)
    assert torch.equal(run(np.zeros((80, 80, 3), np.uint8)), plain)
    lit = np.random.default_rng(0).integers(0, 255, (80, 80, 3), dtype=np.uint8)
    assert not torch.equal(run(lit), plain)


def test_non_finite_audio_frames_are_said_as_silence_with_a_warning():
    """A broken flow head (a NaN weight, which the Euler steps spread to every channel) does not
    crash a session: its frames are said as silence, with a warning."""
    torch.manual_seed(0)
    m = InteractionModel(preset("tiny")).eval()
    with torch.no_grad():
        m.flow.out.bias[0] = float("nan")
    eng = Engine(m, slots=1)
    s = eng.open(seed=0)
    for c in chunks(speech(2, 9)):
        s.push_audio(c)
        with pytest.warns(RuntimeWarning, match="non-finite"):
            eng.step()
    out = np.concatenate(s.audio_out)
    assert np.isfinite(out).all() and np.abs(out).max() < 1e-2


def test_the_speak_read_out_is_one_probability_a_slot_and_changes_nothing(model):
    """`Session.speak` keeps, per output slot, the time it speaks for and the model's
    P(speak) (`microturn eval replies --hazard`): one value a slot, in [0, 1], and the same
    bytes and events as a session that keeps none."""
    a = speech(6, 5)
    plain = run_alone(model, a, seed=3, record=False)
    eng = Engine(model, slots=1)
    s = eng.open(seed=3, sampling=Sampling(temperature=1.5, top_k=0))
    s.speak = []
    for c in chunks(a):
        s.push_audio(c)
        eng.step()
    assert np.array_equal(np.concatenate(s.audio_out), np.concatenate(plain.audio_out))
    assert s.events == plain.events
    P = eng.grid.positions_per_chunk
    assert len(s.speak) == 6 * P and all(0.0 <= p <= 1.0 for _, p in s.speak)
    t = np.array([t for t, _ in s.speak])
    assert np.allclose(np.diff(t), eng.slot_s)
    said = [e for e in s.events if isinstance(e, ModelText)]
    assert all(e.t in set(t.round(3).tolist()) for e in said)  # a word's time is its slot's


def test_the_mel_read_out_is_what_the_vocoder_voiced_and_changes_nothing(model):
    """`Session.mel_out` keeps each tick's log-mel frames (`microturn train-vocoder
    --model-mels`): one (positions x frames, n_mels) block a tick, the frames each session's
    audio was voiced from (a fresh vocoder stream over them gives its bytes), and the same
    bytes and events as a session that keeps none; two sessions side by side each keep
    their own."""
    a, b = speech(6, 5), speech(6, 9)
    plain = run_alone(model, a, seed=3, record=False)
    eng = Engine(model, slots=2)
    s = eng.open(seed=3, sampling=Sampling(temperature=1.5, top_k=0))
    t = eng.open(seed=4, sampling=Sampling(temperature=1.5, top_k=0))
    s.mel_out, t.mel_out = [], []
    for x, y in zip(chunks(a), chunks(b), strict=True):
        s.push_audio(x)
        t.push_audio(y)
        eng.step()
    assert np.array_equal(np.concatenate(s.audio_out), np.concatenate(plain.audio_out))
    assert s.events == plain.events
    frames = eng.grid.positions_per_chunk * model.cfg.grid.frames_per_position
    for u, seed in ((s, 3), (t, 4)):
        assert len(u.mel_out) == 6
        assert all(m.shape == (frames, model.cfg.mel.n_mels) for m in u.mel_out)
        state, again = eng.vocoder.init_state(seed), []
        for m in u.mel_out:
            out, state = eng.vocoder.step(m, state)
            again.append(out.numpy())
        assert np.array_equal(np.concatenate(again), np.concatenate(u.audio_out))
    assert not torch.equal(torch.cat(s.mel_out), torch.cat(t.mel_out))  # each its own
