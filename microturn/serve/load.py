"""`microturn bench serve`: the live server under real loopback clients.

    microturn bench serve [--checkpoint checkpoints/small] [--sessions 4 8 16 24]
                          [--seconds 20] [--fuzz-frames 10000] [--cycles 100]
                          [--only load,fuzz,cycles,jitter] [--threads 2] [--out DIR]

Every part starts `microturn serve` as a subprocess and talks to it over WebSockets:

1. load: N clients stream speech (examples/qa.wav, looped) in real time for `--seconds`; the
   server's tick p50/p99, deadline misses (ticks that ended past their 200 ms slot) and late
   chunks over that window, its RSS. Sessions held: the largest N with tick p99 under 200 ms
   and no misses. Right after each N, `bench runtime`'s own measure of the engine alone at
   the same N (in this process, no sockets), so the two are compared under the same load.
2. fuzz (`fuzz.py`): a well-behaved session runs alone, then again beside clients sending
   `--fuzz-frames` malformed or hostile frames (bad JSON, binary, unknown types, bad base64,
   odd lengths, wrong formats, oversized frames, floods, reconnect churn, some valid audio so
   they tick too); its events and audio must be bit-identical to the run alone, and the server
   must still be up.
3. cycles: `--cycles` open / one tick / close cycles, every tenth a drop mid-utterance and a
   resume: slots and engine sessions after, RSS before and after.
4. jitter: one client's chunks each delayed 0-400 ms (in order) and its connection dropped for
   5 s mid-question then resumed, beside 3 steady clients (server cushion 400 ms): its late
   chunks, the resume, whether the model answered, and the server's ticks meanwhile.
5. slow: a client that stops reading, beside 2 steady ones (server send queue 64): when it is
   cut off, and the others' ticks meanwhile.

Prints a markdown table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from microturn.audio import load
from microturn.serve.fuzz import fuzz_run
from microturn.serve.talk import CHUNK, Record, realtime_url
from microturn.serve.wire import WIRE_RATE, encode_pcm16

ROOT = Path(__file__).resolve().parents[2]


# --- the server under test -------------------------------------------------------------------
class Served:
    """`microturn serve` in a subprocess on a free loopback port."""

    def __init__(
        self, checkpoint: str, max_sessions: int, threads: int, grace_s: float = 30.0, *more: str
    ):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "microturn.cli", "serve", "--model", checkpoint]
        cmd += ["--port", str(self.port), "--max-sessions", str(max_sessions)]
        cmd += ["--threads", str(threads), "--grace-s", str(grace_s), *more]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                self.health()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stdout.read().decode()[-2000:]) from None
                time.sleep(0.3)
        raise RuntimeError("the server did not come up in 120 s")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def health(self, reset: bool = False) -> dict:
        q = "?reset=1" if reset else ""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz{q}", timeout=10) as r:
            return json.loads(r.read())

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def speech() -> np.ndarray:
    return load(ROOT / "examples" / "qa.wav", WIRE_RATE)


def append(x: np.ndarray) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "audio": encode_pcm16(x)})


# --- 1. load -------------------------------------------------------------------------------
async def steady(url: str, audio: np.ndarray, stop: asyncio.Event, offset: int = 0) -> Record:
    """A client streaming `audio` looped, one 200 ms append every 200 ms, until `stop`."""
    from websockets.asyncio.client import connect

    rec = Record()
    async with connect(realtime_url(url), max_size=1 << 24) as ws:

        async def read() -> None:
            async for frame in ws:
                rec.take(json.loads(frame))

        reader = asyncio.create_task(read())
        n, k, t0 = len(audio) // CHUNK, offset, time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(max(0.0, t0 + (k - offset) * 0.2 - time.monotonic()))
            await ws.send(append(audio[(k % n) * CHUNK : (k % n + 1) * CHUNK]))
            k += 1
        reader.cancel()
    return rec


async def load_run(srv: Served, n: int, seconds: float, audio: np.ndarray) -> dict:
    stop = asyncio.Event()
    clients = [asyncio.create_task(steady(srv.url, audio, stop, 7 * i)) for i in range(n)]
    await asyncio.sleep(3.0)  # everyone connected and ticking
    before = srv.health(reset=True)
    await asyncio.sleep(seconds)
    h = srv.health()
    rss = srv.rss_mb()
    stop.set()
    await asyncio.gather(*clients, return_exceptions=True)
    ok = h["ticks"] > 0 and h["tick_p99_ms"] < 200 and h["misses"] == 0
    return {
        "sessions": n,
        "held": h["attached"],
        "ticks": h["ticks"],
        "tick_p50_ms": h["tick_p50_ms"],
        "tick_p99_ms": h["tick_p99_ms"],
        "misses": h["misses"],
        "late": h["late_total"] - before["late_total"],
        "rss_mb": round(rss, 1),
        "ok": ok,
    }


_MODEL: dict = {}


def runtime_row(checkpoint: str, n: int, threads: int) -> dict:
    """`microturn bench runtime`'s concurrency measure (`realtime`) at n sessions, in this
    process (the server idles meanwhile): the engine alone, no sockets."""
    import torch

    from microturn.model import InteractionModel
    from microturn.runtime.bench import realtime

    torch.set_num_threads(threads)
    if checkpoint not in _MODEL:
        _MODEL[checkpoint] = InteractionModel.from_pretrained(checkpoint).eval()
    return realtime(_MODEL[checkpoint], n, np.random.default_rng(0))


# --- 3. open / close cycles ----------------------------------------------------------------
async def cycles_run(srv: Served, n: int, audio: np.ndarray) -> dict:
    from websockets.asyncio.client import connect

    async def one(k: int) -> None:
        ws = await connect(realtime_url(srv.url), max_size=1 << 24)
        sid = ""
        async for frame in ws:
            e = json.loads(frame)
            if e["type"] == "session.created":
                sid = e["session"]["id"]
                await ws.send(append(audio[: 2 * CHUNK]))
            if e["type"] == "microturn.tick":
                break
        if k % 10 == 9:  # a drop mid-utterance, then the same session resumed
            ws.transport.abort()
            await asyncio.sleep(0.3)
            ws = await connect(realtime_url(srv.url, sid), max_size=1 << 24)
            async for frame in ws:
                if json.loads(frame)["type"] == "microturn.session.resumed":
                    break
        await ws.close()

    for k in range(10):  # warm up: allocations settle
        await one(k)
    await asyncio.sleep(0.5)
    rss0, t0 = srv.rss_mb(), time.monotonic()
    for k in range(n):
        await one(k)
    await asyncio.sleep(0.6)  # a tick or two: the last leaver's slot is freed
    h = srv.health()
    return {
        "cycles": n,
        "resumes": n // 10,
        "seconds": round(time.monotonic() - t0, 1),
        "sessions_after": h["sessions"],
        "engine_sessions_after": h["engine_sessions"],
        "rss_before_mb": round(rss0, 1),
        "rss_after_mb": round(srv.rss_mb(), 1),
    }


# --- 4. jitter and a drop ------------------------------------------------------------------
async def jitter_run(srv: Served, audio: np.ndarray, out: Path | None) -> dict:
    from websockets.asyncio.client import connect

    stop = asyncio.Event()
    others = [asyncio.create_task(steady(srv.url, audio, stop, 11 * i)) for i in range(3)]
    await asyncio.sleep(2.0)
    srv.health(reset=True)
    rng = random.Random(0)
    x = np.concatenate([audio, np.zeros(6 * WIRE_RATE, np.float32)])
    n = len(x) // CHUNK
    rec, drop_at, t_drop = Record(), 10, 0.0  # drop 2 s in: mid-question
    ws = await connect(realtime_url(srv.url), max_size=1 << 24)

    async def read(ws) -> None:
        async for frame in ws:
            rec.take(json.loads(frame))

    reader = asyncio.create_task(read(ws))
    t0, sent_at = time.monotonic(), 0.0
    for k in range(n):
        if k == drop_at:
            ws.transport.abort()
            reader.cancel()
            t_drop = time.monotonic()
            await asyncio.sleep(5.0)
            ws = await connect(realtime_url(srv.url, rec.session_id), max_size=1 << 24)
            reader = asyncio.create_task(read(ws))
            t0 += time.monotonic() - t_drop
        due = max(sent_at, t0 + k * 0.2 + rng.uniform(0, 0.4))  # late, never reordered
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        sent_at = due
        await ws.send(append(x[k * CHUNK : (k + 1) * CHUNK]))
    end = time.monotonic() + 30
    while rec.chunk < n - 3 - 1 and time.monotonic() < end:
        await asyncio.sleep(0.2)
    reader.cancel()
    await ws.close()
    h = srv.health()
    stop.set()
    await asyncio.gather(*others, return_exceptions=True)
    heard = [e["t"] for e in rec.timeline if e["kind"] == "user_text"]
    q_end = max(heard or [0.0])  # the last word it heard of the question
    answers = [e for e in rec.timeline if e["kind"] == "model_text" and e["t"] > q_end]
    resumed = [e for e in rec.events if e["type"] == "microturn.session.resumed"]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "jitter-realtime.jsonl").write_text(
            "".join(json.dumps(e) + "\n" for e in rec.events)
        )
    return {
        "chunks": n,
        "late_chunks": rec.last_tick.get("late_total", 0),
        "resumed": bool(resumed),
        "resume_gap_s": resumed[0]["gap_s"] if resumed else None,
        "answered": bool(answers),
        "answer": "".join(e["text"] for e in answers).strip()[:60],
        "others_tick_p99_ms": h["tick_p99_ms"],
        "misses": h["misses"],
        "ticks": h["ticks"],
    }


# --- 5. a client that stops reading ---------------------------------------------------------
async def slow_run(srv: Served, audio: np.ndarray, seconds: float = 20.0) -> dict:
    """A client that sends audio but never reads (a 4 KB socket buffer) beside 2 steady ones."""
    from websockets.asyncio.client import connect

    stop = asyncio.Event()
    others = [asyncio.create_task(steady(srv.url, audio, stop, 5 * i)) for i in range(2)]
    await asyncio.sleep(2.0)
    srv.health(reset=True)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    ws = await connect(realtime_url(srv.url), sock=sock, max_size=1 << 24, max_queue=1)
    ws.transport.pause_reading()  # it reads nothing from here on
    t0, cut = time.monotonic(), None
    k = 0
    while time.monotonic() - t0 < seconds:
        try:
            await ws.send(append(audio[(k % 40) * CHUNK : (k % 40 + 1) * CHUNK]))
        except Exception:
            break
        k += 1
        h = srv.health()
        if cut is None and h["attached"] < 3:
            cut = time.monotonic() - t0
        await asyncio.sleep(0.2)
    h = srv.health()
    stop.set()
    ws.transport.abort()
    await asyncio.gather(*others, return_exceptions=True)
    return {
        "cut_off_after_s": None if cut is None else round(cut, 1),
        "others_tick_p99_ms": h["tick_p99_ms"],
        "misses": h["misses"],
        "ticks": h["ticks"],
    }


# --- the verb --------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="microturn bench serve", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "small"))
    p.add_argument("--sessions", type=int, nargs="+", default=[4, 8, 16, 24])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--fuzz-frames", type=int, default=10000)
    p.add_argument("--cycles", type=int, default=100)
    p.add_argument("--only", default="load,fuzz,cycles,jitter,slow")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=None, help="where the jitter client's log goes")
    p.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip `bench runtime`'s in-process measure at each N (interleaved with ours)",
    )
    args = p.parse_args(argv)
    parts = set(args.only.split(","))
    audio = speech()
    res: dict = {"checkpoint": args.checkpoint, "threads": args.threads, "cpus": os.cpu_count()}

    def part(name: str, max_sessions: int, run, *more: str) -> None:
        """One part against a fresh server; a failure is reported, the other parts still run."""
        if name not in parts:
            return
        srv = Served(args.checkpoint, max_sessions, args.threads, 30.0, *more)
        try:
            res[name] = asyncio.run(run(srv))
        except Exception as e:  # the report says what broke; the server's fate is in it
            res[name] = {"failed": f"{type(e).__name__}: {e}"[:300], "server_up": srv.alive()}
        finally:
            srv.close()

    async def load_all(srv: Served) -> dict:
        rows = []
        for n in args.sessions:
            rows.append(await load_run(srv, n, args.seconds, audio))
            if args.compare:  # the runtime benchmark's measure at the same N, right after
                rows[-1]["runtime"] = runtime_row(args.checkpoint, n, args.threads)
        held = max([r["sessions"] for r in rows if r["ok"]] or [0])
        out = {"sessions_held": held, "seconds": args.seconds, "rows": rows}
        if args.compare:
            ok = [r["sessions"] for r in rows if r["runtime"]["ok"]]
            out["runtime_sessions_held"] = max(ok or [0])
        return out

    part("load", max(args.sessions), load_all)
    part("fuzz", 16, lambda srv: fuzz_run(srv, args.fuzz_frames, audio))
    part("cycles", 4, lambda srv: cycles_run(srv, args.cycles, audio))
    part("jitter", 8, lambda srv: jitter_run(srv, audio, args.out), "--prebuffer-ms", "400")
    part("slow", 4, lambda srv: slow_run(srv, audio), "--send-queue", "64")
    report(res)


def report(r: dict) -> None:
    print(f"| measure (`microturn serve`, {r['threads']} torch threads) | value |")
    print("|---|---|")
    for name in [k for k, v in r.items() if isinstance(v, dict) and "failed" in v]:
        print(f"| {name}: FAILED | {r[name]['failed']} |")
    if "load" in r and "failed" not in r["load"]:
        ld = r["load"]
        print(f"| sessions held in real time (p99 < 200 ms, 0 misses) | {ld['sessions_held']} |")
        if "runtime_sessions_held" in ld:
            print(f"| ... `bench runtime`'s measure, same N | {ld['runtime_sessions_held']} |")
        for x in ld["rows"]:
            print(
                f"| ... {x['sessions']} clients, {x['ticks']} ticks: tick p50 / p99, misses, "
                f"late chunks, RSS | {x['tick_p50_ms']} / {x['tick_p99_ms']} ms, {x['misses']}, "
                f"{x['late']}, {x['rss_mb']} MB |"
            )
            if "runtime" in x:
                rt = x["runtime"]
                print(
                    f"| ... the engine alone (`bench runtime`), {x['sessions']} sessions: "
                    f"p50 / p99, misses | {rt['p50_ms']} / {rt['p99_ms']} ms, {rt['misses']} |"
                )
    if "fuzz" in r and "failed" not in r["fuzz"]:
        f = r["fuzz"]
        print(
            f"| fuzz: hostile frames, errors back, reconnects; server up | {f['frames']}, "
            f"{f['errors_received']}, {f['reconnects']}; {f['server_up']} |"
        )
        print(
            f"| fuzz: well-behaved session bit-identical to alone ({f['good_events']} events, "
            f"{f['good_audio_deltas']} audio) | {f['identical']} |"
        )
    if "cycles" in r and "failed" not in r["cycles"]:
        c = r["cycles"]
        print(
            f"| {c['cycles']} open/close cycles ({c['resumes']} drop+resume): sessions, engine "
            f"sessions after; RSS before / after | {c['sessions_after']}, "
            f"{c['engine_sessions_after']}; {c['rss_before_mb']} / {c['rss_after_mb']} MB |"
        )
    if "jitter" in r and "failed" not in r["jitter"]:
        j = r["jitter"]
        print(
            f"| jitter 0-400 ms + 5 s drop: late chunks, resumed, answered ({j['answer']!r}) | "
            f"{j['late_chunks']} of {j['chunks']}, {j['resumed']}, {j['answered']} |"
        )
        print(
            f"| ... server ticks meanwhile (4 sessions): p99, misses | "
            f"{j['others_tick_p99_ms']} ms, {j['misses']} of {j['ticks']} |"
        )
    if "slow" in r and "failed" not in r["slow"]:
        w = r["slow"]
        print(
            f"| a client that stops reading (send queue 64): cut off after; the 2 others' "
            f"tick p99, misses | {w['cut_off_after_s']} s; {w['others_tick_p99_ms']} ms, "
            f"{w['misses']} of {w['ticks']} |"
        )
    print(json.dumps(r))


if __name__ == "__main__":
    main()
