import pytest
import torch

from microturn.config import preset
from microturn.voice.learned import (
    LearnedVocoder,
    VocoderConfig,
    VocoderNet,
    load_vocoder,
)


def _net(lookahead: int = 1) -> VocoderNet:
    torch.manual_seed(0)
    net = VocoderNet(VocoderConfig(channels=32, blocks=2, lookahead=lookahead)).eval()
    with torch.no_grad():  # a head that makes sound, not near-silence
        net.head.bias.normal_(0, 0.5)
    return net


def _mel(T: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return -2.0 + 0.8 * torch.randn(T, 80, generator=g)


@pytest.mark.parametrize("lookahead", [0, 1])
def test_the_stream_is_the_whole_pass_delayed_by_its_latency(lookahead):
    cfg = preset("small")
    net = _net(lookahead)
    voc = LearnedVocoder(cfg, net)
    lm = _mel()
    with torch.no_grad():
        whole = net(lm[None])[0]
    state, out = voc.init_state(), []
    for c in lm.split(voc.grid.frames_per_chunk):
        y, state = voc.step(c, state)
        out.append(y)
    streamed = torch.cat(out)
    assert voc.latency_samples == lookahead * 400 + 400
    assert bool((streamed[: voc.latency_samples] == 0).all())  # before the stream began
    # past the frames whose left context differs (the stream starts from silence, the whole
    # pass from the padding), sample s of the stream is sample s - latency of the whole pass
    a = (net.receptive + 2) * voc.hop
    got = streamed[a + voc.latency_samples :]
    want = whole[a : len(whole) - voc.latency_samples]
    assert torch.allclose(got, want, atol=1e-4 * float(want.abs().max()))
    assert float(want.abs().max()) > 1e-3  # it made sound


def test_several_streams_step_as_each_alone_and_states_are_left_as_they_were():
    """One batch through every layer (a step's new frames alone, each conv's past in the
    state): a stream's samples and state do not depend on the streams beside it."""
    cfg = preset("small")
    voc = LearnedVocoder(cfg, _net())
    fpc = voc.grid.frames_per_chunk
    n = 5
    lm = _mel(n * fpc).view(n, fpc, 80)
    states = [voc.init_state() for _ in range(n)]
    for k in range(1, n):  # streams at different places, with different pasts
        for c in _mel(k * fpc).split(fpc):
            states[k] = voc.step(c + 0.1 * k, states[k])[1]
    before = [s.clone() for s in states]
    wavs, new = voc.step_many(lm, states)
    for k in range(n):
        y, s = voc.step(lm[k], before[k])
        assert torch.equal(wavs[k], y) and torch.equal(new[k].tail, s.tail)
        assert all(torch.equal(a, b) for a, b in zip(new[k].past, s.past, strict=True))
        assert all(torch.equal(a, b) for a, b in zip(states[k].past, before[k].past, strict=True))
        assert states[k].n_out == before[k].n_out
    assert float(wavs.abs().max()) > 1e-3
    with pytest.raises(ValueError, match="expected"):
        voc.step_many(lm[:, :3], states)


def test_a_saved_vocoder_loads_and_a_wrong_one_says_what_is_wrong(tmp_path):
    cfg = preset("small")
    net = _net()
    net.save(tmp_path / "v", {"steps": 0})
    back = load_vocoder(cfg, tmp_path / "v")
    lm = _mel(8)
    a, _ = LearnedVocoder(cfg, net).step(lm, LearnedVocoder(cfg, net).init_state())
    b, _ = back.step(lm, back.init_state())
    assert torch.equal(a, b)
    with pytest.raises(FileNotFoundError, match="holds no vocoder"):
        load_vocoder(cfg, tmp_path / "nothing")
    (tmp_path / "v" / "config.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="is not a microturn-vocoder"):
        load_vocoder(cfg, tmp_path / "v")
    odd = VocoderNet(VocoderConfig(hop=200, channels=8, blocks=1))
    with pytest.raises(ValueError, match="trained for hop 200"):
        LearnedVocoder(cfg, odd)
    shipped = load_vocoder(cfg, None)  # the runtime's default: the shipped learned vocoder
    assert isinstance(shipped, LearnedVocoder) and shipped.net.cfg.channels == 256
    assert type(load_vocoder(cfg, "griffin-lim")).__name__ == "Vocoder"


def test_run_speaks_through_a_learned_vocoder_and_a_missing_one_is_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import soundfile as sf

    from microturn.model import InteractionModel

    example = Path(__file__).resolve().parents[1] / "examples" / "qa.wav"
    torch.manual_seed(0)
    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "ckpt")
    _net().save(tmp_path / "voc")

    def run(*extra):
        return subprocess.run(
            [sys.executable, "-m", "microturn.cli", "run", str(example), "--checkpoint",
             str(tmp_path / "ckpt"), "--out", str(tmp_path / "out"), *extra],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    r = run("--vocoder", str(tmp_path / "voc"))
    assert r.returncode == 0, r.stderr
    info = sf.info(str(tmp_path / "out" / "model.wav"))
    assert (info.samplerate, info.frames) == (16000, sf.info(str(example)).frames)
    r = run("--vocoder", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "holds no vocoder" in r.stderr and "griffin-lim" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_server_voices_its_sessions_with_a_learned_vocoder(tmp_path):
    from microturn.model import InteractionModel
    from microturn.runtime.session import Sampling
    from microturn.serve.server import ServerConfig, _driver

    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    _net().save(tmp_path / "voc")
    d = _driver(model, ServerConfig(max_sessions=2, vocoder=str(tmp_path / "voc")), Sampling())
    assert isinstance(d.engine.vocoder, LearnedVocoder) and d.engine.vocoder.net.cfg.channels == 32
    d = _driver(model, ServerConfig(max_sessions=2), Sampling())  # by default the shipped one
    assert isinstance(d.engine.vocoder, LearnedVocoder) and d.engine.vocoder.net.cfg.channels == 256
    d = _driver(model, ServerConfig(max_sessions=2, vocoder="griffin-lim"), Sampling())
    assert type(d.engine.vocoder).__name__ == "Vocoder"


def test_serve_checks_its_vocoder_on_the_main_thread_without_building_it(tmp_path, monkeypatch):
    """`microturn serve` checks `--vocoder` before it starts, on its main thread, and builds no
    network there: a torch call on that thread starts a second OpenMP team that fights the
    tick thread's for the cores (12 clients ticked at 359 ms against the engine's 149 ms,
    docs/LOG.md). A bad directory is still an error before anything starts."""
    import microturn.serve.server as server
    from microturn.cli import build_parser

    def built(*a, **k):
        raise AssertionError("a vocoder network was built on the server's main thread")

    class Reached(Exception):
        pass

    def stop(*a, **k):  # the check passed: stop where the server would start
        raise Reached

    monkeypatch.setattr(VocoderNet, "__init__", built)
    monkeypatch.setattr(server, "Server", stop)
    with pytest.raises(Reached):
        server.main(build_parser().parse_args(["serve"]))  # the shipped vocoder
    with pytest.raises(FileNotFoundError, match="holds no vocoder"):
        server.main(build_parser().parse_args(["serve", "--vocoder", str(tmp_path / "nowhere")]))
