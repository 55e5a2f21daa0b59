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


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick bench run (a tiny random model), shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("bench")
    torch.manual_seed(0)
    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "ckpt")
    r = subprocess.run(
        [sys.executable, "-m", "microturn.cli", "bench", "--quick",
         "--checkpoint", str(tmp_path / "ckpt"), "--out", str(tmp_path / "report"),
         "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return tmp_path, r


def test_quick_bench_writes_a_report(quick):
    tmp_path, r = quick
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


def test_a_killed_run_resumes_from_its_cached_blocks(quick, monkeypatch):
    """Results are cached per block: a run that dies in block 2 recomputes only blocks 2+
    when started again, and ends with the same results as an uninterrupted run."""
    from microturn.bench import suite
    from microturn.bench.harness import Harness

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:12]
    monkeypatch.setattr(suite, "BLOCK", 5)
    real, calls, killed = suite.system, [], []

    def dies_in_block_2(spec, block, *a):
        calls.append([s.id for s in block])
        if len(calls) == 2 and not killed:
            killed.append(True)
            raise KeyboardInterrupt  # the run is killed here
        return real(spec, block, *a)

    args = (scen, tmp_path / "resume", {}, None, Harness(0.3, 0.2), set())
    monkeypatch.setattr(suite, "system", dies_in_block_2)
    with pytest.raises(KeyboardInterrupt):
        suite.run_blocks("eager", "eager", *args)
    calls.clear()
    resumed = suite.run_blocks("eager", "eager", *args)
    assert calls == [[s.id for s in scen[5:10]], [s.id for s in scen[10:]]]
    fresh = suite.run_blocks("eager", "eager", scen, tmp_path / "fresh", {}, None,
                             Harness(0.3, 0.2), set())  # fmt: skip
    assert resumed == fresh and len(resumed) == 12
    assert [r["id"] for r in resumed] == [s.id for s in scen]


def test_tuning_is_cached_in_work(quick, monkeypatch):
    """The theta x m sweep is kept in WORK: a second run (resumed, or another process running
    other systems) reads it back instead of sweeping; other dev scenarios sweep anew."""
    from microturn.bench import suite

    tmp_path, _ = quick
    dev = suite.pick(tmp_path / "work" / "dev-1", 1)[:6]
    sweeps = []
    real = suite.tune
    monkeypatch.setattr(suite, "tune", lambda d, c: sweeps.append(len(d)) or real(d, c))
    a = suite.tune_cached(dev, {}, tmp_path / "tw")
    b = suite.tune_cached(dev, {}, tmp_path / "tw")
    assert sweeps == [6] and a == b
    suite.tune_cached(dev[:4], {}, tmp_path / "tw")
    assert sweeps == [6, 4]


def test_processes_sharing_work_split_the_blocks(quick, monkeypatch):
    """Two bench processes on one WORK: a block another live process has claimed is not run
    again here (its results are read once that process writes them); a claim left by a
    process that died is taken over."""
    from microturn.bench import suite
    from microturn.bench.harness import Harness

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:12]
    monkeypatch.setattr(suite, "BLOCK", 5)
    monkeypatch.setattr(suite, "CLAIM_POLL_S", 0.1)
    h = Harness(0.3, 0.2)
    fresh = suite.run_blocks("eager", "eager", scen, tmp_path / "alone", {}, None, h, set())
    names = suite.block_files("eager", "eager", scen, None, h, set())
    real, calls = suite.system, []
    monkeypatch.setattr(suite, "system", lambda spec, block, *a: (
        calls.append(block[0].id), real(spec, block, *a))[1])  # fmt: skip

    # another process holds block 1 and writes its results 1 s later
    shared = tmp_path / "shared" / "results"
    shared.mkdir(parents=True)
    src, dst = tmp_path / "alone" / "results" / names[5], shared / names[5]
    writes_later = (
        "import os, shutil, sys, time; time.sleep(1); src, dst = sys.argv[1:]; "
        "shutil.copy(src, dst + '.tmp'); os.replace(dst + '.tmp', dst); "
        "os.remove(dst.removesuffix('.gz') + '.claim')"
    )
    other = subprocess.Popen([sys.executable, "-c", writes_later, str(src), str(dst)])
    dst.with_suffix(".claim").write_text(str(other.pid))
    got = suite.run_blocks("eager", "eager", scen, tmp_path / "shared", {}, None, h, set())
    other.wait()
    assert calls == [scen[0].id, scen[10].id] and got == fresh
    assert not list(shared.glob("*.claim"))

    # a claim whose process is gone: taken over
    calls.clear()
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / "orphan" / "results"
    orphan.mkdir(parents=True)
    (orphan / names[5]).with_suffix(".claim").write_text(str(dead.pid))
    got = suite.run_blocks("eager", "eager", scen, tmp_path / "orphan", {}, None, h, set())
    assert calls == [scen[0].id, scen[5].id, scen[10].id] and got == fresh


def test_the_report_says_how_its_splits_were_made(tmp_path):
    """From each split's manifest: the synth command, with --families when it is a subset."""
    from microturn.bench.report import made_by
    from microturn.data.families import FAMILIES

    def split(name, families):
        d = tmp_path / name
        d.mkdir()
        manifest = {"split": "test", "per_condition": 200, "scenarios": 400, "hours": 0.98,
                    "families": families}  # fmt: skip
        (d / "manifest.json").write_text(json.dumps(manifest))
        return str(d)

    turn, every = split("turn", ["turn"]), split("all", list(FAMILIES))
    line = made_by({"data": turn, "dev": every})[0]
    assert f"--per-condition 200 --families turn --out {turn}`" in line
    assert f"--per-condition 200 --out {every}`" in line


def test_a_block_is_cached_by_its_content_not_only_its_ids(quick, monkeypatch):
    """Scenarios made again by changed data code keep their ids: the cache must not hand back
    results scored on the old audio (or the old expectations)."""
    from dataclasses import replace

    from microturn.bench import suite
    from microturn.bench.harness import Harness

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:10]
    monkeypatch.setattr(suite, "BLOCK", 5)
    h = Harness(0.3, 0.2)
    before = suite.block_files("eager", "eager", scen, None, h, set())
    assert before == suite.block_files("eager", "eager", list(scen), None, h, set())
    louder = [replace(scen[0], user=scen[0].user * 0.5), *scen[1:]]
    after = suite.block_files("eager", "eager", louder, None, h, set())
    assert after[0] != before[0] and after[5] == before[5]
    moved = [*scen[:6], replace(scen[6], tl=replace(scen[6].tl, duration=scen[6].tl.duration + 1))]
    after = suite.block_files("eager", "eager", moved + scen[7:], None, h, set())
    assert after[0] == before[0] and after[5] != before[5]


def test_the_cache_keys_a_model_by_its_weights_and_config_not_its_card(quick, monkeypatch):
    from microturn.bench import suite
    from microturn.bench.harness import Harness

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:5]
    ck = tmp_path / "ck"
    ck.mkdir()
    for name, body in (("config.json", "{}"), ("model.safetensors", "w1"), ("README.md", "a")):
        (ck / name).write_text(body)
    h = Harness(0.3, 0.2)

    def names():
        return suite.block_files("m", f"model:{ck}", scen, None, h, set())

    before = names()
    (ck / "README.md").write_text("the card, edited")
    assert names() == before
    (ck / "model.safetensors").write_text("w2")
    assert names() != before


def test_the_cache_keys_a_model_by_the_code_that_runs_it(quick, monkeypatch):
    """A decoding fix with the same weights and defaults runs the model again; a harness,
    which no model code runs, keeps its blocks."""
    from microturn.bench import suite
    from microturn.bench.harness import Harness

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:5]
    h = Harness(0.3, 0.2)
    model = suite.block_files("m", "model", scen, None, h, set())
    vad = suite.block_files("v", "vad", scen, None, h, set())
    assert suite.code_stamp() == suite.code_stamp() and len(suite.code_stamp()) == 12
    assert suite.code_stamp(("model",)) != suite.code_stamp(("runtime",))
    monkeypatch.setattr(suite, "code_stamp", lambda packages=suite.MODEL_CODE: "changed")
    assert suite.block_files("m", "model", scen, None, h, set()) != model
    assert suite.block_files("v", "vad", scen, None, h, set()) == vad


def test_the_cache_keys_a_model_by_its_vocoder(quick):
    """`bench --vocoder griffin-lim` runs the model again; the shipped vocoder named by its path
    is the default's blocks; a harness keeps its blocks."""
    from microturn.bench import suite
    from microturn.bench.harness import Harness
    from microturn.voice.learned import DEFAULT_VOCODER

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:5]
    h = Harness(0.3, 0.2)

    def names(spec, vocoder):
        return suite.block_files("m", spec, scen, None, h, set(), None, vocoder)

    assert names("model", "griffin-lim") != names("model", None)
    assert names("model", DEFAULT_VOCODER) == names("model", None)
    assert names("vad", "griffin-lim") == names("vad", None)


def test_the_size_line_counts_the_scenarios_it_scored():
    """A `--data` split of 3 per condition says 3, whatever `--per-condition` was left at."""
    from types import SimpleNamespace

    from microturn.bench.report import size_line

    def sc(fam, cond):
        return SimpleNamespace(tl=SimpleNamespace(family=fam, condition=cond))

    scen = [sc("qa", "ask")] * 3 + [sc("qa", "aside")] * 3
    assert size_line({"per_condition": 200}, scen) == "3 scenarios per condition"
    uneven = scen + [sc("turn", "eot")]
    assert size_line({"per_condition": 200, "blocks": 1}, uneven).startswith(
        "**partial run**: the first 1 blocks (7 scenarios, 1–3 per condition) of the 200"
    )


def test_the_model_systems_run_with_the_sampling_given(quick, monkeypatch):
    """`--delegate-threshold` and the other thresholds reach every model session the benchmark
    opens, and the cache keeps a block run with other settings apart (the defaults keep
    their old key)."""
    from microturn.bench import suite
    from microturn.bench.harness import Harness
    from microturn.runtime.driver import Driver
    from microturn.runtime.session import Sampling

    tmp_path, _ = quick
    scen = suite.pick(tmp_path / "work" / "test-2", 2)[:3]
    spec, h = f"model:{tmp_path / 'ckpt'}", Harness(0.3, 0.2)
    opened, real_open = [], Driver.open
    monkeypatch.setattr(Driver, "open", lambda self, *a, **k: (
        opened.append(s := real_open(self, *a, **k)), s)[1])  # fmt: skip
    given = Sampling.chosen(delegate_threshold=0.01, speak_threshold=0.3)
    outs = suite.system(spec, scen, tmp_path, {}, None, h, given)
    assert len(outs) == 3 and [s.sampling for s in opened] == [given] * 3
    suite.system(spec, scen[:1], tmp_path, {}, None, h)
    assert opened[-1].sampling == Sampling()
    names = lambda s: suite.block_files("m", spec, scen, None, h, set(), s)  # noqa: E731
    assert names(None) == names(Sampling()) != names(given)


def test_a_threshold_out_of_range_is_a_clear_error():
    r = subprocess.run(
        [sys.executable, "-m", "microturn.cli", "bench", "--quick", "--delegate-threshold", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and "a threshold lies in [0, 1], got 2" in r.stderr


def test_the_vocoder_stamp_moves_with_the_weights_not_with_the_card(tmp_path):
    """The benchmark's cache key holds `vocoder_stamp`: blocks voiced by other weights must not
    be handed back, an edit of the model card must not make them run again."""
    import torch

    from microturn.bench.suite import vocoder_stamp
    from microturn.voice.learned import VocoderConfig, VocoderNet

    torch.manual_seed(0)
    VocoderNet(VocoderConfig(channels=32, blocks=2)).save(tmp_path / "v")
    a = vocoder_stamp(tmp_path / "v")
    (tmp_path / "v" / "README.md").write_text("a card")
    assert vocoder_stamp(tmp_path / "v") == a
    torch.manual_seed(0)
    net = VocoderNet(VocoderConfig(channels=32, blocks=2))
    with torch.no_grad():
        net.head.bias.add_(1.0)
    net.save(tmp_path / "v")
    assert vocoder_stamp(tmp_path / "v") != a
    assert vocoder_stamp("griffin-lim") == "griffin-lim"
    assert vocoder_stamp(None) not in (a, "griffin-lim")  # the shipped one
