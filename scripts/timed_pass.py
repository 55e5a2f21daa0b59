"""A time-boxed training pass, for a machine lent or rented by the minute: synthesize fresh
scenarios on every core until one deadline, fine-tune on them until a second, export in bf16.

    python -m scripts.timed_pass --init checkpoints/small --out runs/pass \\
        --synth-s 230 --end-s 500 --steps 1200 --batch-size 64 --workers 15 --loaders 7 \\
        --set lr=1e-3 --set warmup=100 --set transcript_weight=1.0 --set augment=1 \\
        --set listen_weight=1.0 --variant low:lr=3e-4 --variant low:min_lr=3e-5

Deadlines count from the start. Fresh means never trained on: item j of a train split is
always the same scenario, so shards numbered past those earlier runs used hold new ones.
`--turn-from` and `--all-from` give the first turn-family and all-family shard; three turn
shards are made for each general one (the turn-taking decision is what the extra data is
for). The shards finished by the synth deadline are used and the rest dropped. Training that
outlives `--end-s` is killed as by `kill -9`; the last checkpoint (every `ckpt_every` steps)
is exported instead of the final model. A bf16 copy of the checkpoint at half the steps goes
to OUT/half, to tell whether the second half paid. `--variant NAME:FIELD=VALUE` fine-tunes a
second model on the same data at the same time (say, another learning rate), in OUT/NAME:
the small presets leave most of a large GPU idle, so two runs side by side cost little more
wall time than one, and dev can choose between them.

Writes OUT/data/{dev,turn,all}, OUT/run (the training run), OUT/model, OUT/half,
OUT/NAME/{run,model,half} per variant and OUT/pass.json (data sizes, how each run ended,
the step exported).
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

from microturn.config import ConfigError
from microturn.data.shards import ShardReader, complete_shards
from microturn.train.args import build_parser, config_from_args
from microturn.train.checkpoint import checkpoint_dir, checkpoint_step
from microturn.train.export import export


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
        n_shards, secs = len(complete_shards(out / k)), []
        if n_shards:
            r = ShardReader(out / k)
            secs = [r.info(i).duration for i in range(len(r))]
        sizes[k] = (n_shards, len(secs), round(sum(secs) / 3600, 2))
    return sizes


def train(data: Path, out: Path, deadline: float, args, log) -> dict:
    """Fine-tune each variant in its own child process, all at once on the one device (a
    small model leaves most of a big GPU idle); kill those still running at the deadline.
    The first (unnamed, "") variant lives in OUT, variant NAME in OUT/NAME. Returns how each
    ended, the first's at the top level."""
    dirs = [str(data / k) for k in ("all", "turn") if complete_shards(data / k)]
    procs, logs, half = {}, {}, {}
    for name, sets in variants(args).items():
        root = out / name
        root.mkdir(parents=True, exist_ok=True)
        logs[name] = open(root / "train.log", "w")
        argv = train_argv(args, dirs, data / "dev", root, sets)
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "microturn.train", *argv],
            stdout=logs[name], stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        half[name] = None
    while running := [n for n, p in procs.items() if p.poll() is None]:
        for name in running:
            root = out / name
            if time.time() > deadline:
                os.killpg(procs[name].pid, signal.SIGKILL)
                procs[name].wait()
            elif half[name] is None:
                half[name] = _snapshot_half(root / "run", args.steps // 2, root / "half")
                if half[name] is not None:
                    log(f"{name or 'main'}: half-way snapshot at step {half[name]}")
        time.sleep(1)
    ended = {}
    for name, p in procs.items():
        logs[name].close()
        try:  # one run's failure loses none of the others
            ended[name] = _export(out / name, p.returncode, half[name], args.steps)
        except SystemExit as e:
            ended[name] = {"error": str(e)}
    first = ended.pop("")
    return {**first, **({"variants": ended} if ended else {})}


def train_argv(args, data: list[str], dev: Path, root: Path, sets: list[str]) -> list[str]:
    """`microturn.train`'s arguments for the run in ROOT/run with these --set values."""
    return [
        "--preset", args.preset, "--data", *data, "--dev", str(dev),
        "--out", str(root / "run"), "--batch-size", str(args.batch_size),
        "--workers", str(args.loaders), "--steps", str(args.steps), "--quiet",
        *(["--init", args.init] if args.init else []),
        *(x for kv in sets for x in ("--set", kv)),
    ]  # fmt: skip


def _export(root: Path, rc: int, half: int | None, steps: int) -> dict:
    """Export a run's final model, or its last checkpoint if it was killed."""
    killed = rc == -signal.SIGKILL
    if rc not in (0, -signal.SIGKILL):
        raise SystemExit(f"timed_pass: training failed (rc {rc}); see {root / 'train.log'}")
    run = root / "run"
    src = run / "model"
    if killed or not (src / "model.safetensors").exists():
        ck = checkpoint_dir(run)
        if ck is None:
            raise SystemExit("timed_pass: training was stopped before its first checkpoint")
        src, step = ck / "model", checkpoint_step(ck)
    else:
        step = steps
    export(src, root / "model")
    return {"killed_at_deadline": killed, "step": step, "half_step": half}


def _snapshot_half(run: Path, at: int, dst: Path) -> int | None:
    """Export the checkpoint once it has reached step `at` (None until then, or mid-save)."""
    d = checkpoint_dir(run)
    try:
        if d is None or (step := checkpoint_step(d)) < at:
            return None
        tmp = run.parent / "half.src"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(d / "model", tmp)
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None  # not saved yet, or caught between the checkpoint's two renames
    export(tmp, dst)
    shutil.rmtree(tmp)
    return step


def variants(args) -> dict[str, list[str]]:
    """{variant name: its --set list}, the main run ("") first: --set, then its own on top."""
    out = {"": list(args.set)}
    for name, kv in args.variant:
        out.setdefault(name, list(args.set)).append(kv)
    return out


def _variant(text: str) -> tuple[str, str]:
    name, sep, kv = text.partition(":")
    if not sep or not name.isidentifier() or "=" not in kv:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:FIELD=VALUE")
    return name, kv


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
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        type=_variant,
        metavar="NAME:FIELD=VALUE",
        help="also fine-tune variant NAME side by side on the same data, with FIELD=VALUE on "
        "top of --set (repeat for more fields or variants)",
    )
    args = p.parse_args(argv)
    if taken := {"data", "run", "model", "half"} & {n for n, _ in args.variant}:
        raise SystemExit(f"timed_pass: a variant may not be named {sorted(taken)} (OUT/NAME)")
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"timed_pass: {args.out} is not empty (a pass starts fresh)")
    for name, sets in variants(args).items():  # a bad setting fails now, not after the synth
        try:
            argv_ = train_argv(args, ["-"], args.out, args.out, sets)  # paths are not read
            config_from_args(build_parser().parse_args(argv_))
        except (ValueError, ConfigError) as e:
            raise SystemExit(f"timed_pass: {name or 'the main run'}: {e}") from None

    def log(msg: str) -> None:
        print(f"[{time.time() - t0:6.1f} s] {msg}", flush=True)

    sizes = synth(args.out / "data", args.preset, t0 + args.synth_s, args)
    log(f"synth: (shards, scenarios, hours) {sizes}")
    if not sizes["turn"][0] and not sizes["all"][0]:
        raise SystemExit("timed_pass: no train shard finished before the synth deadline")
    ended = train(args.out / "data", args.out, t0 + args.end_s, args, log)
    log(f"train: {ended}")
    summary = {"data": sizes, **ended, "wall_s": round(time.time() - t0, 1)}
    (args.out / "pass.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    errors = [e["error"] for e in [ended, *ended.get("variants", {}).values()] if "error" in e]
    if errors:
        raise SystemExit("\n".join(errors))


if __name__ == "__main__":
    main()
