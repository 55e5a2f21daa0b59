"""`microturn talk` as a real subprocess against a real server: the files `microturn run`
writes, and the two-sided transcript on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("websockets")

from microturn.audio import load, save  # noqa: E402
from microturn.serve.server import Background, ServerConfig  # noqa: E402
from microturn.serve.talk import realtime_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    from microturn.runtime.runner import load_model

    model = load_model(ROOT / "checkpoints" / "small")
    with Background(model, ServerConfig(port=0, max_sessions=2)) as s:
        yield s


def test_talk_records_a_conversation(server, tmp_path):
    clip = tmp_path / "q.wav"
    save(clip, load(ROOT / "examples" / "qa.wav")[: 16000 * 3])  # "can you tell me how ..."
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "microturn.cli", "talk", str(clip), "--out", str(out)]
    cmd += ["--server", f"ws://127.0.0.1:{server.port}", "--tail", "1.6", "--fast"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["session"].startswith("sess_") and summary["heard"]
    assert any("user :" in x for x in lines[:-1]), r.stdout
    stereo, sr = sf.read(out / "stereo.wav")
    assert sr == 24000 and stereo.shape == (round(4.6 * 24000), 2)
    assert np.abs(stereo[:, 0]).max() > 0.05  # the input, on the left
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    assert {"user_text"} <= {e["kind"] for e in events}
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    first = json.loads((out / "realtime.jsonl").read_text().splitlines()[0])
    assert first["type"] == "session.created"


def test_talk_errors_are_one_line(tmp_path):
    cmd = [sys.executable, "-m", "microturn.cli", "talk", str(ROOT / "examples" / "qa.wav")]
    cmd += ["--server", "ws://127.0.0.1:9", "--out", str(tmp_path)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("microturn: error:"), r.stderr
    assert realtime_url("127.0.0.1:8765", "s1") == "ws://127.0.0.1:8765/v1/realtime?session_id=s1"
