"""`microturn bench agent`: what delegations in flight cost the 200 ms tick.

    microturn bench agent [--checkpoint PATH] [--ticks 60] [--rounds 5] [--threads 2]
                          [--hang-s 60] [--no-hearing]

One session of the `small` model (weights from --checkpoint, else random: speed does not
depend on what they say) is fed noise bursts and timed tick by tick (driver tick plus the
agent link's poll), under five conditions, interleaved in rounds so that drift on a shared
machine falls on all of them alike:

- `none`:    no agent linked (the runtime benchmark's tick);
- `linked`:  the agent link polled every tick, nothing in flight;
- `hang`:    one delegation to a tool that hangs for 60 s;
- `hang x8`: eight such delegations in flight at once;
- `hear x8`: eight delegations to an agent that hears (`hearing.py`) before it hangs: the
             session has heard 3 s of noise, and Whisper (one thread, one request at a
             time) recognises each request while the ticks are timed (`--no-hearing`: left
             out, for a machine without the recogniser).

Delegations enter through the link's `on_delegate` hook, as the engine calls it, after the
warm-up ticks (15 for `hear x8`, so that there is audio to hear, else 3). The poll
column is the link's own share of each tick (`after_tick`). Prints a
markdown table, then one JSON line. On a machine shared with other work, compare the
conditions' p50s with each other, not with a quiet machine's.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import Job
from microturn.agent.link import AgentLink
from microturn.runtime.bench import ms, noise_chunk
from microturn.runtime.driver import Driver
from microturn.runtime.engine import Engine

# condition -> (delegations in flight, None: no agent linked; whether the agent hears)
CONDITIONS = {
    "none": (None, False),
    "linked": (0, False),
    "hang": (1, False),
    "hang x8": (8, False),
    "hear x8": (8, True),
}


class HangingAgent:
    """A tool that hangs: it sleeps `seconds` and ignores its cancel flag."""

    name = "hang"

    def __init__(self, seconds: float = 60.0):
        self.seconds = seconds

    def run(self, job: Job) -> str:
        time.sleep(self.seconds)
        return "done"


def timed(
    engine: Engine, delegations: int | None, n: int, rng, hang_s: float, hears: bool = False
) -> tuple[np.ndarray, np.ndarray, int]:
    """n timed ticks (after the warm-up ticks) of one fresh session under one condition: the
    seconds per tick, the seconds of it the link's poll took, and how many delegations were
    still in flight at the end."""
    d = Driver(engine)
    s = d.open(seed=0)
    link = None
    warm = 15 if hears else 3
    if delegations is not None:
        agent = HangingAgent(hang_s)
        if hears:
            from microturn.agent.hearing import Hearing

            agent = Hearing(agent)
        link = AgentLink(Dispatcher(agent, timeout_s=1e6), s, engine.tok)
    out, polls = [], []
    for i in range(warm + n):
        if i == warm and link is not None:
            for _ in range(delegations):
                link.delegate(s, s.time)
        d.push(s, noise_chunk(rng))
        t = time.perf_counter()
        d.tick()
        p = time.perf_counter()
        if link is not None:
            link.after_tick()
        if i >= warm:
            out.append(time.perf_counter() - t)
            polls.append(time.perf_counter() - p)
    left = 0
    if link is not None:
        left = link.dispatcher.in_flight(s.id)
        link.close()
    d.close(s)
    return np.array(out), np.array(polls), left


def main(argv: list[str] | None = None) -> dict:
    from microturn.config import preset
    from microturn.model import InteractionModel

    p = argparse.ArgumentParser(prog="microturn bench agent", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=None, help="weights (default: random, --preset)")
    p.add_argument("--preset", default="small", help="the random model's preset")
    p.add_argument("--ticks", type=int, default=60, help="timed ticks per condition and round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--hang-s", type=float, default=60.0, help="how long the hanging tool hangs")
    p.add_argument("--no-hearing", action="store_true", help="leave out `hear x8`")
    a = p.parse_args(argv)
    conditions = {c: v for c, v in CONDITIONS.items() if not (a.no_hearing and v[1])}
    if not a.no_hearing:
        from microturn.agent.hearing import warm

        warm()  # the recogniser loaded before any tick is timed
    torch.set_num_threads(a.threads)
    if a.checkpoint:
        model = InteractionModel.from_pretrained(a.checkpoint)
    else:
        torch.manual_seed(0)
        model = InteractionModel(preset(a.preset))
    engine = Engine(model.eval(), slots=1)
    rng = np.random.default_rng(0)
    t = {c: [] for c in conditions}
    left = {c: [] for c in conditions}
    poll = {c: [] for c in conditions}
    order = list(conditions)
    for _ in range(a.rounds):
        rng.shuffle(order)  # no condition always runs first (or last) in a round
        for c in order:
            k, hears = conditions[c]
            x, px, n_left = timed(engine, k, a.ticks, rng, a.hang_s, hears)
            t[c].append(x)
            poll[c].append(px)
            left[c].append(n_left)
    rows = {}
    print("| condition | ticks | p50 ms | p99 ms | max ms | poll p50 / p99 us | in flight at end |")
    print("|---|---|---|---|---|---|---|")
    for c, xs in t.items():
        x, px = np.concatenate(xs), np.concatenate(poll[c])
        rows[c] = {"n": len(x), "p50_ms": ms(np.median(x)), "p99_ms": ms(np.quantile(x, 0.99)),
                   "max_ms": ms(x.max()), "poll_p50_us": round(float(np.median(px)) * 1e6, 1),
                   "poll_p99_us": round(float(np.quantile(px, 0.99)) * 1e6, 1),
                   "in_flight_min": min(left[c])}  # fmt: skip
        r = rows[c]
        print(f"| {c} | {r['n']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | "
              f"{r['poll_p50_us']} / {r['poll_p99_us']} | {r['in_flight_min']} |")  # fmt: skip
    out = {"bench": "agent", "threads": a.threads, "conditions": rows}
    print(json.dumps(out))
    return out
