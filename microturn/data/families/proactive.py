"""Families where the model speaks on its own initiative: T4 elapsed time, T5 timed and
periodic speech, T6 cue-triggered interjection and counting aloud, V1-V3 what it sees."""

from __future__ import annotations

from microturn.data.families.scripting import est, est_of, instruct, matched, open_with, reply_gap
from microturn.data.language.generators import (
    backchannel,
    count_instruction,
    cue_instruction,
    elapsed,
    statement,
    timed_followup,
    timed_request,
    visual_instruction,
    word_list,
)
from microturn.data.language.lexicon import name as first_name
from microturn.data.language.numbers import number_words
from microturn.data.scene import Scene
from microturn.timeline import Event


# --- T4 elapsed time -------------------------------------------------------------------------
def build_elapsed(s: Scene, cond: str) -> float:
    """A marker ("start the clock"), D seconds of silence or chatter, then the question
    (act: answer with the number of seconds) or a same-length cancel (hold: no number)."""
    rng, split = s.rng, s.split
    marker, question, cancel = elapsed(rng, split)
    for u in (marker, question, cancel):
        s.note(u)
    s.pause(rng.uniform(0.2, 1.0))
    s.user(marker.words)
    t_mark = s.t
    s.model(backchannel(rng).words, at=t_mark + reply_gap(rng), kind="ack")
    hi = 30.0 if split != "test" else 60.0
    D = rng.uniform(2.0, hi)
    if D > 8 and rng.random() < 0.4:  # some chatter in the gap
        st = statement(rng, split)
        s.note(st)
        s.pause(rng.uniform(1.0, 3.0))
        s.user(st.words)
    s.t = max(s.t + 0.5, t_mark + D - est(question.words, s.voice.rate))
    u = (
        question
        if cond == "ask"
        else matched(
            rng,
            est_of(lambda: elapsed(rng, split)[2]),
            est(question.words),
            tries=30,
        )
    )
    s.user(u.words)
    t_end = s.t
    seconds = round(t_end - t_mark)
    if cond == "ask":
        ans = ["about", *number_words(seconds).split(), "seconds"]
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
    req = timed_request(rng, split, seconds=rng.choice(secs))
    t_req = open_with(s, req)
    s.model(["okay"], at=t_req + reply_gap(rng), kind="ack")
    twin = timed_followup(rng, split, cancel=rng.random() < 0.5)
    follow = matched(
        rng,
        est_of(lambda: timed_followup(rng, split, cond == "cancel")),
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
        words = [number_words(n - i).split() for i in range(n)]
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
    ins = count_instruction(rng, split) if counting else cue_instruction(rng, split)
    t0 = instruct(s, ins, 2.0)
    if counting:
        n = rng.randint(5, 12 if split != "test" else 15)
        gaps = [rng.uniform(0.8, 2.5) for _ in range(n)]
        t = t0
        for i, g in enumerate(gaps):
            t += g
            if cond == "count":
                s.beep(t, 1000.0)
                w = number_words(i + 1).split()
                s.model(w, at=t + 0.2 + rng.uniform(0.1, 0.3), kind="count")
                s.want("speak", t + 0.2, t + 1.7, " ".join(w), ref=t)
            else:
                s.beep(t, 500.0, kind="tone")  # a lure tone: not "the beep"
        s.meta["n_beeps"] = n if cond == "count" else 0
        s.want("count", t0, t + 2.0, number_words(s.meta["n_beeps"]))
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
                    e = s.user(word_list(rng, split, 1), kind="word")
                t_l = e.t_off if e else s.t
                s.want("silent", t_l, t_l + 1.5)
            if a["cue"] == "beep" and (cond == "cue" or lure):
                s.pause(0.3)
        else:
            s.user(word_list(rng, split, 1), kind="word")
        s.pause(rng.uniform(0.3, 1.0))
    s.meta.pop("done", None)
    return decision


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
        u = visual_instruction(rng, split, task=task)
        w = [first_name(rng, split), *u.words] if cond == "squares_aside" else list(u.words)
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
                w = number_words(i + 1).split()
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
            ans = number_words(n).split()
            s.model(ans, at=t_ins + reply_gap(rng))
            s.want("speak", t_ins - 0.2, t_ins + 1.5, " ".join(ans), ref=t_ins)
        else:
            s.want("silent", t_ins, t_ins + 2.5)
        t_stop = t_ins + 3.0
    s.add(Event("video", task, round(t_cam, 4), round(t_stop, 4), "", attrs=attrs))
    s.t = max(s.t, t_stop)
    return decision
