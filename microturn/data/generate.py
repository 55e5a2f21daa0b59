"""`microturn synth`: scenarios -> rendered audio -> features on the grid -> shards.

The schedule is a deterministic list: item j of a split is (family, condition, seed j), so
shard i always holds the same scenarios and a killed job resumes by skipping the shards that
are complete. Train is sized in hours (the first shards whose total reaches the target);
dev/test in scenarios per condition. Workers are processes (libespeak-ng is process-global).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microturn.config import Config
from microturn.data.align import word_stream
from microturn.data.families import FAMILIES, conditions, make_scenario
from microturn.data.render import render
from microturn.data.shards import Sample, ShardWriter, is_complete, shard_name, shard_totals

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Job:
    split: str
    out: str
    config: dict
    per_shard: int = 32
    audio: bool = False  # keep the int16 waveforms too (dev/test: the benchmark needs them)
    per_condition: int = 0  # > 0: a fixed-size split, n scenarios per (family, condition)
    families: tuple[str, ...] = tuple(FAMILIES)
    qa_topics: tuple[str, ...] = ()  # QA questions of these cores only (empty: all)


def schedule(job: Job, j: int) -> tuple[str, str]:
    """(family, condition) of item j: families round-robin, act/hold alternating within."""
    if job.per_condition:
        pairs = [(f, c) for f in job.families for c, _ in conditions(f)]
        return pairs[j // job.per_condition]
    fam = job.families[j % len(job.families)]
    k = j // len(job.families)
    f = FAMILIES[fam]
    side = f.act if k % 2 == 0 else f.hold
    return fam, side[(k // 2) % len(side)]


def n_items(job: Job) -> int | None:
    if not job.per_condition:
        return None
    return job.per_condition * sum(len(conditions(f)) for f in job.families)


def featurize(tl, cfg: Config, audio: bool) -> Sample:
    """Render a timeline and compute its grid-aligned arrays (whole chunks, zero-padded)."""
    import torch

    from microturn.audio import to_int16
    from microturn.grid import Grid
    from microturn.voice.mel import MelAnalyzer

    r = render(tl)
    grid, mel = Grid(cfg.grid), MelAnalyzer(cfg)
    n = grid.pad_to_chunks(len(r.user))
    user = np.zeros(n, np.float32)
    model = np.zeros(n, np.float32)
    user[: len(r.user)], model[: len(r.model)] = r.user, r.model
    with torch.no_grad():
        u = mel.frames(torch.from_numpy(user))
        m = mel.frames(torch.from_numpy(model))
    arrays = {
        "user_dmel": mel.quantize(u).numpy(),
        "model_dmel": mel.quantize(m).numpy(),
        "model_mel": m.numpy().astype(np.float16),
    }
    n_pos = n // grid.samples_per_chunk * grid.positions_per_chunk
    tl.meta["streams"] = {  # words on the grid (the model issue tokenizes them)
        ch: [[x.pos, x.word, x.lag] for x in word_stream(tl, ch, grid, n_pos)]
        for ch in ("user", "model")
    }
    if audio:
        arrays["user_audio"] = to_int16(user)
        arrays["model_audio"] = to_int16(model)
    if r.video is not None:
        arrays["video"] = r.video
    return Sample(tl, arrays)


def make_shard(job: Job, i: int) -> tuple[int, float, int]:
    """Build shard i (skipped if complete). Returns (i, seconds of audio, scenarios)."""
    path = Path(job.out) / shard_name(i)
    if is_complete(path):
        return i, *shard_totals(path)
    import torch

    torch.set_num_threads(1)
    cfg = Config.from_dict(job.config)
    w = ShardWriter(path)
    total, count = 0.0, 0
    limit = n_items(job)
    for j in range(i * job.per_shard, (i + 1) * job.per_shard):
        if limit is not None and j >= limit:
            break
        fam, cond = schedule(job, j)
        tl = make_scenario(fam, cond, job.split, seed=j, qa_topics=job.qa_topics)
        w.add(featurize(tl, cfg, job.audio))
        total += tl.duration
        count += 1
    w.close()
    return i, total, count


def run(
    job: Job, hours: float = 0.0, workers: int = 2, progress: bool = True, first: int = 0
) -> dict:
    """Make shards until `hours` of audio (train) or all items (per_condition) exist.

    `first` (train only) numbers the shards from there: a shard's scenarios are seeded by
    their item indices, so a set made from a shard no other set reached holds new scenarios
    (a second train set beside the first, e.g. more of one family)."""
    import multiprocessing as mp

    from tqdm import tqdm

    out = Path(job.out)
    out.mkdir(parents=True, exist_ok=True)
    Config.from_dict(job.config).save(out / "config.json")
    limit = n_items(job)
    if first and limit is not None:
        raise ValueError("first shard > 0 is for train splits (dev/test items count from 0)")
    target = hours * 3600 if limit is None else None
    if limit is not None:
        n_shards = -(-limit // job.per_shard)
    else:  # an upper bound: no scenario is shorter than 4 s on average
        n_shards = int(target // (job.per_shard * 4.0)) + 2
    t0 = time.time()
    done: dict[int, tuple[float, int]] = {}
    bar = tqdm(
        total=round(target / 3600, 2) if target else n_shards,
        disable=not progress,
        unit="h" if target else "shard",
        desc=f"synth {job.split}",
    )

    def reached() -> int | None:
        """Smallest K such that shards 0..K-1 are done and reach the target."""
        acc = 0.0
        for k in range(n_shards):
            if k not in done:
                return None
            acc += done[k][0]
            if target is not None and acc >= target:
                return k + 1
        return n_shards

    ctx = mp.get_context("spawn" if workers > 1 else "fork")
    keep = None
    with ctx.Pool(workers) if workers > 1 else _Serial() as pool:
        for i, secs, cnt in pool.imap(_Call(job), range(first, first + n_shards)):
            done[i - first] = (secs, cnt)
            bar.update(round(secs / 3600, 4) if target else 1)
            keep = reached()
            if keep is not None:
                break
        if workers > 1:
            pool.terminate()
    bar.close()
    if keep is None:
        raise RuntimeError(f"{job.split}: ran out of shards before reaching {hours} h")
    for p in out.glob("shard-*.*"):  # shards past the target (from parallel overshoot)
        if int(p.name.split("-")[1].split(".")[0]) >= first + keep:
            p.unlink()
    secs = sum(done[k][0] for k in range(keep))
    manifest = {
        "version": MANIFEST_VERSION,
        "split": job.split,
        "shards": [shard_name(first + k) for k in range(keep)],
        "scenarios": sum(done[k][1] for k in range(keep)),
        "hours": round(secs / 3600, 4),
        "per_condition": job.per_condition,
        "families": list(job.families),
        "qa_topics": list(job.qa_topics),
        "audio": job.audio,
        "wall_s": round(time.time() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


class _Call:
    def __init__(self, job: Job):
        self.job = job

    def __call__(self, i: int):
        try:
            return make_shard(self.job, i)
        except StopIteration as e:  # would silently end the caller's for-loop over imap
            raise RuntimeError(f"shard {i}: generator exhausted ({e!r})") from e


class _Serial:
    """A stand-in for a one-worker pool that runs in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def imap(self, f, it):
        return map(f, it)
