"""A run's resumable checkpoint, `RUN/ckpt/`: weights, optimizer moments, step, the data
cursor and the RNG states, as safetensors + JSON (no pickle). Written to a temp dir and
renamed, so a run killed at any moment leaves a complete one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from microturn.config import Config
from microturn.train.loader import Loader

CKPT_VERSION = 1


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


def checkpoint_step(d: Path) -> int:
    """The training step a checkpoint directory was saved at (from its `state.json`)."""
    return json.loads((d / "state.json").read_text())["step"]


def load_checkpoint(run: Path, model, opt, loader: Loader, gen: torch.Generator) -> int:
    """Restore the latest checkpoint into these objects; returns its step."""
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
