"""One generator per behaviour family: `(rng: random.Random, split, ...)`, deterministic given
the rng, producing only templates and lexicon items of `split`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

from microturn.data.language.conversation import FUNCTION_WORDS, R_MARKERS, REPAIRS
from microturn.data.language.grammar import Narrative, Utterance, realize, render
from microturn.data.language.instructions import IN_DISTRIBUTION_SECONDS
from microturn.data.language.lexicon import TABLES, items_of, lures_for, pick
from microturn.data.language.numbers import number_sequence, number_words
from microturn.data.language.questions import knowledge
from microturn.data.language.refusals import REFUSALS
from microturn.data.language.splits import check_split
from microturn.data.language.templates import frames_of, gen, gen_near


def question(rng: random.Random, split: str, topics: tuple[str, ...] = ()) -> Utterance:
    """A closed-world question with its correct answer (arithmetic, facts, counting ...);
    `topics` (core kinds, `questions.KNOWLEDGE`'s keys; empty: all) keeps only those cores'
    templates, each as likely as before among them."""
    if not topics:
        return gen("question", rng, split)
    frames = tuple(f for f in frames_of("question", split) if knowledge(f.tid)[0] in topics)
    if not frames:
        raise ValueError(f"no {split} question templates of topics {list(topics)}")
    return realize(rng.choice(frames), rng, split)


def statement(rng: random.Random, split: str) -> Utterance:
    """A short declarative sentence about daily life."""
    return gen("statement", rng, split)


def narrative(rng: random.Random, split: str, n_clauses: int | None = None) -> Narrative:
    """A story-like monologue of n_clauses clauses (default 6..9: ~15-30 s of speech)."""
    n = rng.randint(6, 9) if n_clauses is None else n_clauses
    if n < 2:
        raise ValueError("a narrative needs at least 2 clauses")
    clauses = [gen("narrative.open", rng, split)]
    events, used = frames_of("narrative.event", split), set()
    for _ in range(n - 2):
        fresh = [f for f in events if f.attrs["body"] not in used] or list(events)
        fr = rng.choice(fresh)
        used.add(fr.attrs["body"])
        clauses.append(realize(fr, rng, split))
    clauses.append(gen("narrative.close", rng, split))
    bc = tuple((len(c.words),) if i < n - 1 else () for i, c in enumerate(clauses))
    hes = tuple(tuple(k for k in c.holds if c.words[k - 1] in FUNCTION_WORDS) for c in clauses)
    return Narrative(tuple(clauses), bc, hes)


def interruption(rng: random.Random, split: str, kind: str | None = None) -> Utterance:
    """A barge-in: attrs["kind"] "stop" | "question" (with answer) | "repeat"."""
    kind = kind or rng.choice(("stop", "question", "repeat"))
    return gen(f"interrupt.{kind}", rng, split)


def backchannel(rng: random.Random, split: str | None = None) -> Utterance:
    """A listener token ("mm hmm", "oh i see"). Backchannels are a closed class: without a
    split the utterance has template "" (it belongs to every split, like a number); with one, it
    comes from that split's backchannel templates."""
    if split is None:
        u = realize(rng.choice(frames_of("backchannel", None)), rng, "train")
        return Utterance(u.words, "", "backchannel", ())
    return gen("backchannel", rng, split)


def side_talk(rng: random.Random, split: str) -> Utterance:
    """Someone addressing another person by name: attrs["addressee"]."""
    u = gen("side_talk", rng, split)
    u.attrs["addressee"] = next(x.partition(":")[2] for x in u.lexicon if x.startswith("name:"))
    return u


def long_request(rng: random.Random, split: str) -> Utterance:
    """A request with a long deterministic answer (>= 12 words): counting, months, alphabet."""
    return gen("long_request", rng, split)


def elapsed(rng: random.Random, split: str) -> tuple[Utterance, Utterance, Utterance]:
    """(marker, question, cancel): "start the clock" ... "how many seconds ago did i say start",
    and a cancel ("never mind the timer") for the should-not-act side, of the question's length
    (as near as the split's templates allow)."""
    marker = gen("elapsed.marker", rng, split)
    q = gen("elapsed.question", rng, split, ref=marker.attrs["ref"])
    return marker, q, gen_near("elapsed.cancel", rng, split, len(q.words))


def timed_request(
    rng: random.Random,
    split: str,
    seconds: int | Sequence[int] | None = None,
    kind: str | None = None,
) -> Utterance:
    """ "say now in five seconds" (once), "say breathe every four seconds five times" (periodic),
    "count down from five one per second" (countdown). `seconds` (an int, or choices; default
    IN_DISTRIBUTION_SECONDS) is the delay, the period, or the countdown start."""
    seconds = IN_DISTRIBUTION_SECONDS if seconds is None else seconds
    n = seconds if isinstance(seconds, int) else rng.choice(list(seconds))
    kind = kind or rng.choice(("once", "periodic", "countdown"))
    check_split(split)
    fr = rng.choice(frames_of(f"timed.{kind}", split))
    w = "now" if "{w}" not in fr.pattern else pick(rng, "say_word", split)
    unit = "second" if n == 1 else "seconds"
    if kind == "once":
        slots, answer, attrs = {"n": number_words(n)}, w, {"word": w, "seconds": n}
    elif kind == "periodic":
        t = rng.randint(2, 5)
        slots = {"p": number_words(n), "t": number_words(t)}
        answer, attrs = " ".join([w] * t), {"word": w, "period": n, "times": t, "seconds": n * t}
    else:
        slots, answer = {"n": number_words(n)}, number_sequence(range(n, 0, -1))
        attrs = {"start": n, "seconds": n, "period": 1}
    u = realize(fr, rng, split, w=w, unit=unit, **slots)
    lex = (f"say_word:{w}",) if "{w}" in fr.pattern else ()
    return replace(u, lexicon=lex, answer=tuple(answer.split()), attrs={**u.attrs, **attrs})


def timed_followup(
    rng: random.Random, split: str, cancel: bool = False, length: int | None = None
) -> Utterance:
    """What the user says after a timed request: a neutral follow-up ("okay thanks i will wait
    for it") or, for the should-not-act side, a cancel ("actually never mind don't say it").
    Both sides draw their length (words) from the same distribution (default 3..11)."""
    target = rng.randint(3, 11) if length is None else length
    return gen_near("timed.cancel" if cancel else "timed.followup", rng, split, target)


def timed_cancel(rng: random.Random, split: str) -> Utterance:
    return timed_followup(rng, split, cancel=True)


def cue_instruction(rng: random.Random, split: str, beep: bool | None = None) -> Utterance:
    """ "when you hear the word banana say got it" / "say bingo whenever you hear a beep":
    attrs {"cue", "response", "lures"}."""
    beep = rng.random() < 0.25 if beep is None else beep
    check_split(split)
    fr = rng.choice(frames_of("cue.beep" if beep else "cue.word", split))
    resp = pick(rng, "response", split)
    cue = "beep" if beep else pick(rng, "cue", split)
    u = realize(fr, rng, split, cue=cue, resp=resp)
    lex = (f"response:{resp}",) + (() if beep else (f"cue:{cue}",))
    attrs = {**u.attrs, "cue": cue, "response": resp, "lures": list(lures_for(cue))}
    return replace(u, lexicon=lex, answer=(), attrs=attrs)


def count_instruction(rng: random.Random, split: str) -> Utterance:
    """ "count out loud every time you hear a beep": attrs {"cue": "beep", "response": "count"}."""
    u = gen("cue.count", rng, split)
    u.attrs.update(cue="beep", response="count", lures=[])
    return u


@cache
def _stream_words(split: str) -> tuple[str, ...]:
    avoid = set(TABLES["cue"]) | {w for lures in TABLES["cue"].values() for w in lures}
    return tuple(w for w in items_of("word", split) if w not in avoid)


def word_list(rng: random.Random, split: str, n: int) -> list[str]:
    """n distractor words to read aloud (never a cue word or a lure), no immediate repeats."""
    check_split(split)
    pool, out = _stream_words(split), []
    for _ in range(n):
        out.append(rng.choice([w for w in pool if not out or w != out[-1]]))
    return out


def _repair_value(rng: random.Random, kind: str, split: str) -> tuple[str, str, tuple]:
    """Two different values (wrong, corrected) of a kind, and the lexicon items used."""
    if kind in ("name", "food", "place"):
        a = pick(rng, kind, split)
        b = pick(rng, kind, split, {a})
        return a, b, (f"{kind}:{a}", f"{kind}:{b}")
    lo, hi = {"num": (2, 12), "hour": (5, 11), "temp": (16, 25)}[kind]
    a, b = rng.sample(range(lo, hi + 1), 2)
    return number_words(a), number_words(b), ()


def self_repair(rng: random.Random, split: str) -> Utterance:
    """ "set a timer for five no | seven minutes": holds == (the repair point,) right after the
    editing term; attrs {"value", "wrong", "plain", "plain_answer"} (plain: the same request
    said whole with the corrected value)."""
    check_split(split)
    fr = rng.choice(frames_of("self_repair", split))
    rid, before, after, ans, kind = next(r for r in REPAIRS if r[0] == fr.attrs["repair"])
    a, b, lex = _repair_value(rng, kind, split)
    u = realize(fr, rng, split, a=a, b=b)
    marker = dict(R_MARKERS)[fr.attrs["marker"]]
    k = len(render(f"{before} {marker}", {"a": a})[0])  # the repair point: after "no"
    head = before.rsplit("{a}", 1)[0]
    tail = after.removeprefix("the |") if head.rstrip(" |").endswith("the") else after
    plain = render(f"{head} {tail}", {"b": b})[0]
    answer = tuple(ans.format(b=b).split())
    attrs = {
        **u.attrs,
        "value": b,
        "wrong": a,
        "plain": list(plain),
        "plain_answer": list(answer),
        "repair_at": k,
    }
    return replace(u, lexicon=lex, holds=(k,), answer=answer, attrs=attrs)


def tool_request(rng: random.Random, split: str) -> Utterance:
    """A request the model delegates: attrs {"tool", "args", "result", "ack"}; answer weaves the
    result back ("thirty seven times twenty four is eight hundred eighty eight")."""
    return gen("tool", rng, split)


def direct_request(rng: random.Random, split: str) -> Utterance:
    """A look-alike of tool_request the model answers at once (small numbers, known facts)."""
    u = gen("direct", rng, split)
    u.attrs["tool"] = None
    return u


def interpretation(
    rng: random.Random, split: str, listen: bool = False, n_words: int | None = None
) -> tuple[Utterance, list[tuple[str, str]]]:
    """("translate into spanish as i speak", [(english, spanish), ...]); listen=True gives the
    should-not-act instruction ("just listen to these words") with the same kind of list.
    The instruction's lexicon lists the word pairs used."""
    check_split(split)
    u = gen("interpretation.listen" if listen else "interpretation", rng, split)
    n = rng.randint(4, 8) if n_words is None else n_words
    items = items_of("spanish", split)
    keys = rng.sample(items, min(n, len(items)))
    pairs = [(k, TABLES["spanish"][k][0]) for k in keys]
    lex = tuple(f"spanish:{k}" for k in keys)
    return replace(u, lexicon=lex, answer=()), pairs


def refusal(rng: random.Random, split: str) -> Utterance:
    """A clearly harmful request; answer: a spoken refusal."""
    u = gen("refusal", rng, split)
    return replace(u, answer=tuple(rng.choice(REFUSALS).split()))


def benign_lookalike(rng: random.Random, split: str) -> Utterance:
    """A benign request sharing words with harmful ones ("how do i kill a process"), answered."""
    return gen("benign", rng, split)


def visual_instruction(
    rng: random.Random, split: str, task: str | None = None, colour: str = "green"
) -> Utterance:
    """ "tell me when the light turns green" (answer: the colour), "count the bounces out loud",
    "how many squares do you see" (answers depend on the scene: left empty)."""
    task = task or rng.choice(("light", "bounce", "squares"))
    u = gen(f"visual.{task}", rng, split, c=colour)
    if task != "light":
        return u
    return replace(u, answer=(colour,), attrs={**u.attrs, "colour": colour})
