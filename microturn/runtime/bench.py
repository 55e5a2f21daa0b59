"""`microturn bench runtime`: what one 200 ms tick costs, and how many sessions fit in real time.

    microturn bench runtime [--checkpoint PATH] [--preset small] [--quick] [--threads 2]
                            [--vocoder PATH|griffin-lim] [--compare-vocoder PATH|griffin-lim]

Measured on this machine, `small` (weights from --checkpoint, or random: speed does not depend
on what the weights say), voiced by `--vocoder` (default: the shipped learned vocoder), input =
noise bursts, every session active every tick:

1. one session: per-tick step latency p50/p99, and two parts of the audio path: the flow head
   (phones and mel frames, the engine's `_mel`: mean per tick) and the streaming vocoder;
2. concurrency: the largest number of sessions whose ticks all finish within 200 ms
   (p99 < 200 ms and no tick over: no deadline misses);
3. session age: per-tick latency and memory at minutes 1, 10 and 60 of a session's clock
   (the clock is advanced and the ring filled with real steps: after the window is full every
   minute costs the same work; RoPE positions are the real ones), plus RSS over a continuous run;
4. streaming vs naive re-prefill of the whole context (one full forward per tick) at 1/5/30 min;
5. batch-invariant mode vs the naive path, at 1 and at the concurrency limit;
6. MoE (`small-moe`) vs dense decode at batch 1.

Prints a markdown table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import torch

from microturn.config import GridConfig, preset
from microturn.grid import Grid
from microturn.model import InteractionModel
from microturn.runtime.driver import Driver
from microturn.runtime.engine import Engine

GRID = Grid(GridConfig())
CHUNK_S = GRID.chunk_s


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def noise_chunk(rng: np.random.Generator) -> np.ndarray:
    n, slots = GRID.samples_per_chunk, GRID.positions_per_chunk
    x = rng.standard_normal(n).astype(np.float32) * 0.05
    return x * np.repeat(rng.random(slots) > 0.4, n // slots).astype(np.float32)


def ticks(driver: Driver, n: int, rng: np.random.Generator, warmup: int = 3) -> np.ndarray:
    """Run n timed ticks (after warmup) with every session fed; returns seconds per tick."""
    out = []
    for i in range(warmup + n):
        for s in driver.engine.sessions.values():
            driver.push(s, noise_chunk(rng))
        t = time.perf_counter()
        driver.tick()
        if i >= warmup:
            out.append(time.perf_counter() - t)
    return np.array(out)


def sessions(model, n: int, invariant: bool = True, vocoder=None) -> Driver:
    """n live sessions of one engine, behind the session driver (`vocoder`: the engine's
    default when None)."""
    d = Driver(Engine(model, slots=n, invariant=invariant, vocoder=vocoder))
    for i in range(n):
        d.open(seed=i)
    return d


def ms(x) -> float:
    return round(float(x) * 1e3, 2)


def one_session(model, n: int, rng, vocoder=None) -> dict:
    d = sessions(model, 1, vocoder=vocoder)
    heads = []  # every flow-head call's seconds, timed around the engine's own method
    mel = d.engine._mel

    def timed_mel(*a, **k):
        t0 = time.perf_counter()
        out = mel(*a, **k)
        heads.append(time.perf_counter() - t0)
        return out

    d.engine._mel = timed_mel
    ticks(d, 0, rng)  # warm-up ticks, not counted
    heads.clear()
    t = ticks(d, n, rng, warmup=0)
    d.engine._mel = mel
    # parts: time the vocoder alone on the same chunk shape
    s = next(iter(d.engine.sessions.values()))
    lm = torch.full((8, model.cfg.mel.n_mels), -3.0)
    tv = []
    for _ in range(max(5, n // 4)):
        a = time.perf_counter()
        d.engine.vocoder.step(lm, s.stream.vocoder)
        tv.append(time.perf_counter() - a)
    return {
        "p50_ms": ms(np.median(t)),
        "p99_ms": ms(np.quantile(t, 0.99)),
        "vocoder_ms": ms(np.median(tv)),
        "flow_head_ms": ms(sum(heads) / len(t)),
    }


def realtime(model, n: int, rng, invariant: bool = True, vocoder=None) -> dict:
    t = ticks(sessions(model, n, invariant, vocoder), 20 if n <= 16 else 12, rng)
    return {
        "sessions": n,
        "p50_ms": ms(np.median(t)),
        "p99_ms": ms(np.quantile(t, 0.99)),
        "misses": int((t > CHUNK_S).sum()),
        "ok": bool(np.quantile(t, 0.99) < CHUNK_S and (t <= CHUNK_S).all()),
    }


def concurrency(model, rng, limit: int, vocoder=None) -> tuple[int, list[dict]]:
    rows, best, n = [], 0, 1
    while n <= limit:
        r = realtime(model, n, rng, vocoder=vocoder)
        rows.append(r)
        if not r["ok"]:
            break
        best, n = n, n * 2
    lo, hi = best, min(n, limit + 1)
    while hi - lo > max(1, lo // 8):  # bisect to ~12 %
        mid = (lo + hi) // 2
        r = realtime(model, mid, rng, vocoder=vocoder)
        rows.append(r)
        lo, hi = (mid, hi) if r["ok"] else (lo, mid)
    return lo, rows


def aged(model, minutes: float, n: int, rng, vocoder=None) -> dict:
    d = sessions(model, 1, vocoder=vocoder)
    s, cache = next(iter(d.engine.sessions.values())), d.engine.cache
    fill = cache.window_chunks + cache.sink_chunks + 1
    s.stream.chunk = max(0, int(minutes * 60 / CHUNK_S) - fill)
    ticks(d, fill, rng, warmup=0)  # fill the ring
    t = ticks(d, n, rng, warmup=0)
    return {
        "minute": minutes,
        "p50_ms": ms(np.median(t)),
        "p99_ms": ms(np.quantile(t, 0.99)),
        "cache_mb": round(cache.nbytes() / 2**20, 2),
        "rss_mb": round(rss_mb(), 1),
    }


def reprefill(model, minutes: float, reps: int) -> dict:
    """One full forward over `minutes` of context: what a naive server pays every tick."""
    from microturn.model import ModelInput

    T = int(minutes * 60 / CHUNK_S) * 8
    g = torch.Generator().manual_seed(0)
    inp = ModelInput(
        dmel=torch.randint(0, 16, (1, T, 2, model.n_mels), dtype=torch.uint8, generator=g),
        dmel_mask=torch.ones(1, T, dtype=torch.bool),
        text=torch.zeros(1, T, dtype=torch.long),
        kind=torch.arange(T)[None] // 4 % 2,
        pos=torch.arange(T)[None] // 2,
    )
    out = []
    with torch.no_grad():
        for _ in range(reps):
            a = time.perf_counter()
            model(inp)
            out.append(time.perf_counter() - a)
    return {"minute": minutes, "positions": T, "forward_ms": ms(np.median(out))}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="microturn bench runtime", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--preset", default="small")
    p.add_argument("--quick", action="store_true", help="fewer ticks, no 30-minute re-prefill")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-sessions", type=int, default=64)
    p.add_argument("--long-minutes", type=float, default=5.0, help="continuous run for RSS")
    from microturn.cli import add_vocoder_flag

    add_vocoder_flag(p)
    p.add_argument(
        "--compare-vocoder", default=None, metavar="PATH|griffin-lim",
        help="the one-session tick with --vocoder and with this one, interleaved twice, and "
        "nothing else",
    )  # fmt: skip
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.checkpoint:
        model = InteractionModel.from_pretrained(args.checkpoint).eval()
    else:
        model = InteractionModel(preset(args.preset)).eval()
    rng = np.random.default_rng(0)
    n = 20 if args.quick else 100
    res: dict = {"preset": model.cfg.name, "threads": args.threads, "weights": args.checkpoint}
    from microturn.voice.learned import load_vocoder

    voc = load_vocoder(model.cfg, args.vocoder)
    res["vocoder"] = args.vocoder or "checkpoints/vocoder"
    if args.compare_vocoder:
        other = load_vocoder(model.cfg, args.compare_vocoder)
        # interleaved, twice: the box's load drifts
        pairs = [(res["vocoder"], voc), (args.compare_vocoder, other)] * 2
        rows = [(name, one_session(model, n, rng, v)) for name, v in pairs]
        for name, o in rows:
            print(
                f"| {name} | tick p50 / p99 {o['p50_ms']} / {o['p99_ms']} ms | vocoder "
                f"{o['vocoder_ms']} ms | flow head {o['flow_head_ms']} ms |"
            )
        print(json.dumps({"rows": rows}))
        return
    res["one_session"] = one_session(model, n, rng, voc)
    naive1 = realtime(model, 1, rng, invariant=False, vocoder=voc)
    res["one_session_naive"] = naive1
    best, rows = concurrency(model, rng, 8 if args.quick else args.max_sessions, voc)
    res["concurrency"] = {"max_realtime_sessions": best, "tried": rows}
    at = max(best, 1)
    inv = realtime(model, at, rng, True, voc)
    naive = realtime(model, at, rng, False, voc)
    res["invariant_cost"] = {
        "sessions": at,
        "invariant_p50_ms": inv["p50_ms"],
        "naive_p50_ms": naive["p50_ms"],
        "cost_pct": round(100 * (inv["p50_ms"] / naive["p50_ms"] - 1), 1),
        "one_session_cost_pct": round(
            100 * (res["one_session"]["p50_ms"] / naive1["p50_ms"] - 1), 1
        ),
    }
    res["age"] = [aged(model, m, n // 2, rng, voc) for m in (1, 10, 60)]
    if not args.quick and args.long_minutes > 0:
        d = sessions(model, 1, vocoder=voc)
        r0 = rss_mb()
        t = ticks(d, int(args.long_minutes * 60 / CHUNK_S), rng, warmup=0)
        res["continuous"] = {
            "minutes": args.long_minutes,
            "rss_start_mb": round(r0, 1),
            "rss_end_mb": round(rss_mb(), 1),
            "p99_ms": ms(np.quantile(t, 0.99)),
            "last_minute_p50_ms": ms(np.median(t[-300:])),
            "first_minute_p50_ms": ms(np.median(t[:300])),
        }
    res["reprefill"] = [reprefill(model, m, 3) for m in ((1, 5) if args.quick else (1, 5, 30))]
    if args.preset == "small" and not args.checkpoint:
        moe = InteractionModel(preset("small-moe")).eval()
        res["moe_vs_dense_batch1"] = {
            "dense_p50_ms": res["one_session"]["p50_ms"],
            "moe_p50_ms": one_session(moe, n // 2, rng, voc)["p50_ms"],
        }
    report(res)


def report(r: dict) -> None:
    o = r["one_session"]
    print(f"| measure ({r['preset']}, {r['threads']} threads, {r['vocoder']}) | value | target |")
    print("|---|---|---|")
    print(f"| one session: tick p50 / p99 | {o['p50_ms']} / {o['p99_ms']} ms | p99 <= 10 ms |")
    print(f"| ... of which the flow head (phones, mel frames) | {o['flow_head_ms']} ms | |")
    print(f"| ... of which the streaming vocoder | {o['vocoder_ms']} ms | |")
    c = r["concurrency"]
    print(f"| concurrent real-time sessions | {c['max_realtime_sessions']} | >= 32 |")
    for row in c["tried"]:
        print(
            f"| ... {row['sessions']} sessions: tick p50 / p99, misses | "
            f"{row['p50_ms']} / {row['p99_ms']} ms, {row['misses']} | |"
        )
    for a in r["age"]:
        print(
            f"| minute {a['minute']:g}: tick p50 / p99, cache, RSS | {a['p50_ms']} / "
            f"{a['p99_ms']} ms, {a['cache_mb']} MB, {a['rss_mb']} MB | min 60 <= 1.2x min 1 |"
        )
    if "continuous" in r:
        k = r["continuous"]
        print(
            f"| continuous {k['minutes']:g} min: RSS start / end; p50 first / last minute | "
            f"{k['rss_start_mb']} / {k['rss_end_mb']} MB; {k['first_minute_p50_ms']} / "
            f"{k['last_minute_p50_ms']} ms | flat |"
        )
    for x in r["reprefill"]:
        print(
            f"| naive re-prefill at minute {x['minute']:g} ({x['positions']} positions) | "
            f"{x['forward_ms']} ms per tick | streaming: {o['p50_ms']} ms |"
        )
    ic = r["invariant_cost"]
    print(
        f"| batch-invariant cost at {ic['sessions']} sessions (1 session) | {ic['cost_pct']} % "
        f"({ic['one_session_cost_pct']} %) | <= 5 % |"
    )
    if "moe_vs_dense_batch1" in r:
        m = r["moe_vs_dense_batch1"]
        print(f"| MoE vs dense tick at batch 1 | {m['moe_p50_ms']} vs {m['dense_p50_ms']} ms | |")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
