"""The command line: known failures are one line on stderr and exit status 2."""

import ctypes
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from microturn.cli import main
from microturn.synth import Voice, synthesize
from microturn.synth.base import SynthError


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microturn.cli", *args], capture_output=True, text=True, timeout=120
    )


def one_line_error(r: subprocess.CompletedProcess, needle: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("microturn: error:"), r.stderr
    assert needle in lines[0]


def test_missing_and_corrupt_timelines(tmp_path):
    one_line_error(run_cli("plot", str(tmp_path / "nope.json"), "--out", "x.png"), "nope.json")
    (tmp_path / "bad.json").write_text("{ this is not json")
    one_line_error(run_cli("plot", str(tmp_path / "bad.json"), "--out", "x.png"), "not a timeline")
    (tmp_path / "old.json").write_text(json.dumps({"version": 0}))
    one_line_error(run_cli("plot", str(tmp_path / "old.json"), "--out", "x.png"), "version")


def test_missing_data_dir(tmp_path):
    one_line_error(run_cli("plot", f"{tmp_path}#0", "--out", "x.png"), "no complete shards")


def test_missing_espeak_is_one_line(monkeypatch, capsys, tmp_path):
    import microturn.synth.dispatch as dispatch
    import microturn.synth.espeak as espeak

    def no_lib(*a, **k):
        raise OSError("not found")

    monkeypatch.setattr(espeak, "_engine", None)
    monkeypatch.setattr(ctypes, "CDLL", no_lib)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    dispatch._cached.cache_clear()
    with pytest.raises(SystemExit) as e:
        main(["example", "--family", "qa", "--out", str(tmp_path)])
    dispatch._cached.cache_clear()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install espeak-ng" in err[0]


def test_empty_text_and_unknown_voice():
    with pytest.raises(SynthError, match="empty text"):
        synthesize("   ", Voice("espeak", "en-us"))
    with pytest.raises(SynthError, match="unknown engine"):
        Voice("piper", "x")


def test_example_writes_its_files(tmp_path):
    r = run_cli("example", "--family", "turn", "--condition", "pause", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    for f in ("timeline.json", "user.wav", "model.wav", "stereo.wav", "timeline.png"):
        assert (tmp_path / f).stat().st_size > 0
    x, sr = sf.read(tmp_path / "stereo.wav")
    u, _ = sf.read(tmp_path / "user.wav")
    assert sr == 16000 and x.shape == (len(u), 2)
    assert np.abs(x[:, 0] - u).max() < 1e-4
    tl = json.loads((tmp_path / "timeline.json").read_text())
    assert abs(tl["duration"] * 16000 - len(u)) <= 1


@pytest.mark.parametrize(
    "verb, flag",
    [
        (["train"], "--stop-after"),
        (["export"], "src"),
        (["probe"], "--against"),
        (["probe-layers"], "--fit"),
        (["sample"], "--data"),
        (["bench", "train"], "--presets"),
        (["tokenizer"], "--out"),
        (["eval", "voice"], "--n"),
    ],
)
def test_every_verb_has_help(verb, flag, capsys):
    with pytest.raises(SystemExit) as e:
        main([*verb, "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith(f"usage: microturn {' '.join(verb)} ")
    assert flag in out


def test_probe_on_a_missing_data_dir_is_one_line(tmp_path):
    from microturn.config import preset
    from microturn.model import InteractionModel

    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "m")
    r = run_cli("probe", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "none"))
    one_line_error(r, "no such data directory")


def test_tokenizer_retrains_to_the_shipped_asset(tmp_path, capsys):
    """The shipped tokenizer is reproducible: the data engine's corpus retrains it byte for byte."""
    from microturn.tokenizer import PATH

    main(["tokenizer", "--out", str(tmp_path / "tok.json")])
    assert "vocab 1024" in capsys.readouterr().out
    assert (tmp_path / "tok.json").read_bytes() == PATH.read_bytes()


@pytest.mark.parametrize("bad", ["1.5", "-0.1", "often"])
def test_a_bad_speak_threshold_is_one_line(bad, tmp_path, capsys):
    for verb in (["run", str(tmp_path / "x.wav"), "--out", str(tmp_path)], ["serve"]):
        for flag in (
            "--speak-threshold",
            "--reply-threshold",
            "--delegate-threshold",
            "--result-threshold",
        ):
            with pytest.raises(SystemExit) as e:
                main([*verb, flag, bad])
            assert e.value.code == 2
            assert flag in capsys.readouterr().err


def test_the_speak_flags_set_the_sessions_sampling():
    from microturn.cli import build_parser
    from microturn.runtime.session import SAMPLING_FLAGS, Sampling

    args = build_parser().parse_args(
        ["run", "in.wav", "--out", "o", "--speak-threshold", "0", "--reply-threshold", "0.3",
         "--delegate-threshold", "0", "--result-threshold", "0.05"]
    )  # fmt: skip
    sp = Sampling.chosen(**{k: getattr(args, k) for k in SAMPLING_FLAGS})
    assert sp.speak_threshold is None and sp.reply_threshold == 0.3
    assert sp.delegate_threshold is None and sp.result_threshold == 0.05
    unset = build_parser().parse_args(["run", "in.wav", "--out", "o"])
    assert Sampling.chosen(**{k: getattr(unset, k) for k in SAMPLING_FLAGS}) == Sampling()


def test_an_unknown_qa_topic_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["synth", "--split", "dev", "--per-condition", "1", "--families", "qa",
              "--qa-topics", "arith,sums", "--out", str(tmp_path / "d")])  # fmt: skip
    assert "unknown QA topics ['sums']" in str(e.value) and "arith" in str(e.value)
    assert not (tmp_path / "d").exists()
