import json

import numpy as np
import pytest

from microturn.data.shards import Sample, ShardError, ShardReader, ShardWriter
from microturn.synth import Voice, Word
from microturn.timeline import Event, Expect, Timeline, TimelineError


def make_timeline() -> Timeline:
    v = Voice("espeak", "en-us+f3", rate=1.1, pitch=40)
    return Timeline(
        id="t-1",
        family="turn",
        condition="pause",
        act=False,
        split="dev",
        duration=4.2,
        events=[
            Event(
                "user",
                "utterance",
                0.5,
                1.3,
                "what is three",
                [Word("what", 0.5, 0.7), Word("is", 0.7, 0.85), Word("three", 0.85, 1.3)],
                v,
                {"prosody": "continue", "gain_db": -6.0},
            ),
            Event("tool", "delegate", 2.0, 2.0, "calculator", attrs={"args": {"a": 1}}),
        ],
        expect=[Expect("silent", 1.3, 2.2)],
        meta={"decision_t": 1.3, "stats": {"speech_before": 0.8}},
    )


def test_json_round_trip(tmp_path):
    tl = make_timeline()
    tl.save(tmp_path / "t.json")
    back = Timeline.load(tmp_path / "t.json")
    assert back == tl and back.to_json() == tl.to_json()
    assert back.on("user")[0].voice == tl.events[0].voice


def test_version_and_validation():
    d = make_timeline().to_dict()
    d["version"] = 99
    with pytest.raises(TimelineError, match="version"):
        Timeline.from_dict(d)
    with pytest.raises(TimelineError):
        Event("mouth", "utterance", 0.0, 1.0)
    with pytest.raises(TimelineError):
        Event("user", "utterance", 2.0, 1.0)
    with pytest.raises(TimelineError, match="not a timeline"):
        Timeline.from_json("{not json")


def test_shard_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    samples = []
    for k in range(5):
        f = int(rng.integers(8, 200))
        samples.append(
            Sample(
                make_timeline(),
                {
                    "user_dmel": rng.integers(0, 16, (f, 80), dtype=np.uint8),
                    "model_mel": rng.standard_normal((f, 80)).astype(np.float16),
                    "user_audio": rng.integers(-32768, 32767, f * 400, dtype=np.int16),
                    "video": rng.integers(0, 255, (k, 80, 80, 3), dtype=np.uint8),
                },
            )
        )
    w = ShardWriter(tmp_path / "shard-00000")
    for s in samples[:3]:
        w.add(s)
    w.close()
    w = ShardWriter(tmp_path / "shard-00001")
    for s in samples[3:]:
        w.add(s)
    w.close()
    r = ShardReader(tmp_path)
    assert len(r) == 5
    for s, back in zip(samples, (r[i] for i in range(5)), strict=True):
        assert back.timeline == s.timeline
        for k, a in s.arrays.items():
            assert back.arrays[k].dtype == a.dtype and np.array_equal(back.arrays[k], a)


def test_incomplete_and_truncated_shards(tmp_path):
    with pytest.raises(ShardError, match="no complete shards"):
        ShardReader(tmp_path)
    w = ShardWriter(tmp_path / "shard-00000")
    w.add(Sample(make_timeline(), {"x": np.arange(1000, dtype=np.int32)}))
    # not closed: no index yet, so the shard does not exist for readers
    w.f.close()
    with pytest.raises(ShardError):
        ShardReader(tmp_path)
    w = ShardWriter(tmp_path / "shard-00000")
    w.add(Sample(make_timeline(), {"x": np.arange(1000, dtype=np.int32)}))
    w.close()
    with open(tmp_path / "shard-00000.bin", "r+b") as f:
        f.truncate(100)
    with pytest.raises(ShardError, match="truncated"):
        ShardReader(tmp_path)[0]


def test_a_reader_over_several_directories(tmp_path):
    """Several data directories read as one sequence, in the order given; directories made
    with different features are refused, and so is a missing one."""
    a, b = tmp_path / "a", tmp_path / "b"
    for d, n in ((a, 2), (b, 3)):
        w = ShardWriter(d / "shard-00000")
        for i in range(n):
            w.add(Sample(make_timeline(), {"x": np.full(4, 10 * n + i, dtype=np.int32)}))
        w.close()
    r = ShardReader([b, a])
    assert len(r) == 5
    assert [int(r[i].arrays["x"][0]) for i in range(5)] == [30, 31, 32, 20, 21]
    (a / "config.json").write_text(json.dumps({"grid": {"chunk_ms": 200}, "mel": {"bins": 16}}))
    (b / "config.json").write_text(json.dumps({"grid": {"chunk_ms": 200}, "mel": {"bins": 16}}))
    assert len(ShardReader([a, b])) == 5
    (b / "config.json").write_text(json.dumps({"grid": {"chunk_ms": 80}, "mel": {"bins": 16}}))
    with pytest.raises(ShardError, match="different grid/mel"):
        ShardReader([a, b])
    with pytest.raises(ShardError, match="no such data directory"):
        ShardReader([a, tmp_path / "missing"])
