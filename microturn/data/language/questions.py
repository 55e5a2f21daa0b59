"""Closed-world questions and their correct answers: arithmetic (single and chained),
numbers, facts from the lexicon tables, weekdays and months, sizes, fixed counts.

`qa_cores` lists every question core with a maker that draws its numbers or items and computes
the answer; `templates` combines the cores with the question and imperative affixes below.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cache

from microturn.data.language.closed_classes import LETTER_NAMES, MONTHS, WEEKDAYS
from microturn.data.language.grammar import Fill, const
from microturn.data.language.lexicon import TABLES, items_of, pick
from microturn.data.language.numbers import number_words

# ------------------------------------------------------------------ affixes (question / imperative)

# affix tables: same shape as instructions.py's prefixes and suffixes, other words
Q_PRE = (
    ("", ""),
    ("cytm", "can | you | tell | me |"),
    ("dyk", "do | you | know"),
    ("iww", "i | was | wondering |"),
    ("hey", "hey"),
    ("qq", "quick | question"),
    ("so", "okay | so |"),
    ("um", "um |"),
    ("tell", "tell | me |"),
)
Q_SUF = (("", ""), ("pls", "^ please"))
I_PRE = (
    ("", ""),
    ("cy", "can | you |"),
    ("cdy", "could | you |"),
    ("pls", "please |"),
    ("hey", "hey"),
    ("um", "um |"),
    ("now", "okay | now |"),
)
I_SUF = (("", ""), ("pls", "^ please"), ("fm", "^ for | me"))

# ------------------------------------------------------------------ answer makers

OPS = {"plus": "plus", "minus": "minus", "times": "times", "div": "divided | by"}
_OP_SAY = {"plus": "plus", "minus": "minus", "times": "times", "div": "divided by"}


def _apply(acc: int, op: str, x: int) -> int:
    return {"plus": acc + x, "minus": acc - x, "times": acc * x, "div": acc // max(x, 1)}[op]


def _operands(rng: random.Random, op: str, hard: bool = False) -> tuple[int, int]:
    """Operands with a whole, non-negative result <= 9999; `hard` needs a calculator."""
    r = rng.randint
    if op == "plus":
        return (r(101, 999), r(101, 999)) if hard else (r(0, 20), r(0, 20))
    if op == "minus":
        a = r(300, 9999) if hard else r(0, 20)
        return a, (r(101, a - 100) if hard else r(0, a))
    if op == "times":
        if not hard:
            return r(0, 10), r(0, 10)
        a, b = r(12, 99), r(12, 99)
        return (a + 1 if a % 10 == 0 else a), (b + 1 if b % 10 == 0 else b)
    b = rng.choice([3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]) if hard else r(1, 10)
    return b * (r(12, 99) if hard else r(0, 10)), b


def _second(rng: random.Random, op: str, acc: int) -> int:
    """The operand of a chained operation applied to acc."""
    return {
        "plus": rng.randint(1, 10),
        "minus": rng.randint(0, min(acc, 10)),
        "times": rng.randint(2, 5),
    }[op]


def mk_arith(op: str, mode: str = "qa") -> Callable[[random.Random, str], Fill]:
    """mode "qa": answer is the number; "direct"/"tool": a woven sentence (tool: hard numbers,
    the calculator call is added by `tools.mk_calculation`)."""

    def make(rng: random.Random, split: str) -> Fill:
        a, b = _operands(rng, op, hard=mode == "tool")
        r = _apply(a, op, b)
        aw, bw, rw = number_words(a), number_words(b), number_words(r)
        attrs = {"value": r, "expr": [a, op, b]}
        if mode == "qa":
            return Fill({"a": aw, "b": bw}, rw, attrs)
        return Fill({"a": aw, "b": bw}, f"{aw} {_OP_SAY[op]} {bw} is {rw}", attrs)

    return make


def _mk_chain(op1: str, op2: str) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        a, b = _operands(rng, op1)
        c = _second(rng, op2, _apply(a, op1, b))
        r = _apply(_apply(a, op1, b), op2, c)
        return Fill(
            {"a": number_words(a), "b": number_words(b), "c": number_words(c)},
            number_words(r),
            {"value": r, "expr": [a, op1, b, op2, c]},
        )

    return make


def _mk_unary(kind: str) -> Callable[[random.Random, str], Fill]:
    """double / half / squared / after / before (one number)."""

    def make(rng: random.Random, split: str) -> Fill:
        n = {
            "double": rng.randint(0, 50),
            "half": 2 * rng.randint(0, 50),
            "squared": rng.randint(0, 12),
            "after": rng.randint(0, 98),
            "before": rng.randint(1, 99),
        }[kind]
        expr = {
            "double": [n, "times", 2],
            "half": [n, "div", 2],
            "squared": [n, "times", n],
            "after": [n, "plus", 1],
            "before": [n, "minus", 1],
        }[kind]
        r = _apply(*expr)
        return Fill({"n": number_words(n)}, number_words(r), {"value": r, "expr": expr})

    return make


def _mk_numcmp(kind: str) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        a, b = rng.sample(range(0, 101), 2)
        n = rng.randint(0, 99)
        ans = {
            "is_bigger": "yes" if a > b else "no",
            "which_bigger": number_words(max(a, b)),
            "which_smaller": number_words(min(a, b)),
            "even_or_odd": "odd" if n % 2 else "even",
            "is_even": "no" if n % 2 else "yes",
            "is_odd": "yes" if n % 2 else "no",
        }[kind]
        return Fill({"a": number_words(a), "b": number_words(b), "n": number_words(n)}, ans)

    return make


def mk_fact(table: str, kind: str) -> Callable[[random.Random, str], Fill]:
    """Facts from a fixed table, keyed by a lexicon item of the split."""

    def make(rng: random.Random, split: str) -> Fill:
        k = pick(rng, table, split)
        v = TABLES[table][k]
        slots = {"x": v[0] if table in ("object", "animal", "counted") else k}
        if kind == "capital":
            ans = v[0]
        elif kind in ("colour", "sound", "plural", "opposite"):
            ans = v[-1] if kind != "plural" else v[0]
        elif kind == "count":
            slots["part"], ans = v[1], number_words(int(v[2]))
        elif kind in ("first", "last"):
            ans = LETTER_NAMES[k[0] if kind == "first" else k[-1]]
        else:  # spell
            ans = " ".join(LETTER_NAMES[ch] for ch in k)
        return Fill(slots, ans, {"value": ans}, (f"{table}:{k}",))

    return make


def _mk_cycle(seq: Sequence[str], step: int) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        i = rng.randrange(len(seq))
        return Fill({"x": seq[i]}, seq[(i + step) % len(seq)])

    return make


@cache
def _size_pairs(split: str) -> tuple[tuple[str, str], ...]:
    items = items_of("sized", split)
    size = {k: int(TABLES["sized"][k][1]) for k in items}
    return tuple((x, y) for x in items for y in items if abs(size[x] - size[y]) >= 2)


def _mk_size(kind: str) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        x, y = rng.choice(_size_pairs(split))
        sx, sy = (int(TABLES["sized"][k][1]) for k in (x, y))
        big, small = (x, y) if sx > sy else (y, x)
        ans = {
            "is_bigger": "yes" if sx > sy else "no",
            "is_smaller": "yes" if sx < sy else "no",
            "which_bigger": TABLES["sized"][big][0],
            "which_smaller": TABLES["sized"][small][0],
        }[kind]
        return Fill(
            {"x": TABLES["sized"][x][0], "y": TABLES["sized"][y][0]},
            ans,
            lexicon=(f"sized:{x}", f"sized:{y}"),
        )

    return make


_FIXED_COUNTS = (
    ("week_days", "how | many | days | are | there | in | a | week", 7),
    ("year_months", "how | many | months | are | there | in | a | year", 12),
    ("day_hours", "how | many | hours | are | there | in | a | day", 24),
    ("hour_minutes", "how | many | minutes | are | in | an | hour", 60),
    ("minute_seconds", "how | many | seconds | are | in | a | minute", 60),
    ("year_days", "how | many | days | are | in | a | year", 365),
    ("alphabet", "how | many | letters | are | in | the | alphabet", 26),
    ("year_weeks", "how | many | weeks | are | in | a | year", 52),
    ("dozen", "how | many | eggs | are | in | a | dozen", 12),
    ("weekend", "how | many | days | are | in | a | weekend", 2),
    ("century", "how | many | years | are | in | a | century", 100),
    ("decade", "how | many | years | are | in | a | decade", 10),
)


# ------------------------------------------------------------------ what an answer takes

# What answering a question takes, for a model that learned only the train split:
# "reasoned": numbers, arithmetic, the order of weekdays and months, fixed counts (the same in
# every split); "spelled": read off the asked word itself (its letters, its plural); "fact": a
# fact about a lexicon item, which in a held-out split is an item the train split never showed
KNOWLEDGE = {
    **dict.fromkeys(
        ("arith", "chain", "num", "day_after", "day_before", "month_after", "month_before",
         "fixed"),
        "reasoned",
    ),
    **dict.fromkeys(("first", "last", "spell", "plural"), "spelled"),
    **dict.fromkeys(("capital", "colour", "opposite", "sound", "size", "count"), "fact"),
}  # fmt: skip


def knowledge(template_id: str) -> tuple[str, str]:
    """(core kind, what answering it takes) of a QA template id ("qa.colour.i0.pls+fm")."""
    parts = template_id.split(".")
    if len(parts) < 2 or parts[0] != "qa" or parts[1] not in KNOWLEDGE:
        raise ValueError(f"not a QA template id: {template_id!r}")
    return parts[1], KNOWLEDGE[parts[1]]


# ------------------------------------------------------------------ question cores


def qa_cores() -> list[tuple[str, str, str, Callable]]:
    """(core id, "q" question | "i" imperative, pattern, make) of every closed-world question."""
    c: list[tuple[str, str, str, Callable]] = []
    for op, w in OPS.items():
        for fid, pat in (
            ("what_is", "what | is | {a} | OP | {b}"),
            ("whats", "what's | {a} | OP | {b}"),
            ("how_much", "how | much | is | {a} | OP | {b}"),
            ("make", "what | does | {a} | OP | {b} | make"),
            ("equal", "what | does | {a} | OP | {b} | equal"),
        ):
            c.append((f"arith.{fid}.{op}", "q", pat.replace("OP", w), mk_arith(op)))
        c.append((f"arith.calculate.{op}", "i", f"calculate | {{a}} | {w} | {{b}}", mk_arith(op)))
    for fid, op, pat in (
        ("add_and", "plus", "add | {a} | and | {b}"),
        ("add_to", "plus", "add | {b} | to | {a}"),
        ("subtract", "minus", "subtract | {b} | from | {a}"),
        ("take_away", "minus", "take | {b} | away from | {a}"),
        ("multiply", "times", "multiply | {a} | by | {b}"),
        ("divide", "div", "divide | {a} | by | {b}"),
    ):
        c.append((f"arith.{fid}", "i", pat, mk_arith(op)))
    for fid, op, noun, link in (
        ("sum", "plus", "sum", "of"),
        ("product", "times", "product", "of"),
        ("difference", "minus", "difference", "between"),
    ):
        c.append(
            (
                f"arith.{fid}",
                "q",
                f"what | is | the | {noun} | {link} | {{a}} | and | {{b}}",
                mk_arith(op),
            )
        )
    for op1, op2 in (
        ("plus", "plus"),
        ("plus", "minus"),
        ("minus", "plus"),
        ("minus", "minus"),
        ("times", "plus"),
        ("times", "minus"),
        ("times", "times"),
    ):
        c.append(
            (
                f"chain.{op1}.{op2}",
                "q",
                f"what | is | {{a}} | {op1} | {{b}} ^ {op2} | {{c}}",
                _mk_chain(op1, op2),
            )
        )
    for op1 in ("plus", "minus"):
        c.append(
            (
                f"chain.then.{op1}",
                "q",
                f"what | is | {{a}} | {op1} | {{b}} ^ and | then | times | {{c}}",
                _mk_chain(op1, "times"),
            )
        )
    c += [
        (
            "chain.add_then_mul",
            "i",
            "add | {a} | and | {b} ^ then | multiply | by | {c}",
            _mk_chain("plus", "times"),
        ),
        (
            "chain.mul_then_add",
            "i",
            "multiply | {a} | by | {b} ^ then | add | {c}",
            _mk_chain("times", "plus"),
        ),
        (
            "chain.sub_then_add",
            "i",
            "take | {b} | from | {a} ^ and | then | add | {c}",
            _mk_chain("minus", "plus"),
        ),
    ]
    for kind, pats in (
        ("double", ("what | is | double | {n}", "what | is | twice | {n}")),
        ("half", ("what | is | half | of | {n}",)),
        ("squared", ("what | is | {n} | squared",)),
        (
            "after",
            (
                "what | number | comes | after | {n}",
                "what's | the | next | number | after | {n}",
                "what | is | one | more | than | {n}",
            ),
        ),
        (
            "before",
            (
                "what | number | comes | before | {n}",
                "what | is | one | less | than | {n}",
                "what | number | is | just | before | {n}",
            ),
        ),
    ):
        for i, pat in enumerate(pats):
            c.append((f"num.{kind}.{i}", "q", pat, _mk_unary(kind)))
    for kind, pat in (
        ("is_bigger", "is | {a} | bigger | than | {b}"),
        ("which_bigger", "which | is | bigger | {a} | or | {b}"),
        ("which_smaller", "which | number | is | smaller | {a} | or | {b}"),
        ("even_or_odd", "is | {n} | even ^ or | odd"),
        ("is_even", "is | {n} | an | even | number"),
        ("is_odd", "is | {n} | an | odd | number"),
    ):
        c.append((f"num.{kind}", "q", pat, _mk_numcmp(kind)))
    facts = (
        (
            "capital",
            "country",
            "q",
            (
                "what | is | the | capital | of | {x}",
                "what's | the | capital | of | {x}",
                "which | city | is | the | capital | of | {x}",
                "what | is | the | capital | city | of | {x}",
            ),
        ),
        ("capital", "country", "i", ("name | the | capital | of | {x}",)),
        (
            "colour",
            "object",
            "q",
            (
                "what | colour | is | {x}",
                "what's | the | colour | of | {x}",
                "which | colour | is | {x}",
            ),
        ),
        ("colour", "object", "i", ("tell | me | the | colour | of | {x}",)),
        (
            "opposite",
            "opposite",
            "q",
            (
                "what | is | the | opposite | of | {x}",
                "what's | the | opposite | of | {x}",
                "what | is | the | opposite | of | the | word | {x}",
                "what | word | means | the | opposite | of | {x}",
            ),
        ),
        ("opposite", "opposite", "i", ("give | me | the | opposite | of | {x}",)),
        (
            "sound",
            "animal",
            "q",
            (
                "what | sound | does | {x} | make",
                "what | does | {x} | say",
                "what | noise | does | {x} | make",
                "how | does | {x} | go",
            ),
        ),
        (
            "plural",
            "noun",
            "q",
            (
                "what | is | the | plural | of | {x}",
                "what's | the | plural | of | {x}",
                "what | do | you | call | more | than | one | {x}",
                "what | is | the | plural | form | of | the | word | {x}",
            ),
        ),
        (
            "first",
            "word",
            "q",
            (
                "what | letter | does | {x} | start | with",
                "what | is | the | first | letter | of | {x}",
                "what | letter | does | the | word | {x} | begin | with",
            ),
        ),
        (
            "last",
            "word",
            "q",
            (
                "what | is | the | last | letter | of | {x}",
                "what | letter | does | {x} | end | with",
            ),
        ),
        ("spell", "word", "q", ("how | do | you | spell | {x}",)),
        ("spell", "word", "i", ("spell | the | word | {x}", "spell | {x}")),
        (
            "count",
            "counted",
            "q",
            (
                "how | many | {part} | does | {x} | have",
                "how | many | {part} | has | {x} | got",
                "{x} | has | how | many | {part}",
            ),
        ),
        ("count", "counted", "i", ("tell | me | how | many | {part} | {x} | has",)),
    )
    for kind, table, qi, pats in facts:
        for i, pat in enumerate(pats):
            c.append((f"{kind}.{qi}{i}", qi, pat, mk_fact(table, kind)))
    for kind, seq, step, pats in (
        (
            "day_after",
            WEEKDAYS,
            1,
            (
                "what | day | comes | after | {x}",
                "what | day | is | after | {x}",
                "what | comes | after | {x}",
                "if | today | is | {x} | what | day | is | tomorrow",
            ),
        ),
        (
            "day_before",
            WEEKDAYS,
            -1,
            (
                "what | day | comes | before | {x}",
                "what | is | the | day | before | {x}",
                "if | today | is | {x} | what | day | was | yesterday",
            ),
        ),
        (
            "month_after",
            MONTHS,
            1,
            (
                "what | month | comes | after | {x}",
                "which | month | follows | {x}",
                "what | is | the | month | after | {x}",
            ),
        ),
        ("month_before", MONTHS, -1, ("what | month | comes | before | {x}",)),
    ):
        for i, pat in enumerate(pats):
            c.append((f"{kind}.{i}", "q", pat, _mk_cycle(seq, step)))
    for kind, pat in (
        ("is_bigger", "is | {x} | bigger | than | {y}"),
        ("is_smaller", "is | {x} | smaller | than | {y}"),
        ("which_bigger", "which | is | bigger | {x} | or | {y}"),
        ("which_smaller", "which | one | is | smaller | {x} | or | {y}"),
    ):
        c.append((f"size.{kind}", "q", pat, _mk_size(kind)))
    for fid, pat, n in _FIXED_COUNTS:
        c.append((f"fixed.{fid}", "q", pat, const(number_words(n), value=n)))
    return c
