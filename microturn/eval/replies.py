"""Whole replies: does the model answer questions asked in voices it never heard, and does its
answer last as long as its words need?

On the first n should-answer QA scenarios of a split (`test`: held-out espeak voices, the
held-out synthesizer festival, rates and pitches outside the training ranges), the model runs
free exactly as the benchmark runs it (`bench.suite.run_model`); its channel is read with the
benchmark's one output VAD (`bench/vad.py`). A question is *answered* when a speech segment
that is not a backchannel begins inside the scenario's answer window; the reply's length is
that segment's, set beside the reference answer's (the data engine's model voice saying it).
As in the benchmark, an answer that is itself a listener's word ("yes") may be said as one.
The answer is *right* when every word of the reference answer is among the words of the
segments that begin in the window (the benchmark's content rule, on the model's text stream).
That rule counts a list ("seven six eight" for "eight") as right, so beside it stands the
stricter *first*: the reply begins with the reference answer's words.

What a right answer takes splits the questions (`data/language/questions.py: knowledge`):
*reasoned* (arithmetic, numbers, weekday and month order, fixed counts), *spelled* (read off
the asked word) and *fact* (about a lexicon item; in a held-out split, one the train split
never showed, so no model trained on this data alone can know it): the share of reasoned and
spelled questions bounds the right share a model of this data can reach.

    microturn eval replies --model checkpoints/small --split test --n 100

With `--hazard` it also prints, per user engine, the model's P(speak) (1 - P(`<pad>`) at each
50 ms output slot) after the answer window opens, in 100 ms bins, over the questions not yet
answered then (the hazard of its first word), and the P(speak) summed over the window up to
the first word, for the answered questions and for the silent ones: a silent question whose
sum is like the answered ones' was heard as a question and missed by the draw.

Prints a table per user engine (answered share with a Wilson 95 % interval; reply length
p10 / p50 / p90 beside the reference's; the median ratio of a reply to its reference, and the
share of fragments: replies under 0.6 of their reference), then one JSON line.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from microturn.audio import from_int16
from microturn.bench.score import Output, listener_word, wilson, words
from microturn.bench.suite import Scenario, run_model

FRAGMENT = 0.6  # a reply shorter than this share of its reference answer is a fragment
BIN_S = 0.1  # the hazard's bins (seconds)


def scenarios(cfg, split: str, n: int) -> list[Scenario]:
    """The first n QA `ask` scenarios of `split`, with their user audio."""
    from microturn.data.families import make_scenario
    from microturn.data.generate import featurize

    out = []
    for i in range(n):
        tl = make_scenario("qa", "ask", split, i)
        s = featurize(tl, cfg, audio=True)
        out.append(Scenario(tl, from_int16(s.arrays["user_audio"])))
    return out


def reply(sc: Scenario, audio: np.ndarray, events: list[dict]) -> dict:
    """One scenario's answer: engine, answered, its length and the reference's (seconds),
    its words, whether they hold the reference answer, and what a right answer takes."""
    from microturn.data.language.questions import knowledge

    speak = answer_window(sc)
    ref = [e for e in sc.tl.on("model") if e.t_on >= speak.t_on - 1e-6]
    voice = sc.tl.on("user")[0].voice
    out = Output.read(audio, events)
    segs = out.segments if listener_word(speak.text) else out.responses()  # "yes" as one
    seg = next((s for s in segs if speak.t_on <= s.on <= speak.t_off), None)
    kind, needs = knowledge(sc.tl.meta["templates"][0])
    return {
        "id": sc.id,
        "engine": voice.engine if voice else "?",
        "answered": seg is not None,
        "length_s": round(seg.off - seg.on, 3) if seg else None,
        "words": seg.text.strip() if seg else "",
        "reference_s": round(ref[0].t_off - ref[0].t_on, 3) if ref else None,
        "expected": speak.text,
        "right": seg is not None and out.says(speak.t_on, speak.t_off, speak.text),
        "first": seg is not None and _begins(seg.text, speak.text),
        "kind": kind,
        "knowledge": needs,
    }


def answer_window(sc: Scenario):
    """The scenario's `speak` expectation: the answer's window and words."""
    return next(x for x in sc.tl.expect if x.kind == "speak")


def _begins(said: str, answer: str) -> bool:
    want = words(answer)
    return bool(want) and words(said)[: len(want)] == want


def summary(rows: list[dict]) -> dict:
    k, n = sum(r["answered"] for r in rows), len(rows)
    right = sum(r["right"] for r in rows)
    first = sum(r["first"] for r in rows)
    said = [r for r in rows if r["answered"] and r["reference_s"]]
    lengths = np.array([r["length_s"] for r in said], np.float64)
    refs = np.array([r["reference_s"] for r in rows if r["reference_s"] is not None])
    ratio = lengths / np.array([r["reference_s"] for r in said], np.float64)
    q = lambda a: [round(float(v), 2) for v in np.quantile(a, [0.1, 0.5, 0.9])] if len(a) else []  # noqa: E731
    return {
        "n": n,
        "answered": round(k / max(n, 1), 3),
        "answered_ci": [round(v, 3) for v in wilson(k, n)],
        "right": round(right / max(n, 1), 3),
        "right_ci": [round(v, 3) for v in wilson(right, n)],
        "first": round(first / max(n, 1), 3),
        "length_p10_p50_p90": q(lengths),
        "reference_p10_p50_p90": q(refs),
        "ratio_p50": round(float(np.median(ratio)), 2) if len(ratio) else None,
        "fragments": round(float((ratio < FRAGMENT).mean()), 3) if len(ratio) else None,
    }


def waiting(sc: Scenario, events: list[dict], speak: list[tuple]) -> list[tuple]:
    """(seconds after the answer window opened, P(speak)) of the window's output slots before
    the model's first word in it: the slots where it could still begin its answer."""
    x = answer_window(sc)
    first = min((e["t"] for e in events if e.get("kind") == "model_text" and e["t"] >= x.t_on),
                default=float("inf"))  # fmt: skip
    return [(t - x.t_on, p) for t, p in speak if x.t_on <= t < min(x.t_off, first)]


def hazard(rows: list[dict], waits: list[list[tuple]]) -> dict:
    """The mean P(speak) per `BIN_S` bin over the slots still waiting there, and the median
    P(speak) summed over each question's waiting slots, answered and silent apart."""
    n_bins = max((int(t / BIN_S) + 1 for w in waits for t, _ in w), default=0)
    acc, cnt = np.zeros(n_bins), np.zeros(n_bins)
    for w in waits:
        for t, p in w:
            acc[int(t / BIN_S)] += p
            cnt[int(t / BIN_S)] += 1
    med = lambda v: round(float(np.median(v)), 3) if v else None  # noqa: E731
    sums = [sum(p for _, p in w) for w in waits]
    return {
        "bins": [round(float(v), 3) for v in acc / np.maximum(cnt, 1)],
        "sum_answered": med([x for x, r in zip(sums, rows, strict=True) if r["answered"]]),
        "sum_silent": med([x for x, r in zip(sums, rows, strict=True) if not r["answered"]]),
    }


def measure(
    checkpoint: str,
    split: str,
    n: int,
    slots: int = 32,
    with_hazard: bool = False,
    sampling=None,
) -> dict:
    """`sampling`: every session's (runtime/session.py; None: the runtime's defaults)."""
    from microturn.runtime.runner import load_model

    cfg = load_model(checkpoint).cfg
    scen = scenarios(cfg, split, n)
    speak: dict | None = {} if with_hazard else None
    outs = run_model(checkpoint, scen, slots, speak=speak, sampling=sampling)
    rows = [reply(sc, a, ev) for sc, (a, ev) in zip(scen, outs, strict=True)]
    engines = sorted({r["engine"] for r in rows})
    groups = {"all": list(range(len(rows)))}
    for e in engines:
        groups[e] = [i for i, r in enumerate(rows) if r["engine"] == e]
    for k in ("reasoned", "spelled", "fact"):
        if any(r["knowledge"] == k for r in rows):
            groups[k] = [i for i, r in enumerate(rows) if r["knowledge"] == k]
    out = {
        "split": split,
        "groups": {g: summary([rows[i] for i in ix]) for g, ix in groups.items()},
        "rows": rows,
    }
    if with_hazard:
        waits = [waiting(sc, ev, speak[sc.id]) for sc, (_, ev) in zip(scen, outs, strict=True)]
        out["hazard"] = {
            g: hazard([rows[i] for i in ix], [waits[i] for i in ix])
            for g, ix in groups.items()
            if g == "all" or g in engines
        }
    return out


def table(r: dict) -> str:
    lines = [
        f"whole replies: QA questions of the {r['split']} split, free running",
        "",
        "| questions | n | answered [95 % CI] | right [95 % CI] | first | reply s p10 / p50 / p90 "
        f"| reference s p50 | reply / reference p50 | fragments (< {FRAGMENT}) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for g, s in r["groups"].items():
        lo, hi = s["answered_ci"]
        rlo, rhi = s["right_ci"]
        length = " / ".join(f"{v:.2f}" for v in s["length_p10_p50_p90"]) or "-"
        ref = f"{s['reference_p10_p50_p90'][1]:.2f}" if s["reference_p10_p50_p90"] else "-"
        ratio = "-" if s["ratio_p50"] is None else f"{s['ratio_p50']:.2f}"
        frag = "-" if s["fragments"] is None else f"{s['fragments']:.0%}"
        lines.append(f"| {g} | {s['n']} | {s['answered']:.2f} [{lo:.2f}, {hi:.2f}] | "
                     f"{s['right']:.2f} [{rlo:.2f}, {rhi:.2f}] | {s['first']:.2f} | {length} | "
                     f"{ref} | {ratio} | {frag} |")  # fmt: skip
    known = sum(s["n"] for g, s in r["groups"].items() if g in ("reasoned", "spelled"))
    lines += ["", f"reasoned or spelled (a right answer a model of the train split can know): "
              f"{known} of {r['groups']['all']['n']}"]  # fmt: skip
    return "\n".join(lines)


def hazard_table(h: dict) -> str:
    """`hazard`'s figures: one row per group, one column per bin."""
    n = max(len(v["bins"]) for v in h.values())
    head = " | ".join(f"{BIN_S * i:.1f}" for i in range(n))
    lines = [
        "P(speak) after the answer window opens (s), over the questions not yet answered; "
        "summed over the window up to the first word (median)",
        "",
        f"| questions | {head} | summed: answered | silent |",
        "|---|" + "---|" * (n + 2),
    ]
    for g, v in h.items():
        cells = " | ".join(f"{b:.3f}" for b in v["bins"] + [0.0] * (n - len(v["bins"])))
        lines.append(f"| {g} | {cells} | {v['sum_answered']} | {v['sum_silent']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from microturn.cli import add_speak_flags
    from microturn.runtime.session import THRESHOLDS, Sampling

    p = argparse.ArgumentParser(prog="microturn eval replies", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a save_pretrained directory")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument("--n", type=int, default=100, help="questions")
    p.add_argument("--slots", type=int, default=32, help="sessions stepped together")
    p.add_argument("--hazard", action="store_true", help="also P(speak) after each question")
    add_speak_flags(p)
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be at least 1")
    sampling = Sampling.flagged(args)
    r = measure(args.model, args.split, args.n, args.slots, args.hazard, sampling)
    print(table(r))
    if args.hazard:
        print()
        print(hazard_table(r["hazard"]))
    line = {"split": r["split"], "model": args.model, "groups": r["groups"]}
    line["sampling"] = {k: getattr(sampling, k) for k in THRESHOLDS}
    print(json.dumps(line | ({"hazard": r["hazard"]} if args.hazard else {})))
