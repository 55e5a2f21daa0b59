"""The synth job: sizes, manifest, and resuming after a kill."""

import json
import shutil

import pytest

from microturn.config import preset
from microturn.data.generate import Job, run, schedule
from microturn.data.shards import ShardReader

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def job(out, **kw) -> Job:
    base = dict(per_shard=2, audio=False, per_condition=2, families=("qa", "repair"))
    return Job("dev", str(out), preset("small").to_dict(), **{**base, **kw})


def test_fixed_size_split_and_manifest(tmp_path):
    m = run(job(tmp_path), workers=1, progress=False)
    assert m["scenarios"] == 8 and len(m["shards"]) == 4 and m["hours"] > 0
    r = ShardReader(tmp_path)
    assert len(r) == 8
    s = r[0]
    n_frames = s.arrays["user_dmel"].shape[0]
    assert s.arrays["user_dmel"].shape == (n_frames, 80) and n_frames % 8 == 0
    assert s.arrays["model_mel"].dtype.name == "float16"
    assert abs(n_frames * 0.025 - s.timeline.duration) < 0.2 + 1e-9
    assert {"user", "model"} <= set(s.timeline.meta["streams"])
    assert json.loads((tmp_path / "manifest.json").read_text())["split"] == "dev"


def test_resume_keeps_complete_shards_and_rebuilds_the_rest(tmp_path):
    run(job(tmp_path), workers=1, progress=False)
    keep = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard-0000[01].*")}
    # a kill in the middle of shard 2: its index was never written, its data is partial
    (tmp_path / "shard-00002.json").unlink()
    (tmp_path / "shard-00003.json").unlink()
    with open(tmp_path / "shard-00002.bin", "r+b") as f:
        f.truncate(10)
    m = run(job(tmp_path), workers=1, progress=False)
    assert m["scenarios"] == 8
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard-0000[01].*")} == keep
    r = ShardReader(tmp_path)
    ids = [r.timeline(i).id for i in range(len(r))]
    assert len(ids) == len(set(ids)) == 8
    assert r[5].arrays["user_dmel"].shape[1] == 80


def test_train_schedule_alternates_act_and_hold():
    j = Job("train", "x", preset("small").to_dict(), families=("turn", "barge_in"))
    got = [schedule(j, i) for i in range(16)]
    assert got[0] == ("turn", "eot") and got[2] == ("turn", "pause")
    assert {c for f, c in got if f == "barge_in"} == {
        "interrupt",
        "user_backchannel",
        "side_talk",
        "background",
    }


def test_a_train_set_from_a_later_shard_holds_new_scenarios(tmp_path):
    def train(out, first):
        j = Job("train", str(out), preset("small").to_dict(), 1, False, 0, ("qa",))
        return run(j, hours=1e-4, workers=1, progress=False, first=first)

    a, b = train(tmp_path / "a", 0), train(tmp_path / "b", 7)
    assert a["shards"] == ["shard-00000"] and b["shards"] == ["shard-00007"]
    ids = [ShardReader(tmp_path / k).timeline(0).id for k in "ab"]
    assert ids[0] != ids[1]
    with pytest.raises(ValueError, match="train"):
        run(job(tmp_path / "c"), workers=1, progress=False, first=1)


def test_a_qa_set_of_chosen_topics(tmp_path):
    """`qa_topics` keeps every QA scenario's question to those cores, says so in the
    manifest and the scenario ids, and leaves the other families as they were."""
    from microturn.data.language.questions import knowledge

    m = run(job(tmp_path, qa_topics=("arith", "chain")), workers=1, progress=False)
    assert m["qa_topics"] == ["arith", "chain"]
    r = ShardReader(tmp_path)
    qa = [r.timeline(i) for i in range(len(r)) if r.timeline(i).family == "qa"]
    assert len(qa) == 4
    for tl in qa:
        assert knowledge(tl.meta["templates"][0])[0] in ("arith", "chain")
        assert tl.id.endswith("-arith+chain")
    plain = run(job(tmp_path / "plain"), workers=1, progress=False)
    rp = ShardReader(tmp_path / "plain")
    assert plain["qa_topics"] == []
    rep = [i for i in range(len(r)) if r.timeline(i).family == "repair"]
    assert rep and all(r.timeline(i).to_dict() == rp.timeline(i).to_dict() for i in rep)
