"""The shard format: raw arrays in a .bin file, described by a JSON index written last.

    DIR/config.json             the Config the features were made with
    DIR/manifest.json           format version, split, shard list, totals (written at the end)
    DIR/shard-00007.bin         sample arrays, back to back, 64-byte aligned
    DIR/shard-00007.json        per sample: the timeline, and {array: [offset, dtype, shape]}

A shard is complete exactly when its .json exists (written to a temp name, then renamed), so a
killed job leaves at most one partial .bin that the next run overwrites. Reading memory-maps
the .bin: no copies, no pickle. Everything else reads shards through `ShardReader`: a sample's
arrays and timeline, or `info`, what the index says of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microturn.timeline import Timeline

SHARD_VERSION = 1
_ALIGN = 64


class ShardError(ValueError):
    """A missing, incomplete or incompatible shard directory."""


@dataclass
class Sample:
    timeline: Timeline
    arrays: dict[str, np.ndarray]  # user_dmel (F, 80) u8, model_dmel, model_mel (F, 80) f16, ...


@dataclass(frozen=True)
class SampleInfo:
    """What a shard's index says of a sample, read without its arrays or its events."""

    id: str
    family: str
    condition: str
    act: bool  # the should-act side of its family's matched pair
    duration: float  # seconds
    frames: int  # feature frames: the rows of its user_dmel


def shard_name(i: int) -> str:
    return f"shard-{i:05d}"


class ShardWriter:
    """Write one shard: `add(sample)` repeatedly, then `close()` (which makes it complete)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(self.path.with_suffix(".bin"), "wb")
        self.entries: list[dict] = []

    def add(self, sample: Sample) -> None:
        arrays = {}
        for name, a in sample.arrays.items():
            a = np.ascontiguousarray(a)
            pad = (-self.f.tell()) % _ALIGN
            self.f.write(b"\0" * pad)
            arrays[name] = [self.f.tell(), a.dtype.str, list(a.shape)]
            self.f.write(a.tobytes())
        self.entries.append({"timeline": sample.timeline.to_dict(), "arrays": arrays})

    def close(self) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"version": SHARD_VERSION, "samples": self.entries}))
        os.replace(tmp, self.path.with_suffix(".json"))


def is_complete(path: str | Path) -> bool:
    return Path(path).with_suffix(".json").exists()


def shard_totals(path: str | Path) -> tuple[float, int]:
    """A complete shard's (seconds of dialogue, samples), from its index alone."""
    entries = json.loads(Path(path).with_suffix(".json").read_text())["samples"]
    return sum(e["timeline"]["duration"] for e in entries), len(entries)


def complete_shards(root: str | Path) -> list[Path]:
    """The index files of a directory's complete shards, in shard order (none: an empty list)."""
    return sorted(Path(root).glob("shard-*.json"))


class ShardReader:
    """All complete shards of one or more directories as one indexable sequence of Samples (in
    the order the directories are given). Directories made with different features (grid or
    mel settings in their config.json) cannot be mixed."""

    def __init__(self, roots: str | Path | Sequence[str | Path]):
        roots = [roots] if isinstance(roots, str | Path) else list(roots)
        if not roots:
            raise ShardError("no data directory given")
        self.roots = [Path(r) for r in roots]
        self.root = self.roots[0]
        self._index: list[tuple[Path, dict]] = []
        features = {}
        for root in self.roots:
            if not root.is_dir():
                raise ShardError(f"{root}: no such data directory")
            idx = complete_shards(root)
            if not idx:
                raise ShardError(f"{root}: no complete shards (run `microturn synth` first)")
            if (root / "config.json").exists():
                c = json.loads((root / "config.json").read_text())
                features[root] = (c.get("grid"), c.get("mel"))
            for p in idx:
                d = json.loads(p.read_text())
                if d.get("version") != SHARD_VERSION:
                    raise ShardError(f"{p}: shard version {d.get('version')}, want {SHARD_VERSION}")
                self._index += [(p.with_suffix(".bin"), e) for e in d["samples"]]
        if len(set(map(json.dumps, features.values()))) > 1:
            raise ShardError(
                "data directories made with different grid/mel settings: "
                + ", ".join(str(r) for r in features)
            )
        self._maps: dict[Path, np.memmap] = {}

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, i: int) -> Sample:
        path, e = self._index[i]
        if path not in self._maps:
            self._maps[path] = np.memmap(path, dtype=np.uint8, mode="r")
        buf = self._maps[path]
        arrays = {}
        for name, (off, dt, shape) in e["arrays"].items():
            dt = np.dtype(dt)
            n = int(np.prod(shape)) * dt.itemsize
            if off + n > len(buf):
                raise ShardError(f"{path}: truncated (array {name!r} runs past the end)")
            arrays[name] = buf[off : off + n].view(dt).reshape(shape)
        return Sample(Timeline.from_dict(e["timeline"]), arrays)

    def timeline(self, i: int) -> Timeline:
        return Timeline.from_dict(self._index[i][1]["timeline"])

    def info(self, i: int) -> SampleInfo:
        """Sample i's identity and size from the index alone (cheap: no arrays, no events)."""
        e = self._index[i][1]
        t = e["timeline"]
        frames = e["arrays"]["user_dmel"][2][0]
        return SampleInfo(
            t["id"], t["family"], t["condition"], bool(t["act"]), t["duration"], frames
        )

    def where(self, family: str | None = None, act: bool | None = None) -> list[int]:
        """The indices, in order, of the samples of `family` on side `act` (None: any)."""
        out = []
        for i in range(len(self)):
            s = self.info(i)
            if (family is None or s.family == family) and (act is None or s.act == act):
                out.append(i)
        return out


def read_sample(ref: str) -> Sample:
    """The sample a reference `DATA_DIR#INDEX` names."""
    d, i = ref.rsplit("#", 1)
    return ShardReader(d)[int(i)]
