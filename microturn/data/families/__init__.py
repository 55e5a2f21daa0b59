"""Behaviour families: scripted full-duplex conversations, each as a matched pair of conditions.

Every family has a should-act side (`act=True`: the model should speak, stop, delegate ...)
and a should-not-act side drawn from the *same* duration distributions, so that nothing but
the behaviour-relevant content tells them apart. Each scenario records its decision time
(`meta["decision_t"]`: where the two sides diverge) and the cheap cues a model could cheat
with at that moment (`meta["stats"]`); tests check the two sides' cues are indistinguishable.

This module is the registry (`FAMILIES`) and the one way to make a scenario; the scripts live
by family group: `turn_taking` (T1-T3), `proactive` (T4-T6, V1-V3), `requests` (T7-T9, S1, QA),
sharing the moves in `scripting`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from microturn.data.families.proactive import build_cue, build_elapsed, build_timed, build_visual
from microturn.data.families.requests import (
    build_delegate,
    build_interpret,
    build_qa,
    build_refusal,
    build_repair,
)
from microturn.data.families.turn_taking import build_backchannel, build_barge_in, build_turn
from microturn.data.scene import Scene
from microturn.data.voices import voice_pool
from microturn.timeline import Timeline


@dataclass(frozen=True)
class Family:
    name: str
    task: str  # the benchmark task it feeds (T1 ... S1)
    act: tuple[str, ...]  # should-act conditions
    hold: tuple[str, ...]  # should-not-act conditions
    build: Callable[[Scene, str], float]  # scripts a scene, returns the decision time


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


def make_scenario(
    family: str, condition: str, split: str, seed: int, qa_topics: tuple[str, ...] = ()
) -> Timeline:
    """One scenario, fully determined by (family, condition, split, seed); `qa_topics` keeps
    a QA scenario's question to those cores (`questions.KNOWLEDGE`'s keys; empty: all), and
    its id then ends in them."""
    f = FAMILIES[family]
    act = condition in f.act
    if not act and condition not in f.hold:
        raise ValueError(f"family {family!r} has no condition {condition!r}")
    rng = random.Random(f"{family}/{condition}/{split}/{seed}")
    s = Scene(rng, split, voice_pool(split).sample(rng), qa_topics)
    decision = f.build(s, condition)
    sid = f"{split}-{family}-{condition}-{seed}"
    if qa_topics and family == "qa":
        sid += "-" + "+".join(qa_topics)
    tl = s.timeline(sid, family, condition, act, tail=rng.uniform(1.5, 3.0))
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
