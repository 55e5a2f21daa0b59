"""The grammar: every family's phrase tables combined into templates, and drawing them by split.

Frames x prefixes x suffixes x structure variants give thousands of distinct templates, each
with labelled pause positions, grouped by generator ("question", "timed.once" ...).
"""

from __future__ import annotations

import random
from functools import cache

from microturn.data.language import conversation, instructions, questions, refusals, tools
from microturn.data.language.closed_classes import BACKCHANNELS
from microturn.data.language.grammar import Frame, Grammar, Utterance, const, realize, render
from microturn.data.language.splits import check_split, split_of_template


@cache
def _grammar() -> Grammar:
    g = Grammar()
    cores = questions.qa_cores()
    for cid, qi, pat, make in cores:  # 1 questions
        pre, suf = (
            (questions.Q_PRE, questions.Q_SUF) if qi == "q" else (questions.I_PRE, questions.I_SUF)
        )
        g.add("question", "qa", f"qa.{cid}", pat, make, pre, suf, topic=cid.split(".")[0])
    for sid, pat, suf in conversation.STATEMENTS:  # 2 statements
        g.add("statement", "statement", f"statement.{sid}", pat, None, conversation.S_PRE, suf)
    for tid, tpat in conversation.N_TIMES:  # 3 narratives
        for oid, opat in conversation.N_OPEN:
            g.add(
                "narrative.open",
                "narrative",
                f"narrative.open.{tid}.{oid}",
                f"{tpat} | {opat}",
                pre=conversation.N_LEAD,
            )
    for eid, epat in conversation.N_EVENTS:
        g.add(
            "narrative.event",
            "narrative",
            f"narrative.event.{eid}",
            epat,
            pre=conversation.N_CONNECT,
            body=eid,
        )
    for cid, cpat in conversation.N_CLOSE:
        g.add(
            "narrative.close",
            "narrative",
            f"narrative.close.{cid}",
            cpat,
            pre=conversation.N_CLOSE_LEAD,
        )
    g.add_table(  # 4 interruptions
        "interrupt.stop",
        "interrupt",
        enumerate(conversation.STOPS),
        conversation.INT_PRE,
        kind="stop",
    )
    g.add_table(
        "interrupt.repeat",
        "interrupt",
        enumerate(conversation.REPEATS),
        conversation.INT_PRE[:5],
        kind="repeat",
    )
    for cid, qi, pat, make in cores:
        if qi == "q" and cid.startswith(conversation.INT_QCORES):
            g.add(
                "interrupt.question",
                "interrupt",
                f"interrupt.q.{cid}",
                pat,
                make,
                conversation.INT_QPRE,
                kind="question",
            )
    for tok in BACKCHANNELS:  # 5 backchannels
        g.add("backchannel", "backchannel", f"backchannel.{tok.replace(' ', '_')}", tok, const())
    for tok in ("yeah", "right", "okay", "yep", "sure", "mm hmm", "uh huh", "i see", "true"):
        for pre in ("oh", "ah"):
            g.add(
                "backchannel",
                "backchannel",
                f"backchannel.{pre}_{tok.replace(' ', '_')}",
                f"{pre} {tok}",
                const(),
            )
    for tok in ("yeah", "right", "okay", "yep", "sure", "mm hmm", "uh huh", "true", "exactly"):
        g.add(
            "backchannel",
            "backchannel",
            f"backchannel.{tok.replace(' ', '_')}_x2",
            f"{tok} {tok}",
            const(),
        )
    for sid, pat in conversation.SIDE:  # 6 side talk
        for aid, pre, suf in conversation.SIDE_ADDRESS:
            g.add("side_talk", "side_talk", f"side.{sid}.{aid}", f"{pre} {pat} {suf}")
    for lid, pat in conversation.LONG:  # 7 long requests
        g.add(
            "long_request",
            "long_request",
            f"long.{lid}",
            pat,
            conversation.mk_long(lid),
            conversation.L_PRE,
            conversation.L_SUF,
        )
    for mid, pat, ref in instructions.E_MARKERS:  # 8 elapsed
        g.add(
            "elapsed.marker",
            "elapsed",
            f"elapsed.marker.{mid}",
            pat,
            const(),
            instructions.E_PRE,
            ref=ref,
        )
    g.add_table(
        "elapsed.question",
        "elapsed",
        instructions.E_QUESTIONS,
        instructions.E_QPRE,
        instructions.E_QSUF,
        unit="seconds",
    )
    g.add_table(
        "elapsed.cancel",
        "elapsed",
        instructions.E_CANCELS,
        instructions.E_QPRE,
        instructions.E_CSUF,
        cancel=True,
    )
    for kind, frames in (
        ("once", instructions.T_ONCE),
        ("periodic", instructions.T_PERIODIC),
        ("countdown", instructions.T_COUNTDOWN),
    ):  # 9 timed
        g.add_table(f"timed.{kind}", "timed", frames, instructions.TM_PRE, kind=kind)
    g.add_table(
        "timed.cancel",
        "timed",
        enumerate(instructions.T_CANCEL),
        instructions.T_CPRE,
        kind="cancel",
    )
    g.add_table(
        "timed.followup",
        "timed",
        enumerate(instructions.T_FOLLOW),
        instructions.T_FPRE,
        kind="followup",
    )
    for group, frames in (
        ("cue.word", instructions.C_WORD),
        ("cue.beep", instructions.C_BEEP),
        ("cue.count", instructions.C_COUNT),
    ):  # 10 cues
        g.add_table(group, "cue", frames, instructions.C_PRE)
    for rid, before, after, _ans, _kind in conversation.REPAIRS:  # 11 self-repair
        for mid, mpat in conversation.R_MARKERS:
            g.add(
                "self_repair",
                "self_repair",
                f"repair.{rid}.{mid}",
                f"{before} {mpat} | {after}",
                const(),
                repair=rid,
                marker=mid,
            )
    for op in questions.OPS:  # 12 tools and direct look-alikes
        for fid, pat in (
            ("what_is", "what | is | {a} | OP | {b}"),
            ("whats", "what's | {a} | OP | {b}"),
            ("how_much", "how | much | is | {a} | OP | {b}"),
        ):
            for mode in ("tool", "direct"):
                g.add(
                    mode,
                    mode,
                    f"{mode}.calc.{fid}.{op}",
                    pat.replace("OP", questions.OPS[op]),
                    tools.mk_calculation(op, mode),
                    tools.TOOL_PRE,
                    questions.Q_SUF,
                )
        for fid, pat in (("calculate", f"calculate | {{a}} | {questions.OPS[op]} | {{b}}"),):
            for mode in ("tool", "direct"):
                g.add(
                    mode,
                    mode,
                    f"{mode}.calc.{fid}.{op}",
                    pat,
                    tools.mk_calculation(op, mode),
                    tools.TOOL_IPRE,
                    questions.Q_SUF,
                )
    for fid, qi, pat in tools.CONVERT:
        for mode in ("tool", "direct"):
            g.add(
                mode,
                mode,
                f"{mode}.convert.{fid}",
                pat,
                tools.mk_convert(mode),
                tools.TOOL_PRE if qi == "q" else tools.TOOL_IPRE,
                questions.Q_SUF,
            )
    for fid, pat in tools.WEATHER_Q:
        g.add(
            "tool",
            "tool",
            f"tool.weather.{fid}",
            pat,
            tools.mk_weather,
            tools.TOOL_PRE,
            questions.Q_SUF,
        )
    for i, pat in enumerate(tools.TIMERS):
        g.add(
            "tool", "tool", f"tool.timer.{i}", pat, tools.mk_timer, tools.TOOL_IPRE, questions.Q_SUF
        )
    for fid, table, pat in tools.LOOKUP:
        g.add(
            "tool",
            "tool",
            f"tool.lookup.{fid}",
            pat,
            tools.mk_lookup(table, fid),
            tools.TOOL_PRE,
            questions.Q_SUF,
        )
    for i, (kind, table, pat) in enumerate(tools.DIRECT_FACTS):
        g.add(
            "direct",
            "direct",
            f"direct.fact.{kind}.{i}",
            pat,
            tools.mk_direct_fact(table, kind),
            tools.TOOL_PRE,
            questions.Q_SUF,
        )
    g.add_table(  # 13 interpretation
        "interpretation",
        "interpretation",
        enumerate(instructions.INTERP),
        instructions.IN_PRE,
        instructions.IN_SUF,
        stem="interp.translate",
        listen=False,
    )
    g.add_table(
        "interpretation.listen",
        "interpretation",
        enumerate(instructions.LISTEN),
        instructions.IN_PRE,
        instructions.IN_SUF,
        stem="interp.listen",
        listen=True,
    )
    for hid, pat in refusals.HARMFUL:  # 14 refusals
        g.add(
            "refusal",
            "refusal",
            f"refusal.{hid}",
            pat,
            None,
            refusals.H_PRE,
            refusals.H_SUF,
            harmful=True,
        )
    for bid, pat, ans in refusals.BENIGN:
        g.add(
            "benign",
            "benign",
            f"benign.{bid}",
            pat,
            None,
            refusals.H_PRE,
            refusals.H_SUF,
            ans,
            harmful=False,
        )
    # the timed and cue loops' shape again: registry entries differ in tables and attrs, not logic
    for task, frames in (
        ("light", instructions.V_LIGHT),
        ("bounce", instructions.V_BOUNCE),
        ("squares", instructions.V_SQUARES),
    ):  # 15 visual
        g.add_table(
            f"visual.{task}",
            "visual",
            enumerate(frames),
            instructions.V_PRE,
            instructions.V_SUF,
            task=task,
        )
    ids = [f.tid for frames in g.groups.values() for f in frames]
    dup = sorted({t for t in ids if ids.count(t) > 1}) if len(ids) != len(set(ids)) else []
    if dup:
        raise RuntimeError(f"duplicate template ids: {dup[:5]}")
    return g


def all_templates() -> dict[str, str]:
    """Every template id of the grammar -> its family."""
    return {f.tid: f.family for frames in _grammar().groups.values() for f in frames}


def template_groups() -> dict[str, list[str]]:
    """Generator group (e.g. "timed.once") -> its template ids."""
    return {k: [f.tid for f in v] for k, v in _grammar().groups.items()}


@cache
def frames_of(group: str, split: str | None) -> tuple[Frame, ...]:
    """A generator group's templates of `split` (None: of every split)."""
    out = tuple(
        f for f in _grammar().groups[group] if split is None or split_of_template(f.tid) == split
    )
    if not out:
        raise ValueError(f"no {split} templates in group {group!r}")
    return out


def gen(group: str, rng: random.Random, split: str, **extra: str) -> Utterance:
    """An utterance of a random template of the group (of `split`); `extra` fills slots."""
    check_split(split)
    return realize(rng.choice(frames_of(group, split)), rng, split, **extra)


@cache
def _lengths(group: str, split: str) -> tuple[int, ...]:
    """Word counts of a group's templates (slot-free groups only)."""
    return tuple(len(render(f.pattern, {})[0]) for f in frames_of(group, split))


def gen_near(group: str, rng: random.Random, split: str, target: int) -> Utterance:
    """A template of the group whose length is nearest to `target` words (ties: random)."""
    check_split(split)
    lens = _lengths(group, split)
    best = min(abs(n - target) for n in lens)
    fr = rng.choice(
        [f for f, n in zip(frames_of(group, split), lens, strict=True) if abs(n - target) == best]
    )
    return realize(fr, rng, split)
