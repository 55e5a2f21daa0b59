"""Training: a plain loop, single process or `torchrun` data-parallel (gloo on CPU, NCCL on GPU).

    microturn train --preset small --data data/train --dev data/dev --out runs/small
    torchrun --nproc_per_node 2 -m microturn.train --preset tiny --data ... --out ...

AdamW, linear warmup + cosine to min_lr, grad clipping, bf16 autocast (losses in fp32).
Losses: text CE at output positions (pad targets down-weighted, turn-taking decision positions
up-weighted: `layout.decide`; silence under the user's words: `layout.listen`, `listen_weight`),
flow-matching loss on the next slot's mel at output positions, transcript CE at input
positions, MoE balance. With `augment` > 0 the train loader perturbs each sample's user dMel
(`data/augment.py`).

Every term is a *global* mean: each rank sums its share, token counts are all-reduced, so two
ranks with half the batch each give the same gradient as one process with all of it.

Checkpoints (`RUN/ckpt/`) hold weights, optimizer moments, step, the data cursor and every RNG
state, as safetensors + JSON (no pickle), written to a temp dir and renamed: a run killed with
`kill -9` resumes from the last one and continues the same trajectory.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from microturn.config import Config, preset
from microturn.data.augment import augment_dmel
from microturn.data.layout import IGNORE, Batch, collate, layout
from microturn.data.shards import ShardReader
from microturn.grid import Grid
from microturn.model import InteractionModel, ModelInput
from microturn.tokenizer import PAD, Tokenizer

CKPT_VERSION = 1


# --- data -------------------------------------------------------------------------------------
class Loader:
    """Global batches of `batch_size` sequences in a seeded order, epoch after epoch.

    Each epoch shuffles the samples (those of a family in `oversample` repeated), then sorts
    each window of 16 batches by length so a batch holds similar lengths (little padding). A
    sample longer than `max_chunks` is cut to a window whose start is drawn from (seed, epoch,
    sample), so long conversations are seen whole over the epochs. The cursor (epoch, batch)
    is the whole state.
    """

    def __init__(self, reader: ShardReader, cfg: Config, tok: Tokenizer, seed: int):
        self.r, self.cfg, self.tok, self.seed = reader, cfg, tok, seed
        self.grid = Grid(cfg.grid)
        self.lengths = np.array(
            [reader.index[i][1]["arrays"]["user_dmel"][2][0] for i in range(len(reader))]
        )
        fams = [reader.index[i][1]["timeline"]["family"] for i in range(len(reader))]
        over = cfg.train.oversampling()
        missing = set(over) - set(fams)
        if missing:
            raise ValueError(f"oversample names families the data does not have: {missing}")
        self.repeats = np.array([over.get(f, 1) for f in fams])
        self.epoch, self.cursor = 0, 0
        self._order = self._plan(0)
        self.workers = 0  # > 0: collate in that many DataLoader processes (see `next`)
        self.augment = 0.0  # user-dMel augmentation strength; the train loader sets it
        self._stream = None  # their iterator, (rank, world, iterator), made on first use

    def _plan(self, epoch: int) -> list[list[int]]:
        bs = self.cfg.train.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(np.repeat(np.arange(len(self.r)), self.repeats))
        win = bs * 16
        batches = []
        for a in range(0, len(perm) - bs + 1, win):
            w = perm[a : a + win]
            w = w[np.argsort(self.lengths[w], kind="stable")]
            batches += [list(w[i : i + bs]) for i in range(0, len(w) - bs + 1, bs)]
        rng.shuffle(batches)
        if not batches:
            raise ValueError(f"{len(self.r)} samples cannot fill a batch of {bs}")
        return batches

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor, "seed": self.seed}

    def load_state_dict(self, d: dict) -> None:
        self.seed, self.epoch, self.cursor = d["seed"], d["epoch"], d["cursor"]
        self._order = self._plan(self.epoch)
        self._stream = None

    def next(self, rank: int = 0, world: int = 1) -> Batch:
        """This rank's share (every world-th sequence) of the next global batch.

        With `workers` > 0 the batches are collated ahead, in order, by DataLoader processes
        (a GPU eats them faster than one core lays them out); they are the same batches."""
        if self.cursor >= len(self._order):
            self.epoch, self.cursor = self.epoch + 1, 0
            self._order = self._plan(self.epoch)
        key = (self.epoch, self.cursor)
        self.cursor += 1
        if self.workers <= 0:
            return self.collate(self._order[key[1]][rank::world], key[0])
        if self._stream is None or self._stream[:2] != (rank, world):
            self._stream = (rank, world, iter(self._dataloader(key, rank, world)))
        got, b = next(self._stream[2])
        assert tuple(got) == key, f"prefetched batch {got} out of step with the cursor {key}"
        return b

    def _dataloader(self, start: tuple[int, int], rank: int, world: int):
        from torch.utils.data import DataLoader

        return DataLoader(
            _Batches(self, rank, world),
            sampler=_Keys(self, start),
            batch_size=None,
            num_workers=self.workers,
            pin_memory=torch.cuda.is_available(),
            prefetch_factor=4,
        )

    def collate(self, idx: list[int], epoch: int | None = None) -> Batch:
        t = self.cfg.train
        epoch = self.epoch if epoch is None else epoch
        items = []
        for i in idx:
            s = self.r[i]
            arrays = s.arrays
            if self.augment > 0:
                rng = np.random.default_rng([self.seed, epoch, int(i), 1])
                user = augment_dmel(arrays["user_dmel"], rng, self.augment, self.cfg.mel.bins)
                arrays = {**arrays, "user_dmel": user}
            items.append(
                layout(
                    s.timeline,
                    arrays,
                    self.tok,
                    self.grid,
                    t.text_lead,
                    t.transcript_lag,
                    t.max_chunks,
                    self.start_chunk(int(i), epoch),
                    t.decide_s,
                )
            )
        return collate(items)

    def start_chunk(self, i: int, epoch: int) -> int:
        extra = int(self.lengths[i]) // self.grid.frames_per_chunk - self.cfg.train.max_chunks
        if extra <= 0 or not self.cfg.train.random_crop:
            return 0
        return int(np.random.default_rng([self.seed, epoch, i]).integers(0, extra + 1))


class _Keys:
    """(epoch, batch) keys from a cursor on, epoch after epoch, for the DataLoader."""

    def __init__(self, loader: Loader, start: tuple[int, int]):
        self.loader, self.start = loader, start

    def __iter__(self):
        epoch, cursor = self.start
        while True:
            n = len(self.loader._plan(epoch))
            yield from ((epoch, c) for c in range(cursor, n))
            epoch, cursor = epoch + 1, 0


class _Batches:
    """Batch `(epoch, cursor)` of a loader (this rank's share), collated in a worker process."""

    def __init__(self, loader: Loader, rank: int, world: int):
        self.loader, self.rank, self.world = loader, rank, world
        self._plans: dict[int, list[list[int]]] = {}

    def __getitem__(self, key: tuple[int, int]) -> tuple[tuple[int, int], Batch]:
        epoch, cursor = key
        if epoch not in self._plans:
            self._plans = {epoch: self.loader._plan(epoch)}  # one epoch's plan at a time
        idx = self._plans[epoch][cursor][self.rank :: self.world]
        return key, self.loader.collate(idx, epoch)


def to_device(b: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return b
    return b.apply(lambda x: x.to(device, non_blocking=True))


@functools.cache
def bf16_fast(device_type: str) -> bool:
    """Whether bf16 autocast pays here: a GPU with bf16, or a CPU with native bf16 arithmetic
    (AVX512-BF16 / AMX: ~2.6x faster than fp32). On an AVX2-only CPU bf16 is emulated and ~30x
    *slower* than fp32 (measured on a 2-core AMD EPYC), so `bf16=True` falls back to fp32."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device_type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def autocast(device_type: str, t) -> torch.autocast:
    """bf16 autocast when `t.bf16` asks for it and it is native here (`bf16_fast`)."""
    return torch.autocast(device_type, torch.bfloat16, enabled=t.bf16 and bf16_fast(device_type))


def model_input(b: Batch) -> ModelInput:
    patches = None if b.patches is None else b.patches.float() / 255.0
    return ModelInput(
        dmel=b.dmel,
        dmel_mask=b.valid,
        text=b.text,
        kind=b.kind,
        pos=b.pos,
        patches=patches,
        patch_mask=b.patch_mask if patches is not None else None,
    )


# --- losses -------------------------------------------------------------------------------------
@dataclass
class Losses:
    total: torch.Tensor
    parts: dict[str, float]


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def losses(
    model: InteractionModel, b: Batch, cfg: Config, gen: torch.Generator, distributed: bool = True
) -> Losses:
    """Global-mean losses (see the module docstring); `parts` are the per-term global means."""
    t = cfg.train
    world = _world()[1] if distributed else 1
    device = b.text.device.type
    with autocast(device, t):
        out = model(model_input(b))
    text_w = torch.where(b.text_target == PAD, t.pad_weight, 1.0) * (b.text_target != IGNORE)
    text_w = torch.where(b.decide, t.decision_weight, text_w)  # turn-taking decisions
    quiet = b.listen & (b.text_target == PAD)  # not talking over the user's words
    text_w = torch.where(quiet, t.listen_weight, text_w)
    tr_w = torch.where(b.transcript_target == PAD, t.pad_weight, 1.0) * (
        b.transcript_target != IGNORE
    )
    ce_text = F.cross_entropy(
        out.text_logits.float().transpose(1, 2), b.text_target.clamp_min(0), reduction="none"
    )
    ce_tr = F.cross_entropy(
        out.transcript_logits.float().transpose(1, 2),
        b.transcript_target.clamp_min(0),
        reduction="none",
    )
    core = model.module if hasattr(model, "module") else model
    mel = core.standardize(b.mel_target.unflatten(-1, (-1, core.n_mels)))
    flow_mean = core.flow_loss(
        out.hidden.float(), mel, b.mel_mask, n_draws=t.flow_draws, generator=gen
    )
    counts = torch.stack([text_w.sum(), tr_w.sum(), b.mel_mask.sum().float()]).detach()
    local = counts.clone()
    if world > 1:
        dist.all_reduce(counts)
    n_text, n_tr, n_mel = counts.clamp_min(1.0)
    text = (ce_text * text_w).sum() / n_text
    trans = (ce_tr * tr_w).sum() / n_tr
    flow = flow_mean * local[2] / n_mel
    total = t.text_weight * text + t.transcript_weight * trans + t.flow_weight * flow
    total = total + t.aux_weight * out.aux_loss / world
    # DDP averages gradients over ranks; scale so the sum of rank shares is the global mean
    parts = torch.stack([text, trans, flow]).detach()
    if world > 1:
        dist.all_reduce(parts)
    return Losses(
        total * world,
        {
            "text": parts[0].item(),
            "transcript": parts[1].item(),
            "flow": parts[2].item(),
            "aux": out.aux_loss.item(),
        },
    )


def lr_at(step: int, t) -> float:
    if step < t.warmup:
        return t.lr * (step + 1) / t.warmup
    p = min(1.0, (step - t.warmup) / max(1, t.steps - t.warmup))
    return t.min_lr + 0.5 * (t.lr - t.min_lr) * (1 + math.cos(math.pi * p))


@torch.no_grad()
def evaluate(model: InteractionModel, loader: Loader, idx: list[int], cfg: Config) -> dict:
    model.eval()
    gen = torch.Generator(next(model.parameters()).device).manual_seed(1234)  # same noise each time
    acc: dict[str, float] = {}
    bs = cfg.train.batch_size
    n = 0
    for a in range(0, len(idx), bs):
        b = to_device(loader.collate(idx[a : a + bs]), next(model.parameters()).device)
        ls = losses(model, b, cfg, gen, distributed=False)
        for k, v in ls.parts.items():
            acc[k] = acc.get(k, 0.0) + v
        n += 1
    model.train()
    return {f"dev_{k}": round(v / max(n, 1), 5) for k, v in acc.items()}


def mel_stats(reader: ShardReader, n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean/std of the model channel's log-mel over the first n samples."""
    xs = [reader[i].arrays["model_mel"].astype(np.float32) for i in range(min(n, len(reader)))]
    x = torch.from_numpy(np.concatenate(xs))
    return x.mean(0), x.std(0).clamp_min(1e-3)


# --- checkpoints ------------------------------------------------------------------------------
def save_checkpoint(
    run: Path, model, opt, step: int, loader: Loader, gen: torch.Generator, cfg: Config
) -> None:
    from safetensors.torch import save_file

    core = model.module if hasattr(model, "module") else model
    tmp = run / "ckpt.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    core.save_pretrained(tmp / "model")
    tensors, meta = {}, {}
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):  # by parameter index: a param without a grad yet has no state
        st = opt.state.get(p)
        if st:
            for k, v in st.items():
                tensors[f"opt.{i}.{k}"] = v.detach().cpu().clone().contiguous()
            meta[str(i)] = sorted(st)
    tensors["rng.torch"] = torch.get_rng_state()  # flow noise uses `gen`; this is for safety
    tensors["rng.flow"] = gen.get_state()
    save_file(tensors, str(tmp / "state.safetensors"))
    (tmp / "state.json").write_text(
        json.dumps(
            {
                "version": CKPT_VERSION,
                "step": step,
                "loader": loader.state_dict(),
                "opt_keys": meta,
                "lr": opt.param_groups[0]["lr"],
                "config": cfg.to_dict(),
            }
        )
    )
    final = run / "ckpt"
    old = run / "ckpt.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def checkpoint_dir(run: Path) -> Path | None:
    """The run's latest complete checkpoint: `ckpt`, or `ckpt.old` if the run was killed
    between the two renames of `save_checkpoint`; None before the first."""
    for d in (run / "ckpt", run / "ckpt.old"):
        if d.exists():
            return d
    return None


def load_checkpoint(run: Path, model, opt, loader: Loader, gen: torch.Generator) -> int:
    from safetensors.torch import load_file, load_model

    d = checkpoint_dir(run)
    st = json.loads((d / "state.json").read_text())
    if st["version"] != CKPT_VERSION:
        raise ValueError(f"{d}: checkpoint version {st['version']}, want {CKPT_VERSION}")
    core = model.module if hasattr(model, "module") else model
    load_model(core, str(d / "model" / "model.safetensors"), strict=True)
    tensors = load_file(str(d / "state.safetensors"))
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, keys in st["opt_keys"].items():
        p = params[int(i)]
        opt.state[p] = {k: tensors[f"opt.{i}.{k}"].to(p.device) for k in keys}
    torch.set_rng_state(tensors["rng.torch"])
    gen.set_state(tensors["rng.flow"])
    loader.load_state_dict(st["loader"])
    return st["step"]


# --- the loop -----------------------------------------------------------------------------------
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

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = _world()
    t = cfg.train
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(t.seed)
    tok = Tokenizer()
    reader = ShardReader(data)
    loader = Loader(reader, cfg, tok, t.seed)
    loader.workers = workers
    loader.augment = t.augment  # the train loader only; dev is scored as recorded
    device = torch.device("cpu")
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    model = InteractionModel(cfg)
    if init:
        base = InteractionModel.from_pretrained(init)
        if base.cfg.model != cfg.model:
            raise ValueError(f"--init {init}: its model config differs from preset {cfg.name!r}")
        model.load_state_dict(base.state_dict())
    else:
        mean, std = mel_stats(reader)
        model.mel_mean.copy_(mean)
        model.mel_std.copy_(std)
    model.to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": t.weight_decay}, {"params": other, "weight_decay": 0.0}],
        lr=t.lr,
        betas=(0.9, 0.95),
        fused=False,
    )
    gen = torch.Generator(device).manual_seed(t.seed + 1000 * rank)
    step = 0
    if checkpoint_dir(run) is not None:
        step = load_checkpoint(run, model, opt, loader, gen)
        if rank == 0 and (run / "metrics.jsonl").exists():  # drop lines past the checkpoint
            rows = (run / "metrics.jsonl").read_text().splitlines()
            keep = [r for r in rows if r and json.loads(r)["step"] <= step]
            (run / "metrics.jsonl").write_text("".join(r + "\n" for r in keep))
    ddp = model
    if world > 1:
        ddp = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    dev_reader = ShardReader(dev) if dev else None
    dev_loader = Loader(dev_reader, cfg, tok, 0) if dev_reader else None
    dev_idx = (
        list(range(0, len(dev_reader), max(1, len(dev_reader) // t.eval_samples)))[: t.eval_samples]
        if dev_reader
        else []
    )
    if rank == 0:
        cfg.save(run / "config.json")
    # a run killed before its first checkpoint starts over: so does its log
    log = open(run / "metrics.jsonl", "a" if step else "w") if rank == 0 else None
    bar = tqdm(total=t.steps, initial=step, disable=not progress or rank != 0, desc="train")
    last: dict = {}
    t0, tokens = time.time(), 0
    flops_per_token = model.estimate_flops(t.max_chunks * 8)
    if rank == 0 and dev_loader is not None and step == 0:  # where the run starts from (--init)
        log.write(json.dumps({"step": 0, **evaluate(model, dev_loader, dev_idx, cfg)}) + "\n")
        log.flush()
    while step < t.steps:
        b = to_device(loader.next(rank, world), device)
        lr = lr_at(step, t)
        for g in opt.param_groups:
            g["lr"] = lr
        ls = losses(ddp, b, cfg, gen)
        opt.zero_grad(set_to_none=True)
        ls.total.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip).item()
        opt.step()
        step += 1
        tokens += b.n_tokens * world
        bar.update(1)
        if rank == 0:
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
            if dev_loader is not None and (step % t.eval_every == 0 or step == t.steps):
                last.update(evaluate(model, dev_loader, dev_idx, cfg))
            log.write(json.dumps(last) + "\n")
            log.flush()
            bar.set_postfix(loss=last["loss"], tok_s=int(last["tok_s"]))
        if step % t.ckpt_every == 0 or step == t.steps:
            if rank == 0:
                save_checkpoint(run, model, opt, step, loader, gen, cfg)
            if world > 1:
                dist.barrier()
        if stop_after is not None and step >= stop_after:
            break
    bar.close()
    if rank == 0:
        model.save_pretrained(run / "model")
        plot_curves(run)
    if world > 1:
        dist.barrier()
    return last


def plot_curves(run: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x]
    if not rows:
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, k in zip(axes, ("text", "flow", "transcript"), strict=True):
        tr = [r for r in rows if k in r]  # the step-0 row holds dev losses only
        ax.plot([r["step"] for r in tr], [r[k] for r in tr], lw=0.7, label="train")
        dv = [r for r in rows if f"dev_{k}" in r]
        if dv:
            ax.plot([r["step"] for r in dv], [r[f"dev_{k}"] for r in dv], "o-", label="dev")
        ax.set_title(k)
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    fig.savefig(run / "curves.png", dpi=80)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="microturn train", description=__doc__.split("\n")[0])
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
    from dataclasses import fields, replace

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


if __name__ == "__main__":
    main()
