"""Numbers as words, the way the grammar says them: lowercase, spelled out, no "and".

Numbers are a closed class: every split uses all of them (see `closed_classes`).
"""

from __future__ import annotations

from collections.abc import Sequence

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUM_VALUE = {w: i for i, w in enumerate(_ONES)} | {w: 10 * i for i, w in enumerate(_TENS) if i}


def number_words(n: int) -> str:
    """0..9999 as words, without "and": 888 -> "eight hundred eighty eight"."""
    if not 0 <= n <= 9999:
        raise ValueError(f"number_words covers 0..9999, got {n}")
    if n < 20:
        return _ONES[n]
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    out = [_ONES[thousands], "thousand"] if thousands else []
    if hundreds:
        out += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        out.append(_TENS[rest // 10])
        rest %= 10
    if rest:
        out.append(_ONES[rest])
    return " ".join(out)


def words_to_number(words: str | Sequence[str]) -> int:
    """Inverse of number_words (also accepts "and": "one hundred and five")."""
    toks = [t for t in (words.split() if isinstance(words, str) else words) if t != "and"]
    if not toks:
        raise ValueError("no number words")
    total = cur = 0
    for t in toks:
        if t in _NUM_VALUE:
            cur += _NUM_VALUE[t]
        elif t == "hundred":
            cur = (cur or 1) * 100
        elif t == "thousand":
            total, cur = total + (cur or 1) * 1000, 0
        else:
            raise ValueError(f"not a number word: {t!r}")
    return total + cur


def number_sequence(nums: Sequence[int]) -> str:
    return " ".join(number_words(i) for i in nums)
