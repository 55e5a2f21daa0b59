import numpy as np
import pytest
import soundfile as sf

from microturn.audio import AudioError, load, save


def test_resample_on_load(tmp_path):
    t = np.arange(22050) / 22050
    sf.write(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 22050)
    x = load(tmp_path / "a.wav")
    assert x.dtype == np.float32 and abs(len(x) - 16000) <= 1


def test_stereo_refused_or_mixed(tmp_path):
    sf.write(tmp_path / "s.wav", np.zeros((1600, 2)) + 0.1, 16000)
    with pytest.raises(AudioError, match="2 channels"):
        load(tmp_path / "s.wav")
    assert load(tmp_path / "s.wav", mono="mix").shape == (1600,)


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        load(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(AudioError, match="cannot read"):
        load(tmp_path / "junk.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(AudioError, match="no audio"):
        load(tmp_path / "empty.wav")
    save(tmp_path / "ok.wav", np.zeros(16000, np.float32) + 0.1)
    data = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:30])  # truncated inside the header
    with pytest.raises(AudioError) as e:
        load(tmp_path / "cut.wav")
    assert "\n" not in str(e.value)
