"""`microturn bench vocoder`: round-trip espeak-ng speech through log-mel / dMel and the
Griffin-Lim vocoder; measure the loss.

    microturn bench vocoder [--n-iter 32] [--limit N] [--per-clip]

Why: to know what the dMel codes and the training-free vocoder cost before anything is trained,
and to catch a regression (tests/test_vocoder.py pins one sentence; this covers ten, five voices).

Paths, per clip (audio zero-padded to whole 200 ms chunks):
  ref  true |STFT| on the analysis grid -> Griffin-Lim     (phase retrieval alone, no mel)
  a    continuous log-mel -> offline vocoder
  b    dMel (quantise -> dequantise) -> offline vocoder
  c    dMel -> streaming vocoder, 200 ms pushes, no extra latency
  d    dMel -> streaming vocoder with 1 frame (25 ms) lookahead
Metrics, on speech frames (within 40 dB of the clip's loudest):
  LSD   dB, on a Hann-800 / hop-200 / n_fft-1024 STFT, bins in [fmin, fmax], power floored at
        80 dB below the original's peak (so digital silence does not dominate)
  mel   mean |delta log10 mel| of the re-analysed output vs the original's continuous log-mel,
        both clamped below at the dMel `lo` (the range the model sees)
  RTF   vocoding wall time / audio duration, one CPU thread
Prints a markdown table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from microturn.config import Config, preset
from microturn.grid import Grid
from microturn.synth import Voice, synthesize
from microturn.voice.mel import MelAnalyzer
from microturn.voice.vocoder import Vocoder

SENTENCES = [
    ("The quick brown fox jumps over the lazy dog.", "en-us"),
    ("Could you pass me the salt, please?", "en-us+f3"),
    ("Seventy six trombones led the big parade.", "en-gb-x-rp+m3"),
    ("She sells sea shells by the sea shore.", "en-us+f5"),
    ("Wait, what did you just say about Thursday?", "en-gb-scotland"),
    ("I think so, but let me check my calendar first.", "en-029+f2"),
    ("Hmm. Okay. Yes, that works for me.", "en-us"),
    ("Twelve thousand three hundred and forty five kilometres.", "en-us+f3"),
    ("Fresh fish, chips and a splash of vinegar!", "en-gb-x-rp+m3"),
    ("Really? No way! Tell me everything.", "en-us+f5"),
]


def lsd_db(x: torch.Tensor, y: torch.Tensor, cfg: Config, speech_db: float = 40.0) -> float:
    """(n,), (n,) waveforms -> mean log-spectral distance (dB) over the original's speech frames."""
    sr, n_fft, win = cfg.grid.sample_rate, cfg.mel.n_fft, Grid(cfg.grid).win
    w = torch.hann_window(win)

    def power(s: torch.Tensor) -> torch.Tensor:  # (n,) -> (F, n_bins)
        return torch.stft(s, n_fft, win // 4, win, w, return_complex=True).abs().pow(2).T

    lo, hi = math.ceil(cfg.mel.fmin * n_fft / sr), int(cfg.mel.fmax * n_fft / sr)
    px, py = power(x)[:, lo : hi + 1], power(y)[:, lo : hi + 1]
    floor = px.max() * 1e-8
    e = px.sum(1)
    speech = e > e.max() * 10 ** (-speech_db / 10)
    d = 10 * torch.log10(px + floor) - 10 * torch.log10(py + floor)
    return d.pow(2).mean(1).sqrt()[speech].mean().item()


def stream(voc: Vocoder, logmel: torch.Tensor, seed: int | None = None) -> torch.Tensor:
    """(T, n_mels) log10 mel (T whole chunks) through a fresh stream of `voc` (seeded like
    `init_state`), one chunk per step -> the (T * hop,) samples time-aligned with the frames
    (the latency cut off)."""
    fpc, lat = voc.grid.frames_per_chunk, voc.latency_samples
    # a stream with lookahead needs one more step to flush its delayed tail
    lm = torch.cat([logmel, logmel[-1:].expand(fpc if lat else 0, -1)])
    state, out = voc.init_state(seed), []
    for c in lm.split(fpc):
        y, state = voc.step(c, state)
        out.append(y)
    return torch.cat(out)[lat : lat + logmel.shape[0] * voc.hop]


def measure(texts: list[tuple[str, str]], n_iter: int) -> tuple[list[dict], dict]:
    cfg = preset("small")
    grid, an = Grid(cfg.grid), MelAnalyzer(cfg)
    voc = Vocoder(cfg, n_iter=n_iter)
    ahead = Vocoder(cfg, n_iter=n_iter, lookahead=1)
    lo, hi = cfg.mel.lo, cfg.mel.hi

    rows, acc = [], {}
    for text, name in texts:
        audio = torch.from_numpy(synthesize(text, Voice("espeak", name)).audio)
        x = torch.cat([audio, audio.new_zeros(grid.pad_to_chunks(len(audio)) - len(audio))])
        lm = an.frames(x)  # (T, n_mels)
        dq = an.dequantize(an.quantize(lm))
        energy = (10 ** (2 * lm.double())).sum(-1)
        speech = energy > energy.max() * 1e-4  # analysis frames within 40 dB of the loudest
        v = lm[speech]
        inside = (v >= lo) & (v <= hi)
        row = {
            "text": text,
            "voice": name,
            "dur_s": len(x) / grid.sample_rate,
            "q_rmse": (dq[speech] - v).pow(2).mean().sqrt().item(),
            "q_rmse_in": (dq[speech] - v)[inside].pow(2).mean().sqrt().item(),
            "clip_lo_pct": 100 * (v < lo).float().mean().item(),
            "clip_hi_pct": 100 * (v > hi).float().mean().item(),
        }
        true_mag = torch.fft.rfft(  # the analysis STFT itself, for the phase-only reference
            torch.cat([x.new_zeros(an.context), x]).unfold(-1, grid.win, grid.hop) * an.window,
            n=cfg.mel.n_fft,
        ).abs()
        paths = {
            "ref": (voc.synthesize, true_mag),
            "a": (voc, lm),
            "b": (voc, dq),
            "c": (lambda lm: stream(voc, lm), dq),
            "d": (lambda lm: stream(ahead, lm), dq),
        }
        for key, (fn, inp) in paths.items():
            t0 = time.perf_counter()
            y = fn(inp)
            dt = time.perf_counter() - t0
            mel = (an.frames(y).clamp_min(lo) - lm.clamp_min(lo))[speech].abs().mean().item()
            row.update(
                {
                    f"{key}_lsd": lsd_db(x, y, cfg),
                    f"{key}_mel": mel,
                    f"{key}_rtf": dt / row["dur_s"],
                }
            )
        rows.append(row)
    for k in rows[0]:
        if k not in ("text", "voice"):
            acc[k] = float(np.mean([r[k] for r in rows]))
    return rows, acc


def table(acc: dict) -> str:
    names = {
        "ref": "true STFT mag -> GL (no mel)",
        "a": "log-mel -> offline",
        "b": "dMel -> offline",
        "c": "dMel -> stream (0 latency)",
        "d": "dMel -> stream (25 ms lookahead)",
    }
    lines = ["| path | LSD dB | mel err (log10) | RTF |", "|---|---|---|---|"]
    for k, n in names.items():
        lines.append(
            f"| {k}: {n} | {acc[k + '_lsd']:.2f} | {acc[k + '_mel']:.3f} | {acc[k + '_rtf']:.3f} |"
        )
    lines.append("")
    lines.append(
        f"dMel quantisation: RMSE {acc['q_rmse']:.3f} log10 (in-range values "
        f"{acc['q_rmse_in']:.3f}), clipped below lo {acc['clip_lo_pct']:.2f} %, "
        f"above hi {acc['clip_hi_pct']:.2f} % (speech frames)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="microturn bench vocoder",
        description="round-trip speech through dMel and the vocoder; measure the loss",
    )
    p.add_argument("--n-iter", type=int, default=32, help="Griffin-Lim iterations")
    p.add_argument("--limit", type=int, default=len(SENTENCES), help="use the first N sentences")
    p.add_argument("--per-clip", action="store_true", help="also print per-clip LSD")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # RTF on one core, as the streaming worker runs
    rows, acc = measure(SENTENCES[: args.limit], args.n_iter)
    if args.per_clip:
        for r in rows:
            print(
                f"{r['voice']:>14} a {r['a_lsd']:.2f} b {r['b_lsd']:.2f} c {r['c_lsd']:.2f}"
                f"  {r['text']}"
            )
    print(table(acc))
    print(
        json.dumps(
            {
                "n_clips": len(rows),
                "n_iter": args.n_iter,
                **{k: round(v, 4) for k, v in acc.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
