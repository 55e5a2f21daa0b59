import json
import shutil

import pytest

from microturn.train.vocoder import main, utterances


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
