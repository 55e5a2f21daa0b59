"""The template machinery: utterances, frames, pattern notation and its rendering.

Pattern notation: words separated by spaces; `{slot}` is filled (possibly with several words);
`|` marks a hold after the preceding word; `^` marks a complete_at point. Unmarked positions are
unlabelled (e.g. "do you know" is complete yet the user goes on). Text is lowercase, numbers are
spelled out ("thirty seven"), and there is no punctuation except the apostrophe of a few
contractions ("what's", "don't") and possessives ("anna's").

A `Grammar` registers pattern x prefixes x suffixes, one template id per combination; a `Frame`
is one template, and its maker draws the slot fillers and the answer (a `Fill`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from microturn.data.language.lexicon import TABLES, pick
from microturn.data.language.numbers import number_words


@dataclass(frozen=True)
class Utterance:
    words: tuple[str, ...]  # spoken words
    template: str  # template id (same for utterances differing only in slot fillers)
    family: str
    lexicon: tuple[str, ...]  # slot fillers used, as "table:item"
    holds: tuple[int, ...] = ()  # k: words[:k] is incomplete (a pause there is mid-turn)
    complete_at: tuple[int, ...] = ()  # k < len: words[:k] is complete, yet the sentence goes on
    answer: tuple[str, ...] = ()  # what the model should say in reply
    attrs: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Narrative:
    """A story-like monologue: clause utterances, and per clause the word positions after which
    a listener backchannel fits (clause ends followed by a continuation) or does not (mid-phrase
    hesitations, after "the", "to", "my" ...)."""

    clauses: tuple[Utterance, ...]
    bc_points: tuple[tuple[int, ...], ...]
    hesitation_points: tuple[tuple[int, ...], ...]

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for c in self.clauses for w in c.words)

    @property
    def lexicon(self) -> tuple[str, ...]:
        return tuple(x for c in self.clauses for x in c.lexicon)


@dataclass
class Fill:
    """What a frame's maker draws: slot fillers, the answer, attrs, the lexicon items used."""

    slots: dict = field(default_factory=dict)
    answer: str = ""
    attrs: dict = field(default_factory=dict)
    lexicon: tuple = ()


@dataclass(frozen=True, eq=False)
class Frame:
    """One template: its id, family, pattern, and the maker that fills it."""

    tid: str
    family: str
    pattern: str
    make: Callable[[random.Random, str], Fill]
    attrs: dict


def render(pattern: str, slots: dict) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """A pattern with its slots filled: (words, holds, complete_at)."""
    words: list[str] = []
    holds, comp = set(), set()
    for tok in pattern.split():
        if tok == "|":
            holds.add(len(words))
        elif tok == "^":
            comp.add(len(words))
        else:
            words += tok.format_map(slots).split() if "{" in tok else [tok]
    n = len(words)
    comp = {k for k in comp if 0 < k < n}
    holds = {k for k in holds if 0 < k < n} - comp
    return tuple(words), tuple(sorted(holds)), tuple(sorted(comp))


def realize(fr: Frame, rng: random.Random, split: str, **extra: str) -> Utterance:
    """One utterance of a frame: its maker draws the fill; `extra` fills further slots."""
    fill = fr.make(rng, split)
    words, holds, comp = render(fr.pattern, {**fill.slots, **extra})
    return Utterance(
        words,
        fr.tid,
        fr.family,
        tuple(fill.lexicon),
        holds,
        comp,
        tuple(fill.answer.split()),
        {**fr.attrs, **fill.attrs},
    )


# Slot name -> (table, column of the table's value to say, or None for the key itself).
_SLOTS = {
    "food": ("food", None),
    "place": ("place", None),
    "person": ("person", None),
    "name": ("name", None),
    "name2": ("name", None),
    "belonging": ("belonging", None),
    "household": ("household", None),
    "animal": ("animal", None),
    "an_animal": ("animal", 0),
    "account": ("account", None),
}


def _autofill(pattern: str, answer: str = "") -> Callable[[random.Random, str], Fill]:
    """Fill every lexical slot of a pattern with distinct items of the split ({n}: 2..9)."""
    names = [s for s in dict.fromkeys(re.findall(r"\{(\w+)\}", pattern)) if s in _SLOTS or s == "n"]

    def make(rng: random.Random, split: str) -> Fill:
        slots: dict[str, str] = {}
        lex: list[str] = []
        for s in names:
            if s == "n":
                slots[s] = number_words(rng.randint(2, 9))
                continue
            table, col = _SLOTS[s]
            key = pick(rng, table, split, {x.partition(":")[2] for x in lex})
            slots[s] = key if col is None else TABLES[table][key][col]
            lex.append(f"{table}:{key}")
        return Fill(slots, answer, lexicon=tuple(lex))

    return make


_NONE = (("", ""),)
_Affixes = Sequence[tuple[str, str]]


class Grammar:
    """Generator group -> its frames, in registration order (draws depend on it)."""

    def __init__(self) -> None:
        self.groups: dict[str, list[Frame]] = {}

    def add(
        self,
        group: str,
        family: str,
        tid: str,
        pattern: str,
        make=None,
        pre: _Affixes = _NONE,
        suf: _Affixes = _NONE,
        answer: str = "",
        **attrs,
    ) -> None:
        """Register pattern x prefixes x suffixes, one template id per combination. Without
        `make`, lexical slots are filled automatically and the answer is `answer`."""
        for pid, ppat in pre:
            for sid, spat in suf:
                if pid and pid == sid:  # "please ... please"
                    continue
                full = f"{ppat} {pattern} {spat}"
                tid_full = tid + (f".{pid}" if pid else "") + (f"+{sid}" if sid else "")
                frame = Frame(tid_full, family, full, make or _autofill(full, answer), attrs)
                self.groups.setdefault(group, []).append(frame)

    def add_table(
        self,
        group: str,
        family: str,
        rows: Iterable[tuple[object, str]],
        pre: _Affixes = _NONE,
        suf: _Affixes = _NONE,
        stem: str = "",
        **attrs,
    ) -> None:
        """Register a phrase table of (id, pattern) rows with a fixed empty answer, each as
        `add` does with template id f"{stem or group}.{id}"."""
        for rid, pattern in rows:
            self.add(group, family, f"{stem or group}.{rid}", pattern, const(), pre, suf, **attrs)


def const(answer: str = "", **attrs) -> Callable[[random.Random, str], Fill]:
    """A maker with a fixed answer and attrs: nothing to draw."""
    return lambda rng, split: Fill(answer=answer, attrs=attrs)
