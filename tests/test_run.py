"""`microturn run`: the four files with the input's duration, time alignment on a scripted
conversation whose reply time is known, and one-line errors for bad input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from microturn.config import preset
from microturn.data.families import make_scenario
from microturn.data.generate import featurize
from microturn.data.layout import streams
from microturn.grid import Grid
from microturn.model import InteractionModel
from microturn.runtime.runner import run_file
from microturn.tokenizer import Tokenizer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "qa.wav"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("ckpt")
    InteractionModel(preset("tiny")).save_pretrained(d)
    return d


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "microturn.cli", "run", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_run_writes_four_time_aligned_files(ckpt, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text('{"t": 1.0, "text": "the weather is sunny"}\n')
    r = cli(EXAMPLE, "--out", tmp_path / "out", "--checkpoint", ckpt, "--text", events)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    n_in = sf.info(str(EXAMPLE)).frames
    for name, channels in (("model.wav", 1), ("stereo.wav", 2)):
        info = sf.info(str(out / name))
        assert (info.samplerate, info.frames, info.channels) == (16000, n_in, channels)
    stereo, _ = sf.read(str(out / "stereo.wav"))
    user, _ = sf.read(str(EXAMPLE))
    assert np.abs(stereo[:, 0] - user).max() < 1e-4  # left is the user, unchanged
    rows = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    assert all("t" in e and "kind" in e for e in rows)
    assert {"t": 1.0, "kind": "tool_result", "text": "the weather is sunny"} in rows
    assert (out / "timeline.png").stat().st_size > 1000


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_scripted_reply_lands_at_its_time(tmp_path):
    """Teacher-force the data's own reply: its words and its audio must come out of the runner
    where the timeline puts them (an off-by-one-chunk would move them by 200 ms)."""
    cfg = preset("tiny")
    tl = make_scenario("qa", "ask", "dev", 1)
    sample = featurize(tl, cfg, audio=True)
    grid, tok = Grid(cfg.grid), Tokenizer()
    user = sample.arrays["user_audio"].astype(np.float32) / 32767
    sf.write(str(tmp_path / "in.wav"), user, 16000, subtype="FLOAT")
    n_slots = len(user) // grid.samples_per_chunk * grid.positions_per_chunk
    st = streams(tl, tok, n_slots, grid.chunk_s / grid.positions_per_chunk, 2, 6)
    script = {"tokens": st["model"], "logmel": sample.arrays["model_mel"].astype(np.float32)}
    torch.manual_seed(0)
    model = InteractionModel(cfg).eval()
    run_file(model, tmp_path / "in.wav", tmp_path / "out", script=script)
    said = [json.loads(x) for x in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    said = [e for e in said if e["kind"] == "model_text"]
    first = tl.on("model")[0].words[0]
    # a word's text event is stamped at its slot: within one 50 ms slot before its onset
    assert 0 <= first.t_on - said[0]["t"] < 0.05 + 1e-6
    assert tok.decode(tok.word(first.text)).strip().startswith(said[0]["text"].strip())

    def onset(x: np.ndarray) -> float:
        rms = np.sqrt(np.mean(x[: len(x) // 160 * 160].reshape(-1, 160) ** 2, 1))
        return float(np.argmax(rms > 10 ** (-40 / 20)) * 0.01)

    out, _ = sf.read(str(tmp_path / "out" / "model.wav"))
    ref = sample.arrays["model_audio"].astype(np.float32) / 32767
    assert len(out) == len(user)
    assert abs(onset(out) - onset(ref)) <= 0.05, (onset(out), onset(ref))


def test_bad_input_gives_one_line(ckpt, tmp_path):
    wav8k = tmp_path / "8k.wav"
    sf.write(str(wav8k), np.zeros(8000, np.float32), 8000)
    r = cli(wav8k, "--out", tmp_path / "o8", "--checkpoint", ckpt)  # resampled, not refused
    assert r.returncode == 0, r.stderr
    assert sf.info(str(tmp_path / "o8" / "model.wav")).frames == 16000
    st = tmp_path / "stereo.wav"
    sf.write(str(st), np.zeros((16000, 2), np.float32), 16000)
    assert cli(st, "--out", tmp_path / "os", "--checkpoint", ckpt).returncode == 0  # mixed
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(EXAMPLE.read_bytes()[:30])
    bad_text = tmp_path / "bad.jsonl"
    bad_text.write_text("not json\n")
    for args in (
        (trunc, "--checkpoint", ckpt),
        (EXAMPLE, "--checkpoint", tmp_path / "nowhere"),
        (EXAMPLE, "--checkpoint", ckpt, "--text", bad_text),
        (tmp_path / "missing.wav", "--checkpoint", ckpt),
    ):
        r = cli(*args, "--out", tmp_path / "x")
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("microturn: error:"), r.stderr


def test_the_shipped_checkpoint_answers_the_example(tmp_path):
    """The README's main job: the default checkpoint on the committed example."""
    r = cli(EXAMPLE, "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["duration_s"] == pytest.approx(sf.info(str(EXAMPLE)).duration, abs=1e-3)
    rows = [json.loads(x) for x in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "user_text" for e in rows)  # its streaming transcript of the user


def test_asr_prints_what_a_listener_hears_beside_what_the_model_said(tmp_path):
    """`--asr`: Whisper on the model's own audio, beside its text stream. The shipped model says
    the answer, "twenty four", to the example with seeds 2 and 3 (seed 2: the README's command),
    and through the shipped learned vocoder Whisper hears it on both; through Griffin-Lim it
    hears "when before" on seed 3 (the README's side by side)."""
    for seed, vocoder, heard in (
        ("2", [], "twenty four"),
        ("3", [], "twenty four"),
        ("3", ["--vocoder", "griffin-lim"], "when before"),
    ):
        r = cli(EXAMPLE, "--out", tmp_path / seed, "--seed", seed, "--asr", *vocoder)
        assert r.returncode == 0, r.stderr
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        assert summary["said"] == "twenty four"
        assert summary["heard"] == heard
