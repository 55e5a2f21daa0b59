"""Vocoder: shapes, streaming determinism and state, round-trip quality and time alignment."""

from __future__ import annotations

import pytest
import torch

from microturn.config import preset
from microturn.voice.mel import MelAnalyzer
from microturn.voice.roundtrip import lsd_db, stream
from microturn.voice.vocoder import Vocoder

CFG = preset("tiny")
# Measured (`microturn bench vocoder --per-clip`: this sentence, en-us): LSD 5.26 dB, mel error
# ~0.04. Thresholds leave ~1.7 dB / 2x margin yet fail on random phase (0 GL iterations: 9.1 dB),
# a one-frame shift (10.8 dB) or a 6 dB gain error (7.2 dB LSD, ~0.3 mel error).
MAX_LSD_DB = 7.0
MAX_MEL_ERR = 0.1


@pytest.fixture(scope="module")
def speech() -> tuple[torch.Tensor, torch.Tensor]:
    """(n,) espeak sentence padded to whole chunks, and its (n // hop, n_mels) log mel."""
    from microturn.grid import Grid
    from microturn.synth import Voice, synthesize

    torch.set_num_threads(1)
    a = synthesize("The quick brown fox jumps over the lazy dog.", Voice("espeak", "en-us"))
    x = torch.from_numpy(a.audio)
    x = torch.cat([x, x.new_zeros(Grid(CFG.grid).pad_to_chunks(len(x)) - len(x))])
    return x, MelAnalyzer(CFG).frames(x)


def _stream(logmel: torch.Tensor, seed: int = 0, lookahead: int = 0) -> list[torch.Tensor]:
    """(8k, n_mels) log mel through a fresh stream -> its k chunks of samples."""
    voc, out = Vocoder(CFG, n_iter=8, lookahead=lookahead), []
    state = voc.init_state(seed)
    for c in logmel.split(8):
        y, state = voc.step(c, state)
        out.append(y)
    return out


def test_offline_shape_dtype_and_silence() -> None:
    lm = torch.randn(13, CFG.mel.n_mels) - 2.0
    y = Vocoder(CFG, n_iter=4)(lm)
    assert y.shape == (13 * 400,) and y.dtype == torch.float32 and torch.isfinite(y).all()
    quiet = Vocoder(CFG, n_iter=4)(torch.full((8, CFG.mel.n_mels), -10.0))
    assert quiet.abs().max() < 1e-6


def test_stream_length_and_determinism(speech) -> None:
    _, lm = speech
    lm = lm[:24]  # 3 chunks
    a, b = _stream(lm), _stream(lm)
    assert [c.shape for c in a] == [(3200,)] * 3 and all(c.dtype == torch.float32 for c in a)
    assert torch.equal(torch.cat(a), torch.cat(b))
    assert not torch.equal(torch.cat(a), torch.cat(_stream(lm, seed=1)))
    delayed = _stream(lm, lookahead=1)
    assert Vocoder(CFG, lookahead=1).latency_samples == 400
    assert delayed[0][:400].abs().max() == 0


def test_state_clone_and_restore(speech) -> None:
    """A step leaves the state it is given as it was (its generator too), so a kept clone
    replays the stream from there bit for bit."""
    _, lm = speech
    voc = Vocoder(CFG, n_iter=8)
    _, s1 = voc.step(lm[:8], voc.init_state(5))
    kept = s1.clone()
    y2, s2 = voc.step(lm[8:16], s1)
    y3, _ = voc.step(lm[16:24], s2)
    assert torch.equal(s1.past, kept.past) and torch.equal(s1.spec, kept.spec)
    assert (s1.first, s1.n_out) == (kept.first, kept.n_out)
    assert torch.equal(s1.gen.get_state(), kept.gen.get_state())
    z2, t2 = voc.step(lm[8:16], kept)
    z3, _ = voc.step(lm[16:24], t2)
    assert torch.equal(y2, z2) and torch.equal(y3, z3)
    assert torch.equal(torch.cat([y2, y3]), torch.cat(_stream(lm[:24], seed=5)[1:]))


def test_step_many_equals_each_stream_alone(speech) -> None:
    """Streams at different points (different frame histories) and seeds, batched in one
    Griffin-Lim: each row is bit-identical to that stream's own step."""
    _, lm = speech
    voc = Vocoder(CFG, n_iter=8)
    states = [voc.init_state(0), voc.step(lm[:8], voc.init_state(1))[1]]
    _, states[1] = voc.step(lm[8:16], states[1])
    frames = torch.stack([lm[24:32], lm[32:40]])
    wavs, new = voc.step_many(frames, states)
    for i, st in enumerate(states):
        alone, nxt = voc.step(frames[i], st)
        assert torch.equal(wavs[i], alone)
        assert torch.equal(new[i].past, nxt.past) and new[i].n_out == nxt.n_out


def test_stream_rejects_wrong_chunk() -> None:
    voc = Vocoder(CFG)
    with pytest.raises(ValueError):
        voc.step(torch.zeros(7, CFG.mel.n_mels), voc.init_state())


def test_roundtrip_quality(speech) -> None:

    x, lm = speech
    y = Vocoder(CFG)(lm)
    assert lsd_db(x, y, CFG) < MAX_LSD_DB
    lo = CFG.mel.lo
    energy = (10 ** (2 * lm)).sum(-1)
    speech_frames = energy > energy.max() * 1e-4
    re = MelAnalyzer(CFG).frames(y).clamp_min(lo) - lm.clamp_min(lo)
    assert re[speech_frames].abs().mean() < MAX_MEL_ERR


@pytest.mark.parametrize("mode", ["offline", "stream"])
def test_time_alignment(speech, mode: str) -> None:
    """Per-frame energy of the re-analysed output tracks the input's at lag 0 (a one-frame
    shift already drops the correlation to ~0.5-0.8 on this sentence)."""
    _, lm = speech
    y = Vocoder(CFG)(lm) if mode == "offline" else stream(Vocoder(CFG, n_iter=8), lm)
    e_in = (10 ** (2 * lm.double())).sum(-1)
    e_out = (10 ** (2 * MelAnalyzer(CFG).frames(y).double())).sum(-1)

    def corr(lag: int) -> float:
        a, b = (e_in[lag:], e_out[: len(e_out) - lag]) if lag >= 0 else (e_in[:lag], e_out[-lag:])
        return torch.corrcoef(torch.stack([a, b]))[0, 1].item()

    cs = {lag: corr(lag) for lag in range(-3, 4)}
    assert cs[0] > 0.8 and max(cs, key=cs.get) == 0, cs
