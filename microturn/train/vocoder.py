"""Train the learned vocoder (`voice/learned.py`) on the model voice.

The data: the model voice (espeak-ng, `data.voices.MODEL_VOICE`) saying the distinct
utterances of both sides of the data engine's train-split scenarios (each family in turn, one
scenario of each per round, from seed 10,000 on, so none of the held-out splits'), analysed
by the runtime's log-mel (`voice.mel.MelAnalyzer`). A step: `batch` random crops of `crop`
mel frames and their samples; the loss is a multi-resolution STFT loss (spectral convergence
+ log-magnitude L1, FFT sizes 512 / 1024 / 2048) plus twice the L1 distance of its output's
log-mel to the input's; AdamW at `lr` with a cosine decay to 5 % over `steps`. No
discriminator: the runs here are CPU runs.

With `--model-mels CHECKPOINT` it also learns from the interaction model's own frames
(`train/model_frames.py`): each crop comes from them with probability `--model-share`, else
from the true log-mel. `--init DIR` starts from a trained vocoder (its shape and normalisation
kept).

The run directory holds the model (`model/`, `voice.learned.VocoderNet.save`) and, every
`save_every` steps, `state.pt` (weights, optimiser, step, the random state): a killed run
started again with the same command goes on from its last save.

    microturn train-vocoder --out runs/vocoder --steps 10000        # ~30 min on 2 CPU cores
    microturn train-vocoder --out runs/vocoder-gta --init checkpoints/vocoder \
        --model-mels checkpoints/small --steps 3000 --lr 3e-4
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from microturn.config import preset
from microturn.voice.learned import VocoderConfig, VocoderNet
from microturn.voice.mel import MelAnalyzer

FIRST_SEED = 10_000  # scenario seeds of the data (the data engine's train split)
SKIP = ("visual", "interpret")  # families whose sides are not English speech throughout


def utterances(n: int, rounds: int = 900) -> list[str]:
    """Up to n distinct utterances (two words or more) of the data engine's train split."""
    from microturn.data.families import FAMILIES, make_scenario

    conds = [(f.name, c) for f in FAMILIES.values() if f.name not in SKIP for c in f.act + f.hold]
    texts: dict[str, None] = {}
    for i in range(rounds * len(conds)):
        fam, cond = conds[i % len(conds)]
        tl = make_scenario(fam, cond, "train", FIRST_SEED + i // len(conds))
        for e in tl.on("model") + tl.on("user"):
            t = e.text.strip()
            if len(t.split()) >= 2:
                texts.setdefault(t)
        if len(texts) >= n:
            break
    return list(texts)[:n]


def pairs(texts: list[str], cfg) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Each text said by the model voice -> (samples, log10 mel), padded to whole chunks."""
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth.dispatch import synthesize

    mel = MelAnalyzer(cfg)
    g = mel.grid
    audio, mels = [], []
    for t in texts:
        a = synthesize(t, MODEL_VOICE).audio.astype(np.float32)
        x = np.zeros(g.pad_to_chunks(len(a) + 4 * g.hop), np.float32)
        x[: len(a)] = a
        x = torch.from_numpy(x)
        with torch.no_grad():
            mels.append(mel.frames(x))
        audio.append(x)
    return audio, mels


def _mag(y: torch.Tensor, n: int) -> torch.Tensor:
    w = torch.hann_window(n)
    return torch.stft(y, n, n // 4, n, w, return_complex=True).abs().clamp_min(1e-5)


def loss_terms(y: torch.Tensor, target: torch.Tensor, logmel: torch.Tensor, mel: MelAnalyzer):
    """(spectral convergence, log-magnitude L1) averaged over three resolutions, log-mel L1."""
    sc = lm = 0.0
    for n in (512, 1024, 2048):
        s, sh = _mag(target, n), _mag(y, n)
        sc = sc + torch.linalg.norm(s - sh) / torch.linalg.norm(s)
        lm = lm + (s.log() - sh.log()).abs().mean()
    floor = -5.0
    m = (mel.frames(y).clamp_min(floor) - logmel.clamp_min(floor)).abs().mean()
    return sc / 3, lm / 3, m


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="microturn train-vocoder", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="the run directory (its model in OUT/model)")
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--utterances", type=int, default=3_000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=40, help="mel frames per crop")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", type=int, default=256)
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--lookahead", type=int, default=0)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init", default=None, metavar="DIR", help="start from this vocoder (its shape kept)"
    )
    p.add_argument(
        "--model-mels",
        default=None,
        metavar="CHECKPOINT",
        help="also learn from this interaction model's own frames (train/model_frames.py)",
    )
    p.add_argument(
        "--model-scenarios",
        type=int,
        default=400,
        help="train-split scenarios the model speaks for --model-mels (two spans each)",
    )
    p.add_argument(
        "--model-share",
        type=float,
        default=0.5,
        help="chance that a crop comes from the model's frames, in [0, 1]",
    )
    return p


def own_frames(out: Path, checkpoint: str, n: int, sample_rate: int):
    """The model's own frames (`train.model_frames`), made once per run directory: kept in
    OUT/model_mels.pt with what made them, and read back when a run goes on."""
    from microturn.train.model_frames import model_frames

    cache, made_by = out / "model_mels.pt", {"checkpoint": checkpoint, "scenarios": n}
    if cache.exists():
        kept = torch.load(cache)
        if kept["made_by"] != made_by:
            raise SystemExit(
                f"train-vocoder: {cache} was made by {kept['made_by']}, not {made_by}; "
                "name another --out or remove it"
            )
        return kept["audio"], kept["mels"]
    t0 = time.time()
    audio, mels = model_frames(checkpoint, n)
    torch.save({"made_by": made_by, "audio": audio, "mels": mels}, cache.with_suffix(".tmp"))
    os.replace(cache.with_suffix(".tmp"), cache)  # a run killed while saving leaves no half file
    secs = sum(len(a) for a in audio) / sample_rate
    print(f"train-vocoder: the model's own frames, {len(mels)} spans, {secs:.0f} s, made in "
          f"{time.time() - t0:.0f} s", flush=True)  # fmt: skip
    return audio, mels


def main(argv: list[str] | None = None) -> None:
    p = build_parser()
    args = p.parse_args(argv)
    if not 0 <= args.model_share <= 1:
        p.error("--model-share must be in [0, 1]")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = preset("small")
    mel = MelAnalyzer(cfg)
    out = Path(args.out)
    if args.init:
        net = VocoderNet.load(args.init).train()
        vc = net.cfg
        if vc.n_mels != cfg.mel.n_mels or vc.hop != mel.grid.hop:
            raise SystemExit(f"train-vocoder: {args.init} is not for this mel grid")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    texts = utterances(args.utterances)
    audio, mels = pairs(texts, cfg)
    hours = sum(len(a) for a in audio) / cfg.grid.sample_rate / 3600
    made = time.time() - t0
    print(f"train-vocoder: {len(texts)} utterances, {hours:.2f} h, made in {made:.0f} s")
    own_audio, own_mels = [], []
    if args.model_mels:
        sr = cfg.grid.sample_rate
        own_audio, own_mels = own_frames(out, args.model_mels, args.model_scenarios, sr)
    if not args.init:
        allm = torch.cat(mels)
        vc = VocoderConfig(cfg.mel.n_mels, mel.grid.hop, args.channels, args.blocks, args.lookahead)
        net = VocoderNet(vc)
        net.mel_mean.copy_(allm.mean(0))
        net.mel_std.copy_(allm.std(0) + 1e-3)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, betas=(0.8, 0.99), weight_decay=0.01)
    rng = np.random.default_rng(args.seed)
    step = 0
    state = out / "state.pt"
    if state.exists():
        s = torch.load(state, weights_only=False)
        net.load_state_dict(s["net"])
        opt.load_state_dict(s["opt"])
        step, rng = s["step"], s["rng"]
        print(f"train-vocoder: resumed at step {step}")
    hop, L = vc.hop, args.crop
    ok = [i for i, m in enumerate(mels) if len(m) > L]
    if not ok:
        raise SystemExit(f"train-vocoder: no utterance is longer than {L} frames")
    own_ok = [i for i, m in enumerate(own_mels) if len(m) > L]
    if args.model_mels and not own_ok:
        raise SystemExit(f"train-vocoder: no span of the model's frames is longer than {L}")
    net.train()
    t0 = time.time()
    while step < args.steps:
        mb, ab = [], []
        idx = None if own_ok else rng.choice(ok, args.batch)  # the shipped vocoder run's draws
        for k in range(args.batch):
            src_m, src_a = mels, audio
            if idx is not None:
                i = int(idx[k])
            else:  # each crop from the model's frames or the true log-mel
                own = rng.random() < args.model_share
                if own:
                    src_m, src_a = own_mels, own_audio
                i = int(rng.choice(own_ok if own else ok))
            s0 = int(rng.integers(0, len(src_m[i]) - L + 1))
            mb.append(src_m[i][s0 : s0 + L])
            ab.append(src_a[i][s0 * hop : (s0 + L) * hop])
        mb, ab = torch.stack(mb), torch.stack(ab)
        lr = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / args.steps)))
        for gp in opt.param_groups:
            gp["lr"] = lr
        sc, lm, m = loss_terms(net(mb), ab, mb, mel)
        loss = sc + lm + 2 * m
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.save_every == 0 or step == args.steps:
            print(f"step {step} ({time.time() - t0:.0f} s): spectral convergence {sc.item():.3f}"
                  f" log-magnitude {lm.item():.3f} log-mel {m.item():.3f}", flush=True)  # fmt: skip
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                        "rng": rng}, state)  # fmt: skip
    net.eval()
    meta = {"steps": step, "utterances": len(texts), "hours": round(hours, 3),
            "command": "microturn train-vocoder " + " ".join(argv or [])}  # fmt: skip
    net.save(out / "model", meta)
    print(f"train-vocoder: saved {out / 'model'}")
