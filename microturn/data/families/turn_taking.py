"""Turn-taking families: T1 pause vs end of turn, T2 listener backchannel, T3 barge-in vs
backchannel / side talk / background speech."""

from __future__ import annotations

from microturn.data.families.scripting import (
    chunks,
    est,
    est_of,
    matched,
    n_chunks,
    open_with,
    pause_len,
    reply_gap,
    speak_chunks,
)
from microturn.data.language.closed_classes import FILLERS
from microturn.data.language.generators import (
    backchannel,
    interruption,
    long_request,
    narrative,
    question,
    side_talk,
    statement,
)
from microturn.data.scene import Scene
from microturn.data.voices import voice_pool
from microturn.timeline import Event

# --- T1 pause vs end of turn -------------------------------------------------------------
# How often a hold may fall where the words so far could end the turn ("what's fourteen minus
# two" ... "please"). Only prosody tells those pauses from an end of turn, and the model reads
# them worst (docs/LOG.md, "where the festival misses are"), so train sees them twice as
# often as dev and test.
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
        u = rng.choice([question, question, statement])(rng, split)
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
        # of `rise`, docs/LOG.md "`rise` exists only in espeak")
        prosody = "cut"
    # a statement has no answer; the model still takes its turn, with a short response
    reply = list(u.answer) or list(backchannel(rng).words)
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
            s.user([rng.choice(FILLERS)], kind="filler")
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
    nar = narrative(rng, s.split, rng.randint(3, 5))
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
                            backchannel(rng).words,
                            at=t_p + rng.uniform(0.1, 0.3),
                            kind="backchannel",
                        )
                else:
                    s.want("silent", t_p, t_p + dur + 0.2)
                s.pause(dur)
            elif end_of_clause and ci < len(nar.clauses) - 1:
                s.pause(rng.uniform(0.05, 0.15))
    t_end = s.t
    ack = backchannel(rng).words
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
    req = long_request(rng, split)
    t_start = open_with(s, req) + reply_gap(rng)
    answer = s.model(req.answer, at=t_start)
    t_i = t_start + rng.uniform(1.5, min(4.5, max(1.6, answer.t_off - t_start - 1.0)))
    twin = (
        cond if cond != "interrupt" else rng.choice(["user_backchannel", "side_talk", "background"])
    )
    others = voice_pool(split)

    def overlap_words(kind: str):
        if kind == "user_backchannel":
            u = backchannel(rng)
        elif kind == "side_talk":
            u = side_talk(rng, split)
        elif kind == "background":
            u = statement(rng, split)
        else:
            u = interruption(rng, split)
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
