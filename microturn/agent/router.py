"""A delegated request, in words, routed to one tool call: "what's thirty seven times twenty
four" -> calculator {"expression": "37 * 24"}.

Rules, tried in order: a timer ("set a timer for five minutes", "tell me in ten seconds"), the
clock ("what time is it"), a unit conversion ("how many days are in eighty seven weeks"),
arithmetic (numbers joined by operator words; "... then multiply by three" applies to what
came before it), and otherwise a knowledge-base look-up of the request's words. Number words
become digits first ("and" belongs to a number only after "hundred" or "thousand": "one
hundred and five", not "add three and four"); anything else is left as said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from microturn.data.language.numbers import words_to_number

_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand".split()
)
_SCALE = {"million": 10**6, "billion": 10**9}
_AND_AFTER = frozenset(("hundred", "thousand"))  # "one hundred and five"
_FILLER = re.compile(r"\b(please|right now|for me|thanks|thank you|on)\b")
_SECONDS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}
_CANCEL = re.compile(r"\b(never ?mind|forget (it|that|about it)|cancel (it|that|the \w+))\b")
# (pattern, template) with {a} [{b}]: phrasings whose operands are not in spoken order, or
# that name the operation in words ("twice", "one less than")
_ARITH_PHRASES = (
    (r"add (?P<a>\S+) and (?P<b>\S+)", "{a} + {b}"),
    (r"add (?P<b>\S+) to (?P<a>\S+)", "{a} + {b}"),
    (r"subtract (?P<b>\S+) from (?P<a>\S+)", "{a} - {b}"),
    (r"take (?P<b>\S+) away from (?P<a>\S+)", "{a} - {b}"),
    (r"take away (?P<b>\S+) from (?P<a>\S+)", "{a} - {b}"),
    (r"take (?P<b>\S+) from (?P<a>\S+)", "{a} - {b}"),
    (r"multiply (?P<a>\S+) by (?P<b>\S+)", "{a} * {b}"),
    (r"divide (?P<a>\S+) by (?P<b>\S+)", "{a} / {b}"),
    (r"(the )?sum of (?P<a>\S+) and (?P<b>\S+)", "{a} + {b}"),
    (r"(the )?product of (?P<a>\S+) and (?P<b>\S+)", "{a} * {b}"),
    (r"(the )?difference between (?P<a>\S+) and (?P<b>\S+)", "{a} - {b}"),
    (r"\b(double|twice) (?P<a>\S+)", "{a} * 2"),
    (r"\bhalf (of )?(?P<a>\S+)", "{a} / 2"),
    (r"\b1 more than (?P<a>\S+)", "{a} + 1"),  # "one" is a digit by now
    (r"\b1 less than (?P<a>\S+)", "{a} - 1"),
    (r"\bnumber (comes |is )?(just )?after (?P<a>\S+)", "{a} + 1"),
    (r"\bnumber (comes |is )?(just )?before (?P<a>\S+)", "{a} - 1"),
)
_OPS = (
    ("multiplied by", "*"),
    ("divided by", "/"),
    ("to the power of", "**"),
    ("plus", "+"),
    ("minus", "-"),
    ("times", "*"),
    ("over", "/"),
    ("squared", "** 2"),
    ("cubed", "** 3"),
    ("x", "*"),
)


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: dict


def is_cancel(text: str) -> bool:
    """The user calls delegations off: "never mind", "forget it", "cancel that"."""
    return bool(_CANCEL.search(normalize(text)))


def normalize(text: str) -> str:
    """Lowercase words, "what's" -> "what is", punctuation other than arithmetic dropped."""
    t = str(text).lower().replace("’", "'")
    t = re.sub(r"\b(\w+)'s\b", lambda m: m[1] + (" is" if m[1] in ("what", "how", "it") else ""), t)
    t = re.sub(r"[^a-z0-9.+\-*/()% ]", " ", t)
    return " ".join(t.split())


def digits(text: str) -> str:
    """Number words as digits: "thirty seven times twenty four" -> "37 times 24"."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        while run and run[-1] == "and":  # "and" only inside a number ("one hundred and five")
            run.pop()
            tail.append("and")
        if run:
            out.append(str(words_to_number(run)))
            run.clear()

    tail: list[str] = []
    for w in text.split():
        if w in _NUMBER_WORDS or (w == "and" and run and run[-1] in _AND_AFTER):
            run.append(w)
            continue
        flush()
        out.extend(tail)
        tail.clear()
        if w in _SCALE and out and out[-1].isdigit():
            out[-1] = str(int(out[-1]) * _SCALE[w])
        else:
            out.append(w)
    flush()
    out.extend(tail)
    return " ".join(out)


def route(text: str) -> ToolCall | None:
    """The tool call a request asks for, or None when it has no words."""
    said = normalize(text)
    t = _FILLER.sub(" ", digits(said))
    t = " ".join(t.split())
    if not t:
        return None
    for rule in (_timer, _clock, _convert, _arithmetic):
        call = rule(t)
        if call is not None:
            return call
    return ToolCall("lookup", {"query": said[:200]})


def _timer(t: str) -> ToolCall | None:
    # "one and a half minutes", "half an hour", "for an hour" ("in a second" is an idiom)
    t = re.sub(r"\b(\d+) and a half (seconds?|minutes?|hours?)\b",
               lambda m: f"{int(m[1]) + 0.5} {m[2].rstrip('s')}s", t)  # fmt: skip
    t = re.sub(r"\bhalf an? (hour|minute)\b", r"0.5 \1s", t)
    t = re.sub(r"\b(for|in) an? (hour|minute)\b", r"\1 1 \2", t)
    unit = r"(?P<unit>seconds?|minutes?|hours?)"
    for pat in (
        rf"(?P<n>\d+(\.\d+)?) {unit} timer",
        rf"timer (for )?(?P<n>\d+(\.\d+)?) {unit}",
        rf"(remind|tell|ping|alert|call|wake) (me|us) in (?P<n>\d+(\.\d+)?) {unit}",
        rf"in (?P<n>\d+(\.\d+)?) {unit} (remind|tell|ping) (me|us)",
        rf"time (?P<n>\d+(\.\d+)?) {unit}",
    ):
        m = re.search(pat, t)
        if m:
            return ToolCall("timer", {"seconds": float(m["n"]) * _SECONDS[m["unit"]]})
    return None


def _clock(t: str) -> ToolCall | None:
    if re.search(
        r"\b(what|tell me the) (time|date|day)\b|\btime is it\b|\bwhat is the (time|date)\b", t
    ):
        what = "date" if "date" in t else "day" if re.search(r"\bday\b", t) else "time"
        return ToolCall("clock", {"what": what})
    return None


def _convert(t: str) -> ToolCall | None:
    n, u = r"(?P<n>\d+(\.\d+)?)", r"[a-z]+( (?!(are|is|in|into|to|as|and)\b)[a-z]+)?"
    for pat in (
        rf"how many (?P<to>{u}) (are|is|in) (there in )?(in )?{n} (?P<frm>{u})$",
        # "and": how a recogniser often hears a quick "in" ("twenty five hours and minutes")
        rf"(convert )?{n} (?P<frm>{u}) (in|into|to|as|and) (?P<to>{u})$",
    ):
        m = re.search(pat, t)
        if m and not (set(m["frm"].split()) & {"plus", "minus", "times", "over"}):
            return ToolCall("convert", {"value": float(m["n"]), "from": m["frm"], "to": m["to"]})
    return None


# a step applied to what came before "then": "... then multiply by three", "and then add two"
_THEN = re.compile(r"\b(?:and )?then (?P<op>add|plus|minus|subtract|take away|times|multiply by|"
                   r"divide by|divided by) (?P<n>\d+(\.\d+)?)\b")  # fmt: skip
_THEN_OP = {"add": "+", "plus": "+", "minus": "-", "subtract": "-", "take away": "-",
            "times": "*", "multiply by": "*", "divide by": "/", "divided by": "/"}  # fmt: skip


def _arithmetic(t: str) -> ToolCall | None:
    m = next(reversed(list(_THEN.finditer(t))), None)
    if m:  # the steps in the order said: (what came before) op n
        first = _arithmetic(t[: m.start()])
        if first is None:
            return None
        expr = f"({first.args['expression']}) {_THEN_OP[m['op']]} {m['n']}"
        return ToolCall("calculator", {"expression": expr})
    for pat, tmpl in _ARITH_PHRASES:
        m = re.search(pat, t)  # its named groups are its operands, a [and b]
        if m and all(_num(v) for v in m.groupdict().values()):
            return ToolCall("calculator", {"expression": tmpl.format(**m.groupdict())})
    for word, sym in _OPS:
        t = re.sub(rf"\b{word}\b", f" {sym} ", t)
    runs = re.findall(r"[\d.+\-*/%() ]+", t)
    best = max((r.strip() for r in runs), key=len, default="")
    if re.search(r"\d", best) and re.search(r"[+\-*/%]", best):
        return ToolCall("calculator", {"expression": " ".join(best.split())})
    return None


def _num(s: str) -> bool:
    return bool(re.fullmatch(r"\d+(\.\d+)?", s))
