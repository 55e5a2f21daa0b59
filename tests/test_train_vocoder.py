import json
import shutil
from pathlib import Path

import pytest

from microturn.train.vocoder import main, utterances

SMALL = str(Path(__file__).resolve().parents[1] / "checkpoints" / "small")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_a_killed_vocoder_run_goes_on_from_its_last_save(tmp_path, capsys):
    small = ["--utterances", "12", "--batch", "2", "--crop", "8", "--channels", "16",
             "--blocks", "1", "--save-every", "1", "--threads", "1"]  # fmt: skip
    main(["--out", str(tmp_path / "run"), "--steps", "2", *small])  # as if killed after step 2
    assert (tmp_path / "run" / "state.pt").exists()
    main(["--out", str(tmp_path / "run"), "--steps", "4", *small])
    out = capsys.readouterr().out
    after = out.split("resumed at step 2")[1]  # it did not start again from step 1
    assert "step 3 " in after and "step 1 " not in after
    meta = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert meta["steps"] == 4 and meta["format"] == "microturn-vocoder"
    assert meta["config"]["channels"] == 16


def test_the_data_is_distinct_train_split_speech():
    texts = utterances(40)
    assert len(texts) == 40 and len(set(texts)) == 40
    assert all(len(t.split()) >= 2 for t in texts)


def _frames_l1(mel, audio, own, shift: int) -> float:
    """Mean L1 of the reference audio's log-mel against `own` shifted by `shift` frames."""
    ref = mel.frames(audio).clamp_min(-5)
    own = own.clamp_min(-5)
    a, b = max(0, shift), len(ref) + min(0, shift)
    return float((ref[a:b] - own[a - shift : b - shift]).abs().mean())


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_the_models_own_frames_are_aligned_with_the_reference_voice():
    """`model_frames`: the shipped model speaks two train scenarios with the reference text
    and phones forced; each span's frames match the reference voice's log-mel best at no
    shift among the shifts of up to a chunk either way (the frames stand for those
    samples)."""
    from microturn.config import preset
    from microturn.train.model_frames import model_frames
    from microturn.voice.mel import MelAnalyzer

    audio, mels = model_frames(SMALL, 2, slots=4)
    mel = MelAnalyzer(preset("small"))
    assert len(audio) == len(mels) == 4  # two scenarios, each in two modes
    chunk = mel.grid.frames_per_chunk
    for a, m in zip(audio, mels, strict=True):
        assert len(a) == len(m) * mel.grid.hop and len(m) > 3 * chunk
        at = {k: _frames_l1(mel, a, m, k) for k in range(-chunk, chunk + 1)}
        assert min(at, key=at.get) == 0, at


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_a_fine_tune_on_the_models_frames_starts_from_a_vocoder_and_keeps_its_data(
    tmp_path, capsys
):
    """`--init` + `--model-mels`: it starts from the given vocoder (its normalisation kept),
    makes the model's frames once (a run started again reads them back; frames made for
    other flags are refused), and a share out of [0, 1] and a vocoder for another mel grid
    are clear errors."""
    import torch

    from microturn.voice.learned import VocoderConfig, VocoderNet

    torch.manual_seed(0)
    init = VocoderNet(VocoderConfig(channels=16, blocks=1))
    with torch.no_grad():
        init.mel_mean.fill_(-2.5)
    init.save(tmp_path / "init")
    small = ["--utterances", "6", "--batch", "2", "--crop", "8", "--save-every", "1",
             "--threads", "1", "--init", str(tmp_path / "init"), "--model-mels", SMALL,
             "--model-scenarios", "1"]  # fmt: skip
    main(["--out", str(tmp_path / "run"), "--steps", "1", *small])
    first = capsys.readouterr().out
    assert "the model's own frames, 2 spans" in first
    assert (tmp_path / "run" / "model_mels.pt").exists()
    main(["--out", str(tmp_path / "run"), "--steps", "2", *small])
    again = capsys.readouterr().out
    assert "resumed at step 1" in again and "the model's own frames" not in again
    net = VocoderNet.load(tmp_path / "run" / "model")
    assert net.cfg.channels == 16 and torch.allclose(net.mel_mean, torch.full((80,), -2.5))
    with pytest.raises(SystemExit, match="was made by"):  # frames of another recipe
        main(["--out", str(tmp_path / "run"), "--steps", "3", *small[:-1], "2"])
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "run"), *small, "--model-share", "1.5"])
    VocoderNet(VocoderConfig(hop=200, channels=8, blocks=1)).save(tmp_path / "odd")
    with pytest.raises(SystemExit, match="not for this mel grid"):
        main(["--out", str(tmp_path / "odd-run"), "--steps", "1", *small[:-6],
              "--init", str(tmp_path / "odd")])  # fmt: skip
