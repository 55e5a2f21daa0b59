"""`microturn bench --quick`: every built-in system through the scorer on generated test
scenarios, a report on disk, and the trivial baselines where their definitions put them."""

import gzip
import json
import shutil
import subprocess
import sys

import pytest
import torch

from microturn.config import preset
from microturn.model import InteractionModel

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_quick_bench_writes_a_report(tmp_path):
    torch.manual_seed(0)
    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "ckpt")
    r = subprocess.run(
        [sys.executable, "-m", "microturn.cli", "bench", "--quick",
         "--checkpoint", str(tmp_path / "ckpt"), "--out", str(tmp_path / "report"),
         "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    timing = summary["balanced_timing"]
    assert set(timing) == {"model", "vad", "vad+timer", "turn", "eager", "silent"}
    assert len(summary["scorer"]) == 12
    # always silent never takes a turn it should: every should-act scenario fails
    with gzip.open(tmp_path / "report" / "results.jsonl.gz", "rt") as f:
        rows = [json.loads(x) for x in f]
    silent_act = [x for x in rows if x["system"] == "silent" and x["act"] and x["family"] == "turn"]
    assert silent_act and not any(x["timing_pass"] for x in silent_act)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| T1 turn |" in report and "harness_curve.png" in report
    assert (tmp_path / "report" / "latency.png").exists()
    assert any((tmp_path / "work" / "fdb").iterdir())
