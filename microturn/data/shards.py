"""The shard format: raw arrays in a .bin file, described by a JSON index written last.

    DIR/config.json             the Config the features were made with
    DIR/manifest.json           format version, split, shard list, totals (written at the end)
    DIR/shard-00007.bin         sample arrays, back to back, 64-byte aligned
    DIR/shard-00007.json        per sample: the timeline, and {array: [offset, dtype, shape]}

A shard is complete exactly when its .json exists (written to a temp name, then renamed), so a
killed job leaves at most one partial .bin that the next run overwrites. Reading memory-maps
the .bin: no copies, no pickle.
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
        self.index: list[tuple[Path, dict]] = []
        features = {}
        for root in self.roots:
            if not root.is_dir():
                raise ShardError(f"{root}: no such data directory")
            idx = sorted(root.glob("shard-*.json"))
            if not idx:
                raise ShardError(f"{root}: no complete shards (run `microturn synth` first)")
            if (root / "config.json").exists():
                c = json.loads((root / "config.json").read_text())
                features[root] = (c.get("grid"), c.get("mel"))
            for p in idx:
                d = json.loads(p.read_text())
                if d.get("version") != SHARD_VERSION:
                    raise ShardError(f"{p}: shard version {d.get('version')}, want {SHARD_VERSION}")
                self.index += [(p.with_suffix(".bin"), e) for e in d["samples"]]
        if len(set(map(json.dumps, features.values()))) > 1:
            raise ShardError(
                "data directories made with different grid/mel settings: "
                + ", ".join(str(r) for r in features)
            )
        self._maps: dict[Path, np.memmap] = {}

    def __len__(self) -> int:
        return len(self.index)

    def timeline(self, i: int) -> Timeline:
        return Timeline.from_dict(self.index[i][1]["timeline"])

    def __getitem__(self, i: int) -> Sample:
        path, e = self.index[i]
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
