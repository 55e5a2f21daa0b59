"""Behaviour families: scripted full-duplex conversations, each as a matched pair of conditions.

Every family has a should-act side (`act=True`: the model should speak, stop, delegate ...)
and a should-not-act side drawn from the *same* duration distributions, so that nothing but
the behaviour-relevant content tells them apart. Each scenario records its decision time
(`meta["decision_t"]`: where the two sides diverge) and the cheap cues a model could cheat
with at that moment (`meta["stats"]`); tests check the two sides' cues are indistinguishable.

Where the two sides' natural lengths differ (a whole sentence vs a fragment of one), we draw a
shared target and draw candidates until one's estimated speech lies near it: stratified
matching, so "speech so far" stops predicting the label.

The model's replies in these scripts are the training targets: it answers ~0.2-0.5 s after an
end of turn, backchannels in clause-final pauses, stops within ~0.3 s of a barge-in, speaks
at requested times, and weaves a delegated result back when the floor is free.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from microturn.data import language as L
from microturn.data.scene import Scene
from microturn.data.voices import voice_pool
from microturn.synth import Voice, synthesize
from microturn.timeline import Event, Timeline

# A fast reference voice used only to *estimate* durations when matching candidates.
_REF = Voice("espeak", "en-us")


@dataclass(frozen=True)
class Family:
    name: str
    task: str  # the benchmark task it feeds (T1 ... S1)
    act: tuple[str, ...]  # should-act conditions
    hold: tuple[str, ...]  # should-not-act conditions
    build: Callable[[Scene, str], float]  # scripts a scene, returns the decision time


def reply_gap(rng: random.Random) -> float:
    """How long after a user's end of turn the model starts to speak (teacher behaviour)."""
    return rng.uniform(0.2, 0.5)


def est(words: Sequence[str], rate: float = 1.0) -> float:
    """Estimated speech duration of `words` (a fast espeak reference, scaled by rate)."""
    return synthesize(" ".join(words), _REF).duration / rate


def matched(
    rng: random.Random, make: Callable[[], tuple], target: float, tol: float = 0.1, tries: int = 60
):
    """Stratified matching: draw candidates `(value, item)` until one lies within `tol` of the
    target (else keep the nearest). Both sides of a pair aim at one shared target
    distribution, so their values end up distributed alike. An item of None is invalid."""
    best = (float("inf"), None)
    for _ in range(tries):
        v, item = make()
        if item is None:
            continue
        if abs(v - target) <= tol:
            return item
        if abs(v - target) < abs(best[0] - target):
            best = (v, item)
    if best[1] is None:
        raise RuntimeError("no valid candidate in {tries} tries")
    return best[1]


def est_of(make: Callable[[], L.Utterance], rate: float = 1.0) -> Callable[[], tuple]:
    """Candidate maker for `matched`: a fresh utterance and its estimated duration."""

    def f():
        u = make()
        return est(u.words, rate), u

    return f


def chunks(words: Sequence[str], cuts: Sequence[int]) -> list[list[str]]:
    b = [0, *cuts, len(words)]
    return [list(words[b[i] : b[i + 1]]) for i in range(len(b) - 1)]


def speak_chunks(
    s: Scene,
    words: Sequence[str],
    cuts: Sequence[int],
    prosody: str,
    pauses: Sequence[float],
    whole: Sequence[str] | None = None,
) -> None:
    """The user says `words` split at `cuts`, pausing `pauses[i]` after chunk i (not the last).
    `whole` is the sentence `words` begin (default: `words` itself, so the turn ends with them).
    Every chunk that the sentence goes on after carries `prosody`: fall (rendered bare), rise
    (comma), cut (cut out of a rendering of `whole`). With `whole` longer than `words` (a hold)
    that includes the last chunk, the one right before the pause the model must sit out."""
    whole = words if whole is None else whole
    parts = chunks(words, cuts)
    b = [0, *cuts, len(words)]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        ends_turn = last and len(words) == len(whole)
        if ends_turn or prosody == "fall":
            s.user(part, role="final" if ends_turn else "fragment")
        elif prosody == "rise":
            s.user(part, prosody="continue", role="fragment")
        else:
            s.user(part, source=(whole, b[i], b[i + 1]), role="fragment")
        if not last:
            s.pause(pauses[i])


def n_chunks(rng: random.Random) -> int:
    return rng.choices([1, 2, 3], weights=[0.5, 0.35, 0.15])[0]


def pause_len(rng: random.Random, split: str) -> float:
    return rng.uniform(0.3, 2.5 if split != "test" else 3.0)


# --- T1 pause vs end of turn -------------------------------------------------------------
# How often a hold may fall where the words so far could end the turn ("what's fourteen minus
# two" ... "please"). Only prosody tells those pauses from an end of turn, and the model reads
# them worst (docs/LOG.md, session 9), so train sees them twice as often as dev and test.
P_COMPLETE = {"train": 0.4, "dev": 0.2, "test": 0.2}


def build_turn(s: Scene, cond: str) -> float:
    """act "eot": k chunks form a whole question, then silence. hold "pause": k chunks form a
    fragment, then a pause (optionally after "um"), then the rest. Sub-conditions: prosody of
    fragments (fall / rise / cut from the whole), the chunk right before the hold's pause
    included; surface-complete fragments, always cut from the whole."""
    rng, split = s.rng, s.split
    k = n_chunks(rng)
    prosody = rng.choice(["fall", "rise", "cut"])
    # a range both whole questions and fragments reach (fragments rarely exceed ~2.5 s)
    target = rng.uniform(1.0, 2.4 if split != "test" else 2.8)
    rate = s.voice.rate
    pauses = [pause_len(rng, split) for _ in range(k + 1)]

    def make():
        u = rng.choice([L.question, L.question, L.statement])(rng, split)
        if cond == "eot":
            inner = [h for h in u.holds]
            if len(inner) < k - 1:
                return (0.0, None)
            cuts = sorted(rng.sample(inner, k - 1))
            return (est(u.words, rate), (u, cuts, len(u.words)))
        pool = list(u.holds) + (list(u.complete_at) if rng.random() < P_COMPLETE[split] else [])
        pool = [h for h in pool if h >= k]  # room for k-1 earlier cuts
        if not pool:
            return (0.0, None)
        h = rng.choice(pool)
        earlier = [c for c in u.holds if c < h]
        if len(earlier) < k - 1:
            return (0.0, None)
        cuts = sorted(rng.sample(earlier, k - 1))
        return (est(u.words[:h], rate), (u, cuts, h))

    u, cuts, h = matched(rng, make, target, tries=120)
    s.note(u)
    if cond != "eot" and h in u.complete_at:
        # words that could end the turn, said as a sentence of their own, then silence: that
        # *is* an end of turn to any listener, so the fragment is cut out of the whole sentence
        # (the one continuation cue every engine renders: flite and festival ignore the comma
        # of `rise`, docs/LOG.md session 10)
        prosody = "cut"
    # a statement has no answer; the model still takes its turn, with a short response
    reply = list(u.answer) or list(L.backchannel(rng).words)
    s.pause(rng.uniform(0.2, 1.0))
    if cond == "eot":
        speak_chunks(s, u.words, cuts, prosody, pauses)
        t_end = s.t
        s.want("speak", t_end - 0.2, t_end + 1.5, " ".join(reply), ref=t_end)
    else:
        speak_chunks(s, u.words[:h], cuts, prosody, pauses, whole=u.words)
        t_end = s.t
        filler = rng.random() < 0.25
        if filler:
            s.pause(rng.uniform(0.1, 0.3))
            s.user([rng.choice(L.FILLERS)], kind="filler")
        s.pause(pauses[-1])
        s.want("silent", t_end, s.t + 0.2)
        s.meta["surface_complete"] = h in u.complete_at
        s.meta["filler"] = filler
        rest = list(u.words[h:])
        if prosody == "cut":
            s.user(rest, source=(u.words, h, len(u.words)), role="final")
        else:
            s.user(rest, role="final")
        s.want("speak", s.t - 0.2, s.t + 1.5, " ".join(reply), ref=s.t)
    s.meta["prosody"] = prosody
    s.model(reply, at=s.t + reply_gap(rng))
    return t_end


# --- T2 listener backchannel -----------------------------------------------------------
def build_backchannel(s: Scene, cond: str) -> float:
    """A narrative with within-turn pauses of one shared length distribution: at clause ends
    (a backchannel fits: the model says "mm hmm") and mid-phrase (it must not). The scenario's
    condition names its probe pause; the others are mixed."""
    rng = s.rng
    nar = L.narrative(rng, s.split, rng.randint(3, 5))
    for u in nar.clauses:
        s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    pauses: list[tuple[int, int, bool]] = []  # (clause, word index, appropriate)
    for ci in range(len(nar.clauses)):
        for k in nar.bc_points[ci]:
            pauses.append((ci, k, True))
        for k in nar.hesitation_points[ci]:
            pauses.append((ci, k, False))

    # The probe pause: of the wanted type, at about the time of a pause drawn from all of
    # them (clause ends come later in a clause than hesitations; this keeps "speech so far"
    # at the probe alike for both conditions).
    def before(p: tuple[int, int, bool]) -> float:
        ci, k, _ = p
        done = [w for c in nar.clauses[:ci] for w in c.words]
        return est([*done, *nar.clauses[ci].words[:k]], s.voice.rate)

    target = before(rng.choice(pauses))
    want_ok = cond == "bc_ok"
    probe = min((p for p in pauses if p[2] == want_ok), key=lambda p: abs(before(p) - target))
    chosen = {probe} | {p for p in pauses if rng.random() < 0.5}
    decision = 0.0
    for ci, u in enumerate(nar.clauses):
        cuts = sorted({k for (c, k, _) in chosen if c == ci and 0 < k < len(u.words)})
        parts = chunks(u.words, cuts)
        for pi, part in enumerate(parts):
            end_of_clause = pi == len(parts) - 1
            k = cuts[pi] if not end_of_clause else len(u.words)
            ok = (ci, k, True) in chosen
            s.user(part, prosody="continue" if ok else "final")
            here = [p for p in chosen if p[0] == ci and p[1] == k]
            if here:
                t_p = s.t
                dur = rng.uniform(0.3, 0.8)
                if here[0] == probe:
                    decision = t_p
                if here[0][2]:
                    s.want("backchannel", t_p, t_p + 1.0)
                    if rng.random() < 0.8:
                        s.model(
                            L.backchannel(rng).words,
                            at=t_p + rng.uniform(0.1, 0.3),
                            kind="backchannel",
                        )
                else:
                    s.want("silent", t_p, t_p + dur + 0.2)
                s.pause(dur)
            elif end_of_clause and ci < len(nar.clauses) - 1:
                s.pause(rng.uniform(0.05, 0.15))
    t_end = s.t
    ack = L.backchannel(rng).words
    s.want("speak", t_end - 0.2, t_end + 1.5, ref=t_end)
    s.model(ack, at=t_end + reply_gap(rng))
    s.meta["probe_pause"] = list(probe)
    return decision


# --- T3 barge-in vs backchannel / side talk / background ---------------------------------
def build_barge_in(s: Scene, cond: str) -> float:
    """The user asks for a long answer; while the model speaks, something overlaps: an
    interruption (act: stop within ~0.3 s), or a user backchannel, side talk, background
    speech (hold: keep talking). Overlap lengths are matched through a shared twin type."""
    rng, split = s.rng, s.split
    req = L.long_request(rng, split)
    s.note(req)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(req.words)
    t_start = s.t + reply_gap(rng)
    answer = s.model(req.answer, at=t_start)
    t_i = t_start + rng.uniform(1.5, min(4.5, max(1.6, answer.t_off - t_start - 1.0)))
    twin = (
        cond if cond != "interrupt" else rng.choice(["user_backchannel", "side_talk", "background"])
    )
    others = voice_pool(split)

    def overlap_words(kind: str):
        if kind == "user_backchannel":
            u = L.backchannel(rng)
        elif kind == "side_talk":
            u = L.side_talk(rng, split)
        elif kind == "background":
            u = L.statement(rng, split)
        else:
            u = L.interruption(rng, split)
        return u

    target = est(overlap_words(twin).words, s.voice.rate)
    u = matched(
        rng,
        est_of(lambda: overlap_words(cond), s.voice.rate),
        target,
        tries=30,
    )
    if u.template:
        s.note(u)
    if cond in ("interrupt", "user_backchannel"):
        e = s.user(u.words, kind="interruption" if cond == "interrupt" else "backchannel", at=t_i)
    elif cond == "side_talk":
        e = s.other(
            u.words,
            others.sample(rng),
            at=t_i,
            kind="side_talk",
            gain_db=s.gain_db + rng.uniform(-2, 2),
        )
    else:
        e = s.other(
            u.words,
            others.sample(rng),
            at=t_i,
            kind="background",
            gain_db=s.gain_db - rng.choice([10.0, 20.0]),
        )
    if cond == "interrupt":
        stop = t_i + rng.uniform(0.15, 0.4)
        truncate(answer, stop)
        s.want("stop", t_i, t_i + 0.5)
        ikind = u.attrs.get("kind", "stop")
        if ikind == "question" and u.answer:
            s.model(u.answer, at=e.t_off + reply_gap(rng))
            s.want("speak", e.t_off - 0.2, e.t_off + 1.5, " ".join(u.answer), ref=e.t_off)
        elif ikind == "repeat":
            s.model(req.answer[:8], at=e.t_off + reply_gap(rng))
        s.meta["interrupt_kind"] = ikind
    else:
        s.want("continue", e.t_on, e.t_off + 1.0)
    s.meta["overlap_s"] = round(e.t_off - e.t_on, 3)
    return t_i


def truncate(e: Event, t: float) -> None:
    """Cut a model utterance at time t: later words are never said."""
    e.words = [w for w in e.words if w.t_on < t]
    if e.words and e.words[-1].t_off > t:
        e.words[-1].t_off = round(t, 4)
    e.attrs["stop_at"] = round(t, 4)
    e.t_off = round(min(e.t_off, t), 4)


# --- T4 elapsed time -------------------------------------------------------------------------
def build_elapsed(s: Scene, cond: str) -> float:
    """A marker ("start the clock"), D seconds of silence or chatter, then the question
    (act: answer with the number of seconds) or a same-length cancel (hold: no number)."""
    rng, split = s.rng, s.split
    marker, question, cancel = L.elapsed(rng, split)
    for u in (marker, question, cancel):
        s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(marker.words)
    t_mark = s.t
    s.model(L.backchannel(rng).words, at=t_mark + reply_gap(rng), kind="ack")
    hi = 30.0 if split != "test" else 60.0
    D = rng.uniform(2.0, hi)
    if D > 8 and rng.random() < 0.4:  # some chatter in the gap
        st = L.statement(rng, split)
        s.note(st)
        s.pause(rng.uniform(1.0, 3.0))
        s.user(st.words)
    s.t = max(s.t + 0.5, t_mark + D - est(question.words, s.voice.rate))
    u = (
        question
        if cond == "ask"
        else matched(
            rng,
            est_of(lambda: L.elapsed(rng, split)[2]),
            est(question.words),
            tries=30,
        )
    )
    s.user(u.words)
    t_end = s.t
    elapsed = round(t_end - t_mark)
    if cond == "ask":
        ans = ["about", *L.number_words(elapsed).split(), "seconds"]
        s.model(ans, at=t_end + reply_gap(rng))
        s.want("speak", t_end - 0.2, t_end + 1.5, " ".join(ans), value=t_end - t_mark, ref=t_end)
    else:
        s.model(["okay"], at=t_end + reply_gap(rng), kind="ack")
        s.want("no_number", t_end, t_end + 3.0)
    s.meta["elapsed_s"] = round(t_end - t_mark, 3)
    return t_end


# --- T5 timed and periodic speech ------------------------------------------------------------
def build_timed(s: Scene, cond: str) -> float:
    """ "say now in N seconds" (once / periodic / countdown), then a neutral follow-up (act:
    speak at the requested times) or a cancel of the same length (hold: stay silent)."""
    rng, split = s.rng, s.split
    secs = [2, 3, 4, 5, 6, 8, 10] if split != "test" else [2, 3, 5, 8, 13, 20]
    req = L.timed_request(rng, split, seconds=rng.choice(secs))
    s.note(req)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(req.words)
    t_req = s.t
    s.model(["okay"], at=t_req + reply_gap(rng), kind="ack")
    twin = L.timed_followup(rng, split, cancel=rng.random() < 0.5)
    follow = matched(
        rng,
        est_of(lambda: L.timed_followup(rng, split, cond == "cancel")),
        est(twin.words),
        tries=30,
    )
    s.note(follow)
    s.pause(rng.uniform(0.6, 1.2))
    s.user(follow.words)
    a = req.attrs
    if a["kind"] == "once":
        times = [t_req + a["seconds"]]
        words = [[a["word"]]]
    elif a["kind"] == "periodic":
        times = [t_req + a["period"] * (i + 1) for i in range(a["times"])]
        words = [[a["word"]]] * a["times"]
    else:  # countdown from n, one per second
        n = a["start"]
        times = [t_req + 1.0 + i for i in range(n)]
        words = [L.number_words(n - i).split() for i in range(n)]
    times = [max(t, s.t + 0.3) for t in times]  # never before the follow-up ends
    for t, w in zip(times, words, strict=True):
        tol = max(0.4, 0.1 * (t - t_req))
        if cond == "timed":
            s.model(w, at=t, kind="timed")
            s.want("speak", t - tol, t + tol, " ".join(w), ref=t)
        else:
            s.want("silent", t - tol, t + tol)
    s.meta["timed_kind"] = a["kind"]
    return s.t


# --- T6 cue-triggered interjection, count aloud ----------------------------------------------
def build_cue(s: Scene, cond: str) -> float:
    """An instruction, then the user reads a word list. act "cue": the cue (a word or a beep)
    comes at T_c and the model answers at once, talking over the list; hold "catch": at T_c
    there is a lure or a plain word instead. "count"/"count_catch": count each beep aloud."""
    rng, split = s.rng, s.split
    counting = cond in ("count", "count_catch")
    ins = L.count_instruction(rng, split) if counting else L.cue_instruction(rng, split)
    s.note(ins)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(ins.words)
    s.model(["okay"], at=s.t + reply_gap(rng), kind="ack")
    s.pause(rng.uniform(1.0, 2.0))
    t0 = s.t
    if counting:
        n = rng.randint(5, 12 if split != "test" else 15)
        gaps = [rng.uniform(0.8, 2.5) for _ in range(n)]
        t = t0
        for i, g in enumerate(gaps):
            t += g
            if cond == "count":
                s.beep(t, 1000.0)
                w = L.number_words(i + 1).split()
                s.model(w, at=t + 0.2 + rng.uniform(0.1, 0.3), kind="count")
                s.want("speak", t + 0.2, t + 1.7, " ".join(w), ref=t)
            else:
                s.beep(t, 500.0, kind="tone")  # a lure tone: not "the beep"
        s.meta["n_beeps"] = n if cond == "count" else 0
        s.want("count", t0, t + 2.0, L.number_words(s.meta["n_beeps"]))
        s.t = t + 2.0
        return t0 + gaps[0]
    a = ins.attrs
    stream_len = rng.uniform(8.0, 25.0 if split != "test" else 35.0)
    t_c = t0 + rng.uniform(2.0, stream_len - 2.0)
    decision = t_c
    while s.t < t0 + stream_len:
        if abs(s.t - t_c) < 0.5 and "done" not in s.meta:
            s.meta["done"] = True
            decision = s.t
            if cond == "cue":
                if a["cue"] == "beep":
                    e = s.beep(s.t, 1000.0)
                else:
                    e = s.user([a["cue"]], kind="cue")
                s.model(a["response"].split(), at=e.t_off + rng.uniform(0.2, 0.5), kind="cue")
                s.want("speak", e.t_off, e.t_off + 1.5, a["response"], ref=e.t_off)
            else:
                lure = rng.random() < 0.6
                if a["cue"] == "beep":
                    e = s.beep(s.t, 500.0, kind="tone") if lure else None
                elif lure:
                    e = s.user([rng.choice(a["lures"])], kind="lure")
                else:
                    e = s.user(L.word_list(rng, split, 1), kind="word")
                t_l = e.t_off if e else s.t
                s.want("silent", t_l, t_l + 1.5)
            if a["cue"] == "beep" and (cond == "cue" or lure):
                s.pause(0.3)
        else:
            s.user(L.word_list(rng, split, 1), kind="word")
        s.pause(rng.uniform(0.3, 1.0))
    s.meta.pop("done", None)
    return decision


# --- T7 delegation with the result woven back ----------------------------------------------
def build_delegate(s: Scene, cond: str) -> float:
    """act "delegate": a request that needs a tool; the model acknowledges, hands it to the
    background model (tool channel), keeps chatting, and says the result when it arrives and
    the floor is free. hold "direct": a look-alike it answers at once, no delegation."""
    rng, split = s.rng, s.split
    make = L.tool_request if cond == "delegate" else L.direct_request
    u = matched(rng, est_of(lambda: make(rng, split), s.voice.rate), rng.uniform(1.7, 2.9))
    s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(u.words)
    t_end = s.t
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
    latency = rng.choice([1.0, 3.0, 6.0, 10.0])
    t_res = ack.t_on + latency
    s.add(Event("tool", "tool_result", t_res, t_res, a["result"], attrs={"tool": a["tool"]}))
    s.add(Event("side_text", "tool_result", t_res, t_res, a["result"]))
    s.want("silent_value", t_end, t_res, a["result"])  # no hallucinated result before it exists
    busy_until = ack.t_off
    if rng.random() < 0.5:  # an unrelated question while the tool runs
        q = L.question(rng, split)
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
    s.model(u.answer, at=t_say, kind="result")
    s.want("speak", t_say - 0.5, max(t_res, s.t) + 2.0, " ".join(u.answer), woven=True, ref=t_say)
    s.meta["tool_latency"] = latency
    return t_end


# --- T8 self-repair ---------------------------------------------------------------------------
def build_repair(s: Scene, cond: str) -> float:
    """hold "repair": "set a timer for five [pause] no seven minutes": the model must wait in
    the pause and then use the corrected value. act "plain": the same request said whole,
    answered at once. Decision: the end of the first segment."""
    rng, split = s.rng, s.split

    def make():
        u = L.self_repair(rng, split)
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
        x = L.interpretation(rng, split, listen=cond == "listen")
        rate = round(rng.uniform(lo, hi), 2)
        return est(x[0].words, rate), (x, rate)

    (ins, pairs), rate = matched(rng, make, rng.uniform(2.0, 3.0), tries=120)
    s.voice = replace(s.voice, rate=rate)
    s.note(ins)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(ins.words)
    s.model(["okay"], at=s.t + reply_gap(rng), kind="ack")
    s.pause(rng.uniform(1.0, 1.8))
    t0 = s.t
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
    make = L.refusal if cond == "harmful" else L.benign_lookalike
    u = matched(rng, est_of(lambda: make(rng, split), s.voice.rate), rng.uniform(1.8, 3.3))
    s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(u.words)
    t_end = s.t
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
            u = L.question(rng, split)
            return (est(u.words, s.voice.rate), (u, u.words))
        u = L.question(rng, split)
        name = L.name(rng, split)
        return (est([name, *u.words], s.voice.rate), (u, [name, *u.words]))

    u, words = matched(rng, make, target)
    s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(words)
    t_end = s.t
    if cond == "ask":
        s.model(u.answer, at=t_end + reply_gap(rng))
        s.want("speak", t_end - 0.2, t_end + 1.5, " ".join(u.answer), ref=t_end)
    else:
        s.want("silent", t_end, t_end + 2.5)
    return t_end


# --- V1-V3 visual proactivity ---------------------------------------------------------------
def build_visual(s: Scene, cond: str) -> float:
    """The camera shows a lamp, a bouncing ball or squares. act: say "green" when the lamp
    turns green / count each bounce / answer how many squares; hold: the lamp never turns
    green / the ball lies still / the question is addressed to someone else."""
    rng, split = s.rng, s.split
    task = {
        "light": "light",
        "no_green": "light",
        "bounce": "bounce",
        "still": "bounce",
        "squares": "squares",
        "squares_aside": "squares",
    }[cond]

    def make():
        u = L.visual_instruction(rng, split, task=task)
        w = [L.name(rng, split), *u.words] if cond == "squares_aside" else list(u.words)
        return est(w, s.voice.rate), (u, w)

    ins, words = matched(rng, make, rng.uniform(1.6, 2.6))
    s.note(ins)
    s.pause(rng.uniform(0.2, 1.0))
    t_cam = s.t
    s.user(words)
    t_ins = s.t
    span = rng.uniform(6.0, 14.0 if split != "test" else 20.0)
    t_stop = t_ins + span
    decision = t_ins
    if task == "light":
        s.model(["okay"], at=t_ins + reply_gap(rng), kind="ack")
        others = ["red", "yellow", "blue", "white", "orange"]
        n = rng.randint(2, 5)
        times = sorted(t_ins + rng.uniform(1.0, span - 1.5) for _ in range(n))
        cols = [rng.choice(others) for _ in range(n)]
        if cond == "light":
            cols[-1] = "green"
            s.model(ins.answer or ["green"], at=times[-1] + rng.uniform(0.3, 0.6), kind="cue")
            s.want("speak", times[-1], times[-1] + 1.5, "green", ref=times[-1])
        else:
            s.want("silent", times[-1], times[-1] + 1.5)
        decision = times[-1]
        attrs = {"changes": [[round(t, 3), c] for t, c in zip(times, cols, strict=True)]}
    elif task == "bounce":
        s.model(["okay"], at=t_ins + reply_gap(rng), kind="ack")
        n = rng.randint(3, 7)
        t, bounces = t_ins + 0.5, []
        for _ in range(n):
            t += rng.uniform(0.8, 2.0)
            bounces.append(round(t, 3))
        t_stop = max(t_stop, t + 1.0)
        if cond == "bounce":
            for i, tb in enumerate(bounces):
                w = L.number_words(i + 1).split()
                s.model(w, at=tb + rng.uniform(0.2, 0.4), kind="count")
                s.want("speak", tb, tb + 1.5, " ".join(w), ref=tb)
            attrs = {"bounces": bounces, "t0": t_ins, "x0": rng.randint(15, 65)}
        else:
            s.want("silent", t_ins + 1.0, t_stop)
            attrs = {"bounces": [], "t0": t_ins, "x0": rng.randint(15, 65)}
        decision = bounces[0]
    else:
        n = rng.randint(1, 6)
        sq = []
        for _ in range(n):
            side = rng.randint(8, 16)
            sq.append(
                [
                    rng.randint(0, 80 - side),
                    rng.randint(0, 80 - side),
                    side,
                    rng.choice(["red", "green", "blue", "yellow", "white"]),
                ]
            )
        attrs = {"squares": sq}
        if cond == "squares":
            ans = L.number_words(n).split()
            s.model(ans, at=t_ins + reply_gap(rng))
            s.want("speak", t_ins - 0.2, t_ins + 1.5, " ".join(ans), ref=t_ins)
        else:
            s.want("silent", t_ins, t_ins + 2.5)
        t_stop = t_ins + 3.0
    s.add(Event("video", task, round(t_cam, 4), round(t_stop, 4), "", attrs=attrs))
    s.t = max(s.t, t_stop)
    return decision


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("turn", "T1", ("eot",), ("pause",), build_turn),
        Family("backchannel", "T2", ("bc_ok",), ("bc_no",), build_backchannel),
        Family(
            "barge_in",
            "T3",
            ("interrupt",),
            ("user_backchannel", "side_talk", "background"),
            build_barge_in,
        ),
        Family("elapsed", "T4", ("ask",), ("cancel",), build_elapsed),
        Family("timed", "T5", ("timed",), ("cancel",), build_timed),
        Family("cue", "T6", ("cue", "count"), ("catch", "count_catch"), build_cue),
        Family("delegate", "T7", ("delegate",), ("direct",), build_delegate),
        Family("repair", "T8", ("plain",), ("repair",), build_repair),
        Family("interpret", "T9", ("translate",), ("listen",), build_interpret),
        Family(
            "visual",
            "V",
            ("light", "bounce", "squares"),
            ("no_green", "still", "squares_aside"),
            build_visual,
        ),
        Family("refusal", "S1", ("harmful",), ("benign",), build_refusal),
        Family("qa", "QA", ("ask",), ("aside",), build_qa),
    ]
}


def conditions(family: str) -> list[tuple[str, bool]]:
    f = FAMILIES[family]
    return [(c, True) for c in f.act] + [(c, False) for c in f.hold]


def make_scenario(family: str, condition: str, split: str, seed: int) -> Timeline:
    """One scenario, fully determined by (family, condition, split, seed)."""
    f = FAMILIES[family]
    act = condition in f.act
    if not act and condition not in f.hold:
        raise ValueError(f"family {family!r} has no condition {condition!r}")
    rng = random.Random(f"{family}/{condition}/{split}/{seed}")
    s = Scene(rng, split, voice_pool(split).sample(rng))
    decision = f.build(s, condition)
    tl = s.timeline(
        f"{split}-{family}-{condition}-{seed}", family, condition, act, tail=rng.uniform(1.5, 3.0)
    )
    decision = round(decision, 4)
    tl.meta["decision_t"] = decision
    tl.meta["stats"] = shortcut_stats(tl, decision)
    tl.meta["task"] = f.task
    return tl


def shortcut_stats(tl: Timeline, t: float) -> dict:
    """Cheap cues available at the decision time t: the user's speech so far, the number of
    speech segments, the time itself."""
    segs = [e for e in tl.on("user") if e.t_on < t - 1e-3]  # strictly before: the cue itself
    # (an interruption, a cue word) starts at t and is not a shortcut
    speech = sum(min(e.t_off, t) - e.t_on for e in segs)
    return {
        "speech_before": round(speech, 3),
        "segments_before": len(segs),
        "decision_t": round(t, 3),
    }
