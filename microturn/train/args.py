"""The trainer's command line (`microturn train`, `python -m microturn.train`, and the same
under `torchrun`): flags -> a Config, then `train`."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields, replace
from pathlib import Path

import torch
import torch.distributed as dist

import microturn.train
from microturn.config import Config, preset
from microturn.train.loop import train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="microturn train", description=microturn.train.__doc__.split("\n")[0]
    )
    p.add_argument("--preset", default="small")
    p.add_argument(
        "--data", nargs="+", required=True, help="one or more data directories (train split)"
    )
    p.add_argument("--dev", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--stop-after", type=int, default=None, help="stop (as if killed) here")
    p.add_argument("--no-bf16", action="store_true")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a TrainConfig field, e.g. --set ckpt_every=10 (repeatable)",
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--workers", type=int, default=0, help="processes collating batches ahead (GPU runs)"
    )
    p.add_argument("--init", default=None, help="start from a save_pretrained model's weights")
    p.add_argument("--quiet", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    cfg = preset(args.preset)
    t = cfg.train
    if args.steps is not None:
        t = replace(t, steps=args.steps, warmup=min(t.warmup, max(0, args.steps - 1)))
    if args.batch_size is not None:
        t = replace(t, batch_size=args.batch_size)
    if args.no_bf16:
        t = replace(t, bf16=False)
    kinds = {f.name: type(getattr(t, f.name)) for f in fields(t)}
    sets = {}
    for kv in args.set:
        k, _, v = kv.partition("=")
        if k not in kinds:
            raise SystemExit(
                f"microturn train: error: unknown train field {k!r}; known: {', '.join(kinds)}"
            )
        sets[k] = v.lower() in ("1", "true", "yes") if kinds[k] is bool else kinds[k](v)
    # checked together: `--set lr=1e-4 --set min_lr=1e-5` holds whatever the preset's min_lr
    return replace(cfg, train=replace(t, **sets))


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run = Path(args.out)
    cfg = config_from_args(args)
    if (run / "config.json").exists():  # a resumed run keeps its own config
        cfg = Config.load(run / "config.json")
    last = train(
        cfg, args.data, args.out, args.dev, args.stop_after, not args.quiet, args.init, args.workers
    )
    if last:
        print(json.dumps(last))
    if dist.is_initialized():
        dist.destroy_process_group()
