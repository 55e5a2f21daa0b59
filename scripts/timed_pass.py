"""A time-boxed training pass, for a machine lent or rented by the minute: synthesize fresh
scenarios on every core until one deadline, fine-tune on them until a second, export in bf16.

    python -m scripts.timed_pass --init checkpoints/small-turn --out runs/pass \\
        --synth-s 270 --end-s 535 --steps 1800 --batch-size 64 --workers 15 --loaders 14 \\
        --set lr=1e-3 --set warmup=100 --set transcript_weight=1.0 --set augment=1 \\
        --set listen_weight=1.0

Deadlines count from the start. Fresh means never trained on: item j of a train split is
always the same scenario, so shards numbered past those earlier runs used hold new ones.
`--turn-from` and `--all-from` give the first turn-family and all-family shard; three turn
shards are made for each general one (the turn-taking decision is what the extra data is
for). The shards finished by the synth deadline are used and the rest dropped. Training that
outlives `--end-s` is killed as by `kill -9`; the last checkpoint (every `ckpt_every` steps)
is exported instead of the final model. A bf16 copy of the checkpoint at half the steps goes
to OUT/half, to tell whether the second half paid.

Writes OUT/data/{dev,turn,all}, OUT/run (the training run), OUT/model, OUT/half and
OUT/pass.json (data sizes, how training ended, the step exported).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from microturn.train import checkpoint_dir
from scripts.export_checkpoint import export


def _shard(task):
    from microturn.data.generate import make_shard

    job, i = task
    return make_shard(job, i)


def synth(out: Path, preset_name: str, deadline: float, args) -> dict:
    """Dev shards first (all of them, whatever the deadline), then turn and general train
    shards until the deadline. Returns {split: (shards, scenarios, hours)}."""
    from microturn.config import Config, preset
    from microturn.data.families import FAMILIES
    from microturn.data.generate import Job, n_items

    cfg = preset(preset_name).to_dict()
    per = args.per_shard
    dev = Job("dev", str(out / "dev"), cfg, per, False, args.dev_per_condition, tuple(FAMILIES))
    turn = Job("train", str(out / "turn"), cfg, per, False, 0, ("turn",))
    general = Job("train", str(out / "all"), cfg, per, False, 0, tuple(FAMILIES))
    for j in (dev, turn, general):
        Path(j.out).mkdir(parents=True, exist_ok=True)
        Config.from_dict(j.config).save(Path(j.out) / "config.json")
    n_dev = -(-n_items(dev) // per)
    train_tasks = [  # a list: the pool's feeder thread would drain a generator at once
        t
        for k in range(args.max_rounds)
        for t in [(turn, args.turn_from + 3 * k + r) for r in range(3)]
        + [(general, args.all_from + k)]
    ]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        list(pool.imap(_shard, [(dev, i) for i in range(n_dev)]))  # the curves need all of dev
        it = pool.imap(_shard, train_tasks)
        while (left := deadline - time.time()) > 0:
            try:
                it.next(timeout=left)
            except mp.TimeoutError:
                break
        pool.terminate()  # unfinished shards have no .json: readers skip them
    sizes = {}
    for k in ("dev", "turn", "all"):
        idx = sorted((out / k).glob("shard-*.json"))
        samples = [e for p in idx for e in json.loads(p.read_text())["samples"]]
        hours = sum(e["timeline"]["duration"] for e in samples) / 3600
        sizes[k] = (len(idx), len(samples), round(hours, 2))
    return sizes


def train(data: Path, run: Path, deadline: float, args, log) -> dict:
    """Fine-tune in a child process; kill it at the deadline. Returns how it ended."""
    dirs = [str(data / k) for k in ("all", "turn") if any((data / k).glob("shard-*.json"))]
    cmd = [
        sys.executable, "-m", "microturn.train", "--preset", args.preset, "--data", *dirs,
        "--dev", str(data / "dev"), "--out", str(run), "--batch-size", str(args.batch_size),
        "--workers", str(args.loaders), "--steps", str(args.steps), "--quiet",
        *(["--init", args.init] if args.init else []),
        *(x for kv in args.set for x in ("--set", kv)),
    ]  # fmt: skip
    with open(run.parent / "train.log", "w") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        half = None
        while p.poll() is None:
            if time.time() > deadline:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                break
            if half is None:
                half = _snapshot_half(run, args.steps // 2, run.parent / "half")
                if half is not None:
                    log(f"half-way snapshot at step {half}")
            time.sleep(1)
    killed = p.returncode == -signal.SIGKILL
    if p.returncode not in (0, -signal.SIGKILL):
        raise SystemExit(f"timed_pass: training failed (rc {p.returncode}); see train.log")
    src = run / "model"
    if killed or not (src / "model.safetensors").exists():
        ck = checkpoint_dir(run)
        if ck is None:
            raise SystemExit("timed_pass: training was stopped before its first checkpoint")
        src, step = ck / "model", json.loads((ck / "state.json").read_text())["step"]
    else:
        step = args.steps
    export(src, run.parent / "model")
    return {"killed_at_deadline": killed, "step": step, "half_step": half}


def _snapshot_half(run: Path, at: int, dst: Path) -> int | None:
    """Export the checkpoint once it has reached step `at` (None until then, or mid-save)."""
    d = checkpoint_dir(run)
    try:
        if d is None or (step := json.loads((d / "state.json").read_text())["step"]) < at:
            return None
        tmp = run.parent / "half.src"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(d / "model", tmp)
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None  # not saved yet, or caught between the checkpoint's two renames
    export(tmp, dst)
    shutil.rmtree(tmp)
    return step


def main(argv: list[str] | None = None) -> None:
    t0 = time.time()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--init", default=None, help="a save_pretrained model to start from")
    p.add_argument("--preset", default="small")
    p.add_argument("--synth-s", type=float, required=True, help="synth deadline (s from start)")
    p.add_argument("--end-s", type=float, required=True, help="training deadline (s from start)")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    p.add_argument("--loaders", type=int, default=0, help="DataLoader processes for training")
    p.add_argument("--turn-from", type=int, default=1000)
    p.add_argument("--all-from", type=int, default=2000)
    p.add_argument("--dev-per-condition", type=int, default=2)
    p.add_argument("--per-shard", type=int, default=32)
    p.add_argument("--max-rounds", type=int, default=4000, help="at most 3x turn + 1x general")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = p.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"timed_pass: {args.out} is not empty (a pass starts fresh)")

    def log(msg: str) -> None:
        print(f"[{time.time() - t0:6.1f} s] {msg}", flush=True)

    sizes = synth(args.out / "data", args.preset, t0 + args.synth_s, args)
    log(f"synth: (shards, scenarios, hours) {sizes}")
    if not sizes["turn"][0] and not sizes["all"][0]:
        raise SystemExit("timed_pass: no train shard finished before the synth deadline")
    ended = train(args.out / "data", args.out / "run", t0 + args.end_s, args, log)
    log(f"train: {ended}")
    summary = {"data": sizes, **ended, "wall_s": round(time.time() - t0, 1)}
    (args.out / "pass.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
