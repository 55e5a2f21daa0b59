"""Requests the model delegates to a tool (calculator, weather, unit conversion, timer,
look-up), their direct look-alikes, and the fixed world the tools answer from.

A tool maker puts the call in the fill's attrs {"tool", "args", "result", "ack"}; the answer
weaves the result back ("thirty seven times twenty four is eight hundred eighty eight").
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from microturn.data.language.grammar import Fill
from microturn.data.language.lexicon import TABLES, pick
from microturn.data.language.numbers import number_words
from microturn.data.language.questions import mk_arith, mk_fact

# ------------------------------------------------------------------ affixes (question / imperative)

TOOL_PRE = (
    ("", ""),
    ("hey", "hey"),
    ("qq", "quick | question"),
    ("um", "um |"),
    ("cytm", "can | you | tell | me |"),
    ("intk", "i | need | to | know |"),
)
TOOL_IPRE = (("", ""), ("cy", "can | you |"), ("pls", "please |"), ("hey", "hey"))

# ------------------------------------------------------------------ the world the tools answer from

_CONDITIONS = ("sunny", "cloudy", "raining", "windy", "snowing", "foggy", "clear", "partly cloudy")


def _weather(city: str) -> str:
    """The fixed (hash-derived) weather of a city: "cloudy and fourteen degrees"."""
    h = int(hashlib.sha1(f"weather:{city}".encode()).hexdigest(), 16)
    cond = _CONDITIONS[h % len(_CONDITIONS)]
    temp = -((h >> 8) % 5) if cond == "snowing" else (h >> 8) % 34 - 2
    temp = 2 * temp if abs(temp) == 1 else temp  # never "one degrees"
    t = f"minus {number_words(-temp)}" if temp < 0 else number_words(temp)
    return f"{cond} and {t} degrees"


WEATHER = {c: _weather(c) for c in TABLES["city"]}

# ------------------------------------------------------------------ requests and their makers

_ACKS = {
    "calculator": (
        "let me work that out",
        "one moment",
        "let me calculate that",
        "give me a second",
    ),
    "weather": ("let me check", "one moment", "let me look that up", "checking now"),
    "convert": ("let me work that out", "one moment", "give me a second"),
    "timer": ("sure", "okay one moment", "setting that up"),
    "lookup": ("let me look that up", "let me check", "one moment"),
}
# phrase table: (str, str, int) rows like questions._FIXED_COUNTS, other words
_UNITS = (
    ("hours", "minutes", 60),
    ("minutes", "seconds", 60),
    ("days", "hours", 24),
    ("weeks", "days", 7),
    ("metres", "centimetres", 100),
    ("kilometres", "metres", 1000),
    ("kilograms", "grams", 1000),
    ("feet", "inches", 12),
    ("years", "months", 12),
    ("dollars", "cents", 100),
    ("litres", "millilitres", 1000),
)
# phrase table: (id, pattern) rows like conversation.SIDE, other words
WEATHER_Q = (
    ("whats", "what's | the | weather ^ in | {city}"),
    ("like", "what | is | the | weather | like ^ in | {city}"),
    ("hows", "how's | the | weather ^ in | {city}"),
    ("temperature", "what's | the | temperature ^ in | {city}"),
    ("raining", "is | it | raining ^ in | {city}"),
    ("now", "what's | the | weather | in | {city} ^ right | now"),
    ("forecast", "what | is | the | forecast ^ for | {city}"),
)
CONVERT = (
    ("q_are", "q", "how | many | {to} | are | in | {n} | {frm}"),
    ("q_is", "q", "how | many | {to} | is | {n} | {frm}"),
    ("q_what", "q", "what | is | {n} | {frm} | in | {to}"),
    ("i_convert", "i", "convert | {n} | {frm} | to | {to}"),
)
TIMERS = (
    "set | a | timer ^ for | {n} | {unit}",
    "start | a | timer ^ for | {n} | {unit}",
    "put | a | {n} | minute | timer | on",
    "time | {n} | {unit} ^ for | me",
    "remind | me | in | {n} | {unit}",
)
# phrase table: 3-field rows like instructions.E_MARKERS, other words
LOOKUP = (
    ("tall", "landmark", "how | tall | is | {x}"),
    ("height", "landmark", "what | is | the | height | of | {x}"),
    ("high", "landmark", "how | high | is | {x}"),
    ("long", "river", "how | long | is | {x}"),
    ("length", "river", "what | is | the | length | of | {x}"),
)


def mk_calculation(op: str, mode: str) -> Callable[[random.Random, str], Fill]:
    """A spoken calculation: "direct" (small numbers, answered at once) or "tool" (numbers that
    need the calculator, with the call in attrs)."""
    inner = mk_arith(op, mode)
    if mode != "tool":
        return inner

    def make(rng: random.Random, split: str) -> Fill:
        f = inner(rng, split)
        a, _, b = f.attrs["expr"]
        f.attrs |= {
            "tool": "calculator",
            "args": {"a": a, "op": op, "b": b},
            "result": number_words(f.attrs["value"]),
            "ack": rng.choice(_ACKS["calculator"]),
        }
        return f

    return make


def mk_weather(rng: random.Random, split: str) -> Fill:
    c = pick(rng, "city", split)
    return Fill(
        {"city": c},
        f"right now in {c} it is {WEATHER[c]}",
        {
            "tool": "weather",
            "args": {"city": c},
            "result": WEATHER[c],
            "ack": rng.choice(_ACKS["weather"]),
        },
        (f"city:{c}",),
    )


def mk_convert(mode: str) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        frm, to, f = rng.choice(_UNITS)
        if mode == "tool":
            n = rng.choice([k for k in range(4, 100) if k % 10 and k * f <= 9999])
        else:
            n = rng.choice([k for k in (1, 2, 3, 10) if k * f <= 9999])
        frm_s = frm if n != 1 else ("foot" if frm == "feet" else frm[:-1])
        r = number_words(n * f)
        ans = f"{number_words(n)} {frm_s} is {r} {to}"
        attrs = {"value": n * f}
        if mode == "tool":
            attrs |= {
                "tool": "convert",
                "args": {"value": n, "from": frm, "to": to},
                "result": f"{r} {to}",
                "ack": rng.choice(_ACKS["convert"]),
            }
        return Fill({"n": number_words(n), "frm": frm_s, "to": to}, ans, attrs)

    return make


def mk_timer(rng: random.Random, split: str) -> Fill:
    n = rng.randint(2, 60)
    return Fill(
        {"n": number_words(n), "unit": "minutes"},
        f"okay your timer is set for {number_words(n)} minutes",
        {
            "tool": "timer",
            "args": {"minutes": n},
            "result": f"timer set for {number_words(n)} minutes",
            "ack": rng.choice(_ACKS["timer"]),
        },
    )


def mk_lookup(table: str, kind: str) -> Callable[[random.Random, str], Fill]:
    def make(rng: random.Random, split: str) -> Fill:
        k = pick(rng, table, split)
        np_, value, *unit = TABLES[table][k]
        unit_s = unit[0] if unit else "metres"
        adj = "long" if table == "river" else "tall" if kind != "high" else "high"
        result = f"about {number_words(int(value))} {unit_s}"
        return Fill(
            {"x": np_},
            f"{np_} is {result} {adj}",
            {
                "tool": "lookup",
                "args": {"entity": k, "property": "length" if table == "river" else "height"},
                "result": result,
                "ack": rng.choice(_ACKS["lookup"]),
            },
            (f"{table}:{k}",),
        )

    return make


def mk_direct_fact(table: str, kind: str) -> Callable[[random.Random, str], Fill]:
    """A fact the model knows (fixed tables), answered in a woven sentence like a tool result."""
    inner = mk_fact(table, kind)

    def make(rng: random.Random, split: str) -> Fill:
        f = inner(rng, split)
        x = f.slots["x"]
        f.answer = {
            "capital": f"the capital of {x} is {f.answer}",
            "count": f"{x} has {f.answer} {f.slots.get('part', '')}",
            "colour": f"{x} is {f.answer}",
            "opposite": f"the opposite of {x} is {f.answer}",
        }[kind]
        return f

    return make


# phrase table: (kind, table, pattern) rows like LOOKUP, other words
DIRECT_FACTS = (
    ("capital", "country", "what | is | the | capital | of | {x}"),
    ("capital", "country", "what's | the | capital | of | {x}"),
    ("count", "counted", "how | many | {part} | does | {x} | have"),
    ("colour", "object", "what | colour | is | {x}"),
    ("opposite", "opposite", "what | is | the | opposite | of | {x}"),
)
