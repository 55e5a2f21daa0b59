"""The training loop (the package docstring says what it optimises and how it resumes)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist

from microturn.config import Config
from microturn.data.layout import Batch
from microturn.data.shards import ShardReader
from microturn.model import InteractionModel
from microturn.tokenizer import Tokenizer
from microturn.train.checkpoint import checkpoint_dir, load_checkpoint, save_checkpoint
from microturn.train.evaluate import DevSet
from microturn.train.loader import Loader, mel_stats, to_device
from microturn.train.losses import Losses, losses, rank_and_world
from microturn.train.metrics import MetricsLog, plot_curves
from microturn.train.optim import lr_at, make_optimizer, set_lr


def train(
    cfg: Config,
    data: str | list[str],
    out: str,
    dev: str | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    init: str | None = None,
    workers: int = 0,
) -> dict:
    """Train (or resume) a run in `out`; returns the last metrics line. `init`: start from a
    save_pretrained model's weights (and mel statistics) with a fresh optimizer. `workers`:
    processes that collate batches ahead (the same batches; for GPUs)."""
    from tqdm import tqdm

    rank, world = _join_ranks()
    t = cfg.train
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(t.seed)
    tok = Tokenizer()
    reader = ShardReader(data)
    loader = Loader(
        reader, cfg, tok, t.seed, workers=workers, augment=t.augment, own_noise=t.own_noise
    )
    device = _device()
    model = _initial_model(cfg, reader, init).to(device)
    teacher = _teacher(cfg, reader, init, device) if t.keep > 0 else None
    opt = make_optimizer(model, t)
    gen = torch.Generator(device).manual_seed(t.seed + 1000 * rank)
    step = load_checkpoint(run, model, opt, loader, gen) if checkpoint_dir(run) else 0
    ddp = model
    if world > 1:
        ddp = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    devset = DevSet(dev, cfg, tok) if dev else None
    log = MetricsLog(run, step) if rank == 0 else None
    if log is not None:
        cfg.save(run / "config.json")
    bar = tqdm(total=t.steps, initial=step, disable=not progress or rank != 0, desc="train")
    last: dict = {}
    t0, tokens = time.time(), 0
    flops_per_token = model.estimate_flops(t.max_chunks * 8)
    if log is not None and devset is not None and step == 0:  # where it starts from (--init)
        log.write({"step": 0, **devset.evaluate(model)})
    while step < t.steps:
        b = to_device(loader.next(rank, world), device)
        lr = lr_at(step, t)
        ls, gnorm = _update(ddp, model, opt, b, cfg, gen, lr, teacher)
        step += 1
        tokens += b.n_tokens * world
        bar.update(1)
        if log is not None:
            dt = time.time() - t0
            last = {
                "step": step,
                "lr": round(lr, 6),
                "loss": round(ls.total.item() / world, 5),
                **{k: round(v, 5) for k, v in ls.parts.items()},
                "gnorm": round(gnorm, 4),
                "tok_s": round(tokens / dt, 1),
                "time_s": round(dt, 2),  # since this process started training
            }
            last["tflops"] = round(last["tok_s"] * flops_per_token / 1e12, 4)
            if devset is not None and (step % t.eval_every == 0 or step == t.steps):
                last.update(devset.evaluate(model))
            log.write(last)
            bar.set_postfix(loss=last["loss"], tok_s=int(last["tok_s"]))
        if step % t.ckpt_every == 0 or step == t.steps:
            if rank == 0:
                save_checkpoint(run, model, opt, step, loader, gen, cfg)
            if world > 1:
                dist.barrier()
        if stop_after is not None and step >= stop_after:
            break
    bar.close()
    if log is not None:
        log.close()
        model.save_pretrained(run / "model")
        plot_curves(run)
    if world > 1:
        dist.barrier()
    return last


def _join_ranks() -> tuple[int, int]:
    """(rank, world): joins the process group first when `torchrun` started several."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return rank_and_world()


def _device() -> torch.device:
    """This rank's GPU (`LOCAL_RANK`), or the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.cuda.set_device(device)
    return device


def _initial_model(cfg: Config, reader: ShardReader, init: str | None) -> InteractionModel:
    """A fresh model with the data's mel statistics, or one with `init`'s weights."""
    model = InteractionModel(cfg)
    if init:
        base = InteractionModel.from_pretrained(init, strict=False)
        # a model without the phone stream (or without the phones ahead, or the pending
        # result) may start it: its new weights begin at zero
        grown = {k: getattr(cfg.model, k) for k in ("n_phones", "phone_ahead", "pending")}
        same = replace(base.cfg.model, **{k: v for k, v in grown.items()
                                          if getattr(base.cfg.model, k) == 0})  # fmt: skip
        if same != cfg.model:
            raise ValueError(f"--init {init}: its model config differs from preset {cfg.name!r}")
        missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
        new = ("phone_", "pending_", "copy_gate")
        assert not unexpected and all(k.startswith(new) for k in missing), missing
    else:
        mean, std = mel_stats(reader)
        model.mel_mean.copy_(mean)
        model.mel_std.copy_(std)
    return model


def _teacher(cfg: Config, reader: ShardReader, init: str | None, device) -> InteractionModel:
    """The `--init` model, frozen: `keep` holds its speak-or-pad decisions (losses.keep_term)."""
    if not init:
        raise ValueError("keep > 0 holds the --init model's decisions: give --init")
    teacher = _initial_model(cfg, reader, init).to(device).eval()
    return teacher.requires_grad_(False)


def _update(
    ddp, model, opt, b: Batch, cfg: Config, gen: torch.Generator, lr: float, teacher=None
) -> tuple[Losses, float]:
    """One optimizer step on batch `b` at learning rate `lr`: (its losses, the gradient norm
    before clipping). `ddp` is `model`, or its DistributedDataParallel wrapper; `teacher` the
    frozen `--init` model when `keep` > 0."""
    set_lr(opt, lr)
    ls = losses(ddp, b, cfg, gen, teacher=teacher)
    opt.zero_grad(set_to_none=True)
    ls.total.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip).item()
    opt.step()
    return ls, gnorm
