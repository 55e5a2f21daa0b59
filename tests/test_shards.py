"""Reading shards through their API: what the index says of a sample (`info`), the samples
of a family or side (`where`), the complete shards of a directory, a `DIR#N` reference."""

import numpy as np

from microturn.data.shards import (
    Sample,
    SampleInfo,
    ShardReader,
    ShardWriter,
    complete_shards,
    read_sample,
)
from microturn.timeline import Timeline


def write_split(root, specs):
    """One shard per two samples; spec = (family, condition, act, frames)."""
    for k in range(0, len(specs), 2):
        w = ShardWriter(root / f"shard-{k // 2:05d}")
        for j, (fam, cond, act, frames) in enumerate(specs[k : k + 2], start=k):
            tl = Timeline(f"s-{j}", fam, cond, act, "dev", 1.5 + j)
            w.add(Sample(tl, {"user_dmel": np.full((frames, 80), j, dtype=np.uint8)}))
        w.close()


def test_info_where_and_references(tmp_path):
    specs = [("turn", "eot", True, 5), ("qa", "plain", True, 7), ("turn", "pause", False, 9)]
    write_split(tmp_path, specs)
    unfinished = ShardWriter(tmp_path / "shard-00009")  # not closed: no index
    unfinished.f.close()
    assert [p.name for p in complete_shards(tmp_path)] == ["shard-00000.json", "shard-00001.json"]
    assert complete_shards(tmp_path / "missing") == []
    r = ShardReader(tmp_path)
    assert r.info(2) == SampleInfo("s-2", "turn", "pause", False, 3.5, 9)
    for i in range(len(r)):  # the index agrees with the sample it describes
        s, info = r[i], r.info(i)
        assert (info.id, info.family, info.act) == (
            s.timeline.id,
            s.timeline.family,
            s.timeline.act,
        )
        assert info.frames == len(s.arrays["user_dmel"])
    assert r.where("turn") == [0, 2]
    assert r.where("turn", act=True) == [0] and r.where(act=True) == [0, 1]
    assert r.where("visual") == [] and r.where() == [0, 1, 2]
    s = read_sample(f"{tmp_path}#1")
    assert s.timeline.id == "s-1" and int(s.arrays["user_dmel"][0, 0]) == 1
