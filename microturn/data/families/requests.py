"""Families about what a request asks for: T7 delegation with the result woven back, T8
self-repair, T9 simultaneous interpretation, S1 refusal vs benign look-alike, and chit-chat
Q&A vs the same question addressed to someone else."""

from __future__ import annotations

from dataclasses import replace

from microturn.data.families.scripting import est, est_of, instruct, matched, open_with, reply_gap
from microturn.data.language.generators import (
    benign_lookalike,
    direct_request,
    interpretation,
    question,
    refusal,
    self_repair,
    tool_request,
)
from microturn.data.language.lexicon import name as first_name
from microturn.data.scene import Scene
from microturn.data.voices import voice_pool
from microturn.timeline import Event

# --- T7 delegation with the result woven back ----------------------------------------------
LATENCIES_S = (1.0, 3.0, 6.0, 10.0)  # a tool's latency after the acknowledgement's onset
FAST_LATENCIES_S = (0.2, 0.5)  # a local tool (the calculator, a look-up) answering at once
# In train, this share of woven replies is the result alone ("about three hundred thirty
# metres"), not the request restated first: the model learns to start a reply with the
# result it reads as pending (data/pending.py) once the floor is free
RESULT_FIRST = 0.5


def build_delegate(s: Scene, cond: str) -> float:
    """act "delegate": a request that needs a tool; the model acknowledges, hands it to the
    background model (tool channel), keeps chatting, and says the result when it arrives and
    the floor is free. hold "direct": a look-alike it answers at once, no delegation."""
    rng, split = s.rng, s.split
    make = tool_request if cond == "delegate" else direct_request
    u = matched(rng, est_of(lambda: make(rng, split), s.voice.rate), rng.uniform(1.7, 2.9))
    t_end = open_with(s, u)
    t_reply = t_end + reply_gap(rng)
    if cond == "direct":
        s.model(u.answer, at=t_reply)
        s.want("speak", t_end - 0.2, t_end + 1.5, " ".join(u.answer), ref=t_end)
        s.want("no_delegate", t_end, t_end + 3.0)
        return t_end
    a = u.attrs
    ack = s.model(a["ack"].split(), at=t_reply, kind="ack")
    s.add(
        Event(
            "tool",
            "delegate",
            ack.t_on,
            ack.t_on,
            a["tool"],
            attrs={"tool": a["tool"], "args": a["args"]},
        )
    )
    s.want("delegate", t_end, t_end + 2.0, a["tool"])
    # a slow tool, or (train only, so that the held-out splits stay as they were) a local
    # one whose result arrives while the acknowledgement is still being said
    latency = rng.choice(LATENCIES_S + (FAST_LATENCIES_S if split == "train" else ()))
    t_res = ack.t_on + latency
    s.add(Event("tool", "tool_result", t_res, t_res, a["result"], attrs={"tool": a["tool"]}))
    s.add(Event("side_text", "tool_result", t_res, t_res, a["result"]))
    s.want("silent_value", t_end, t_res, a["result"])  # no hallucinated result before it exists
    busy_until = ack.t_off
    if rng.random() < 0.5:  # an unrelated question while the tool runs
        q = question(rng, split)
        s.note(q)
        still = rng.random() < 0.5
        q_len = est(q.words, s.voice.rate)
        start = (
            t_res - q_len * rng.uniform(0.3, 0.7) if still else busy_until + rng.uniform(0.5, 1.5)
        )
        start = max(start, ack.t_off + 0.3)
        s.t = start
        s.user(q.words)
        s.want("speak", s.t - 0.2, s.t + 1.5, " ".join(q.answer), ref=s.t)
        qa = s.model(q.answer, at=s.t + reply_gap(rng))
        busy_until = qa.t_off
    t_say = max(t_res, busy_until, s.t) + rng.uniform(0.3, 0.8)
    reply = u.answer  # held-out splits: always the request restated, then the result
    if split == "train" and rng.random() < RESULT_FIRST:
        reply = tuple(a["result"].split())
    s.model(reply, at=t_say, kind="result")
    s.want("speak", t_say - 0.5, max(t_res, s.t) + 2.0, " ".join(reply), woven=True, ref=t_say)
    s.meta["tool_latency"] = latency
    return t_end


# --- T8 self-repair ---------------------------------------------------------------------------
def build_repair(s: Scene, cond: str) -> float:
    """hold "repair": "set a timer for five [pause] no seven minutes": the model must wait in
    the pause and then use the corrected value. act "plain": the same request said whole,
    answered at once. Decision: the end of the first segment."""
    rng, split = s.rng, s.split

    def make():
        u = self_repair(rng, split)
        k = u.holds[0]  # the repair point, right after the editing term ("five no | seven")
        wrong = u.attrs["wrong"].split()
        at_value = [
            i + len(wrong)
            for i in range(k - len(wrong) + 1)
            if list(u.words[i : i + len(wrong)]) == wrong
        ]
        if at_value and rng.random() < 0.5:  # or the pause comes first: "five | no seven"
            k = at_value[-1]
        first = u.attrs["plain"] if cond == "plain" else u.words[:k]
        return est(first, s.voice.rate), (u, k)

    u, k = matched(rng, make, rng.uniform(1.2, 1.9))
    s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    if cond == "plain":
        plain = u.attrs["plain"]
        s.user(plain)
        t_end = s.t
        ans = u.attrs["plain_answer"]
    else:
        s.user(u.words[:k], role="fragment")
        t_end = s.t
        s.pause(rng.uniform(0.3, 1.5))
        s.want("silent", t_end, s.t + 0.2)
        s.user(u.words[k:], role="final")
        ans = u.answer
    s.model(ans, at=s.t + reply_gap(rng))
    s.want("speak", s.t - 0.2, s.t + 1.5, " ".join(ans), ref=s.t)
    return t_end


# --- T9 simultaneous interpretation ---------------------------------------------------------
def build_interpret(s: Scene, cond: str) -> float:
    """act "translate": the user reads English words after an instruction; the model says each
    one in Spanish ~0.5 s later, while the user goes on. hold "listen": the same words after
    an instruction to just listen; the model waits for the end, then says "okay"."""
    rng, split = s.rng, s.split
    # Few instruction templates per split give clumpy lengths; letting each candidate draw
    # its own speaking rate makes the length continuous, so the match can be exact.
    lo, hi = voice_pool(split).rate

    def make():
        x = interpretation(rng, split, listen=cond == "listen")
        rate = round(rng.uniform(lo, hi), 2)
        return est(x[0].words, rate), (x, rate)

    (ins, pairs), rate = matched(rng, make, rng.uniform(2.0, 3.0), tries=120)
    s.voice = replace(s.voice, rate=rate)
    t0 = instruct(s, ins, 1.8)
    busy = 0.0
    for en, es in pairs:
        e = s.user(en.split(), kind="word")
        if cond == "translate":
            at = max(e.t_off + rng.uniform(0.2, 0.5), busy + 0.1)
            m = s.model(es.split(), at=at, kind="translation")
            busy = m.t_off
            s.want("speak", e.t_off, e.t_off + 2.0, es, ref=e.t_off)
        s.pause(rng.uniform(0.5, 1.2))
    if cond == "listen":
        s.want("silent", t0, s.t)
        s.model(["okay"], at=s.t + reply_gap(rng), kind="ack")
    return t0


# --- S1 spoken refusal vs benign look-alike ---------------------------------------------------
def build_refusal(s: Scene, cond: str) -> float:
    rng, split = s.rng, s.split
    make = refusal if cond == "harmful" else benign_lookalike
    u = matched(rng, est_of(lambda: make(rng, split), s.voice.rate), rng.uniform(1.8, 3.3))
    t_end = open_with(s, u)
    s.model(u.answer, at=t_end + reply_gap(rng))
    s.want(
        "speak", t_end - 0.2, t_end + 1.5, " ".join(u.answer), refuse=cond == "harmful", ref=t_end
    )
    return t_end


# --- chit-chat Q&A, and who is being addressed ----------------------------------------------
def build_qa(s: Scene, cond: str) -> float:
    """act "ask": a closed-world question to the model, answered. hold "aside": a question of
    the same length addressed to someone else by name; the model stays out of it."""
    rng, split = s.rng, s.split
    target = rng.uniform(1.4, 2.8 if split != "test" else 3.4)

    def make():
        if cond == "ask":
            u = question(rng, split, s.qa_topics)
            return (est(u.words, s.voice.rate), (u, u.words))
        u = question(rng, split, s.qa_topics)
        name = first_name(rng, split)
        return (est([name, *u.words], s.voice.rate), (u, [name, *u.words]))

    u, words = matched(rng, make, target)
    t_end = open_with(s, u, words)
    if cond == "ask":
        s.model(u.answer, at=t_end + reply_gap(rng))
        s.want("speak", t_end - 0.2, t_end + 1.5, " ".join(u.answer), ref=t_end)
    else:
        s.want("silent", t_end, t_end + 2.5)
    return t_end
