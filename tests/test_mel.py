import numpy as np
import torch

from microturn.config import preset
from microturn.voice.mel import MelAnalyzer, mel_filterbank


def streamed(a: MelAnalyzer, x: torch.Tensor) -> torch.Tensor:
    """(T,) samples, one chunk per step from a fresh state -> (T // hop, n_mels) log10 mel."""
    state, out = a.init_state(), []
    for c in x.split(a.grid.samples_per_chunk):
        lm, state = a.step(c, state)
        out.append(lm)
    return torch.cat(out)


def test_filterbank_shape_and_slaney_area():
    fb = mel_filterbank(16000, 1024, 80, 80.0, 7600.0)
    assert fb.shape == (80, 513) and (fb >= 0).all()
    # Slaney normalisation: each triangle's area (in Hz) is 1
    df = 16000 / 1024
    assert np.allclose(fb.sum(1).numpy() * df, 1.0, atol=0.05)


def test_stream_equals_whole_pass_bit_exact():
    a = MelAnalyzer(preset("small"))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3200 * 7, generator=g) * 0.1
    whole = a.frames(x)
    assert whole.shape == (56, 80)
    assert torch.equal(whole, streamed(a, x))


def test_step_leaves_its_state_and_a_kept_state_replays():
    a = MelAnalyzer(preset("small"))
    x = torch.randn(3200 * 3, generator=torch.Generator().manual_seed(2)) * 0.1
    c0, c1, c2 = x.split(3200)
    _, s1 = a.step(c0, a.init_state())
    kept = s1.clone()
    first, s2 = a.step(c1, s1)
    assert torch.equal(s1, kept)  # not modified by the step
    a.step(c2, s2)
    again, _ = a.step(c1, kept)  # rewind: the same chunk from the kept state
    assert torch.equal(first, again) and torch.equal(first, a.frames(x)[8:16])


def test_frames_are_causal():
    a = MelAnalyzer(preset("small"))
    x = torch.randn(6400) * 0.1
    y = x.clone()
    y[3200:] = 0.5  # change only the second chunk
    assert torch.equal(a.frames(x)[:8], a.frames(y)[:8])
    assert not torch.equal(a.frames(x)[8:], a.frames(y)[8:])


def test_dmel_quantize_round_trip_and_range():
    cfg = preset("small")
    a = MelAnalyzer(cfg)
    levels = torch.linspace(cfg.mel.lo, cfg.mel.hi, cfg.mel.bins)
    codes = a.quantize(levels[None])
    assert codes.dtype == torch.uint8 and codes.tolist() == [list(range(cfg.mel.bins))]
    assert torch.equal(a.dequantize(codes), levels[None])
    step = (cfg.mel.hi - cfg.mel.lo) / (cfg.mel.bins - 1)
    v = torch.empty(1000).uniform_(cfg.mel.lo, cfg.mel.hi)
    assert (a.dequantize(a.quantize(v)) - v).abs().max() <= step / 2 + 1e-6
    assert a.quantize(torch.tensor([-99.0, 99.0])).tolist() == [0, cfg.mel.bins - 1]


def test_stream_equals_whole_pass_for_many_lengths_and_batches():
    a = MelAnalyzer(preset("small"))
    g = torch.Generator().manual_seed(1)
    for n in (1, 2, 5, 31):
        x = torch.randn(2, 3200 * n, generator=g) * 0.3
        whole = a.frames(x)
        for row in range(2):
            assert torch.equal(whole[row], streamed(a, x[row]))
