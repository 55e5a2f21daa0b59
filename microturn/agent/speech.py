"""Values as the words a result is said in: the model reads tool results as side text, and it
learned them spelled out ("eight hundred eighty eight", "about ninety three metres")."""

from __future__ import annotations

import math
import re

from microturn.data.language.numbers import number_words

_GROUPS = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def say_int(n: int) -> str:
    """Any integer as words: -1234567 -> "minus one million two hundred thirty four thousand
    five hundred sixty seven"; beyond a trillion, its digits."""
    if n < 0:
        return "minus " + say_int(-n)
    if n >= 10**12:
        return str(n)
    if n <= 9999:
        return number_words(n)
    out = []
    for size, name in _GROUPS:
        q, n = divmod(n, size)
        if q:
            out.append(f"{say_int(q)} {name}")
    if n:
        out.append(number_words(n))
    return " ".join(out)


def say_number(x: int | float, digits: int = 3) -> str:
    """An int as words; a float rounded to `digits` decimals ("three point one four two"), a
    whole float as an int; non-finite values raise ValueError."""
    if isinstance(x, int):
        return say_int(x)
    if not math.isfinite(x):
        raise ValueError(f"no words for {x}")
    r = round(x, digits)
    if abs(r) >= 10**12:
        return f"{r:.6g}"
    if r == int(r):
        return say_int(int(r))
    sign, r = ("minus ", -r) if r < 0 else ("", r)
    whole, frac = f"{r:.{digits}f}".rstrip("0").split(".")
    return f"{sign}{say_int(int(whole))} point " + " ".join(number_words(int(d)) for d in frac)


_MARKUP = re.compile(r"[*_#`>|\[\]{}~]")
_NUMBER = re.compile(r"(?<![\w.])(-?\d[\d,]*(\.\d+)?)(?![\w.]*\d)")


def speakable(text: str, max_chars: int = 400) -> str:
    """Free text (an LLM's answer) as side text the model can read: markup dropped, numbers
    spelled out ("37" -> "thirty seven", "3.5" -> "three point five"), lowercase, one line,
    at most `max_chars` (cut at a word)."""
    t = _MARKUP.sub(" ", str(text))
    t = re.sub(r"(?<=\d)(?=[A-Za-z])|(?<=[A-Za-z])(?=\d)", " ", t)  # "5G", "T18" split

    def words(m: re.Match) -> str:
        s = m[1].replace(",", "")
        try:
            return say_number(float(s) if "." in s else int(s))
        except ValueError:
            return m[0]

    t = " ".join(_NUMBER.sub(words, t).lower().split())
    if len(t) > max_chars:
        t = t[:max_chars].rsplit(" ", 1)[0]
    return t
