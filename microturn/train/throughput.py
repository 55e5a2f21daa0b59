"""Training throughput: tokens/s and MFU for presets, bf16 autocast vs fp32, on this machine.

A full step (forward, losses, backward, AdamW) on a fixed random batch laid out like real data
(half input / half output positions, every output position with a flow target). MFU is the
model's FLOPs per second (6N + attention, `estimate_flops`, plus the flow head's calls) over
the *measured* peak of a large dense matmul in the same dtype on the same threads — the CPU's
paper peak is not something torch reaches here, so this says how close to practical we are.

    microturn bench train --presets tiny small --batch 8 --seq 512 --steps 6
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import torch

from microturn.config import preset
from microturn.data.layout import Batch
from microturn.model import InteractionModel
from microturn.train.losses import bf16_fast, losses


def matmul_peak(dtype, n: int = 2048, reps: int = 5) -> float:
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t)


def bench(preset_name: str, bf16: bool, batch: int, seq: int, steps: int) -> dict:
    """One row of the table: a preset's median step time, tokens/s and MFU in one dtype."""
    cfg = preset(preset_name)
    cfg = replace(cfg, train=replace(cfg.train, bf16=bf16))
    torch.manual_seed(0)
    model = InteractionModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    kind = torch.arange(seq).div(4, rounding_mode="floor").remainder(2).expand(batch, seq)
    out = kind == 1
    V = cfg.model.vocab_size
    b = Batch(
        dmel=torch.randint(
            0, cfg.mel.bins, (batch, seq, 2, cfg.mel.n_mels), generator=g, dtype=torch.uint8
        ),
        text=torch.randint(0, V, (batch, seq), generator=g),
        pending=torch.zeros(batch, seq, dtype=torch.long),  # no result pending
        kind=kind.contiguous(),
        pos=torch.arange(seq).expand(batch, seq).contiguous(),
        text_target=torch.where(out, torch.randint(0, V, (batch, seq), generator=g), -100),
        phone=torch.randint(0, max(cfg.model.n_phones, 1), (batch, seq, 2), generator=g),
        phone_now=torch.randint(
            0, max(cfg.model.n_phones, 1), (batch, seq, cfg.train.phone_lead + 1, 2), generator=g
        ),
        phone_target=torch.where(
            out[..., None], torch.randint(0, max(cfg.model.n_phones, 1), (batch, seq, 2)), -100
        ),
        transcript_target=torch.where(~out, torch.randint(0, V, (batch, seq), generator=g), -100),
        mel_target=torch.randn(batch, seq, 2 * cfg.mel.n_mels, generator=g) - 2.0,
        mel_mask=out.contiguous(),
        patches=None,
        patch_mask=torch.zeros(batch, seq, dtype=bool),
        decide=torch.zeros(batch, seq, dtype=bool),  # no up- or down-weighted text positions:
        listen=torch.zeros(batch, seq, dtype=bool),  # the same arithmetic either way
        valid=torch.ones(batch, seq, dtype=bool),
    )
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        ls = losses(model, b, cfg, g)
        opt.zero_grad()
        ls.total.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    dt = sorted(times[1:])[len(times[1:]) // 2]  # median, first step (warm-up) dropped
    tok_s = batch * seq / dt
    flops = model.estimate_flops(seq, flow_calls=0.5 * cfg.train.flow_draws) * tok_s
    native = bf16 and bf16_fast("cpu")  # else losses() runs fp32 (emulated bf16 is slower)
    peak = matmul_peak(torch.bfloat16 if native else torch.float32)
    return {
        "preset": preset_name,
        "dtype": "bf16" if native else ("fp32 (bf16 not native)" if bf16 else "fp32"),
        "params_M": round(model.num_params() / 1e6, 2),
        "step_s": round(dt, 3),
        "tok_s": round(tok_s),
        "model_gflops": round(flops / 1e9, 1),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "mfu": round(flops / peak, 3),
    }


def main(args) -> None:
    """`microturn bench train`: each preset in bf16 and fp32; a table, then one JSON line."""
    torch.set_num_threads(args.threads)
    rows = [
        bench(name, bf16, args.batch, args.seq, args.steps)
        for name in args.presets
        for bf16 in (True, False)
    ]
    print(f"batch {args.batch} x seq {args.seq}, {args.threads} threads, torch {torch.__version__}")
    print(
        "| preset | dtype | params (M) | step (s) | tokens/s | model GFLOP/s | "
        "matmul peak GFLOP/s | MFU |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['preset']} | {r['dtype']} | {r['params_M']} | {r['step_s']} | "
            f"{r['tok_s']} | {r['model_gflops']} | {r['matmul_peak_gflops']} | {r['mfu']} |"
        )
    print(json.dumps({"batch": args.batch, "seq": args.seq, "threads": args.threads, "rows": rows}))
