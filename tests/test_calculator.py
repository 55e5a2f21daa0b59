"""The safe calculator: right answers for arithmetic, and >= 1,000 hostile inputs (imports,
attribute access, lambdas, huge powers, deep nesting, long strings, dunder tricks) each refused
or answered in bounded time, with no code executed (audit hook + a sentinel file)."""

import operator
import random
import sys
import time

import pytest

from microturn.agent.calculator import MAX_INT_BITS, CalcError, calculate

_AUDIT = {"on": False, "seen": []}
_WATCH = ("exec", "import", "os.", "subprocess", "open", "builtins.input", "socket", "ctypes")


def _hook(event, args):  # audit hooks cannot be removed: it only records while switched on
    if _AUDIT["on"] and event.startswith(_WATCH):
        _AUDIT["seen"].append(event)


sys.addaudithook(_hook)


def test_arithmetic_is_right():
    assert calculate("37 * 24") == 888
    assert calculate("(9625 - 1134)") == 8491
    assert calculate("165 / 11") == 15.0 and calculate("10 // 3") == 3 and calculate("10 % 4") == 2
    assert calculate("2 ** 10") == 1024 and calculate("-(2 + 3) * 4") == -20
    assert calculate("2 ** -2") == 0.25 and calculate("1_000 * 3") == 3000
    assert calculate(" 1.5e3 + 0.5 ") == 1500.5
    rng = random.Random(0)
    ops = {"+": operator.add, "-": operator.sub, "*": operator.mul}
    for _ in range(200):  # random trees, their value computed alongside their text

        def tree(depth):
            if depth == 0 or rng.random() < 0.3:
                n = rng.randint(0, 999)
                return str(n), n
            (a, x), (b, y), op = tree(depth - 1), tree(depth - 1), rng.choice(list(ops))
            return f"({a} {op} {b})", ops[op](x, y)

        text, value = tree(4)
        assert calculate(text) == value, text


@pytest.mark.parametrize(
    "expr",
    [
        "1/0",
        "0 ** -1",
        "(-8) ** 0.5",
        "9 ** 9 ** 9",
        "2 ** 100000",
        "1e308 * 10",
        "x + 1",
        "",
        "1 +",
    ],
)
def test_refusals_are_calc_errors(expr):
    with pytest.raises(CalcError):
        calculate(expr)


def hostile(n: int, seed: int = 0) -> list[str]:
    """At least n hostile inputs: fixed tricks, generated families and random garbage."""
    rng = random.Random(seed)
    fixed = [
        "__import__('os').system('touch SENTINEL')",
        "__import__('pathlib').Path('SENTINEL').touch()",
        "import os", "from os import system", "exec('1')", "eval('1+1')", "compile('1','','eval')",
        "open('/etc/passwd').read()", "globals()", "locals()", "vars()", "__builtins__",
        "(1).__class__", "().__class__.__bases__[0].__subclasses__()", "1 .real", "1.0.hex()",
        "(lambda: 1)()", "lambda x: x", "[x for x in range(10**9)]", "{1: 2}", "{1, 2}",
        "(x := 5)", "f'{1+1}'", "b'1'", "'1' * 10", "1j", "True + 1", "None", "...",
        "1 if 1 else 2", "1 < 2", "1 and 2", "not 1", "~1", "1 << 100000", "1 @ 2", "[1][0]",
        "*a", "await x", "yield 1", "print(1)", "help()", "input()", "breakpoint()",
        "١ + ١", "1\x00+1", "1;2", "1\n+1", "#", "\\x41", "0x10", "0b1010", "0o17", "1e999",
        "9**9**9**9", "(2**256)*(2**256)", "10**10**10", "(-2)**(10**6)", "2.0**100000",
        "9" * 400, "(" * 100000 + "1" + ")" * 100000, "-" * 50000 + "1", "1+" * 50000 + "1",
        "a" * 10**6, "1" * 10**6, "__class__", "__subclasses__", "__globals__", "__code__",
    ]  # fmt: skip
    out = [s.replace("SENTINEL", str(SENTINEL)) for s in fixed]
    for k in range(1, 120):  # deep nesting of every kind, then huge powers
        out.append("(" * k * 5 + "1" + ")" * k * 5)
        out.append("-" * k * 7 + "2")
        out.append("**".join(["9"] * (k % 12 + 2)))
        out.append(f"{rng.randint(2, 10**6)} ** {rng.randint(300, 10**7)}")
        out.append(f"({rng.randint(2, 99)} ** {rng.randint(2, 99)}) ** {rng.randint(2, 999)}")
    names = ["os", "sys", "__import__", "eval", "exec", "open", "getattr", "lambda", "self"]
    while len(out) < n:
        kind = rng.randrange(4)
        if kind == 0:  # calls and attributes on numbers and names
            out.append(f"{rng.choice(names)}({rng.randint(0, 9)}).{rng.choice(names)}")
        elif kind == 1:  # random garbage over a hostile alphabet
            alpha = "0123456789+-*/%()._eEjxa lambd:[]{}'\"\\,;=<>!~^&|@#"
            out.append("".join(rng.choice(alpha) for _ in range(rng.randint(1, 300))))
        elif kind == 2:  # long random numbers and operators past the length bound
            out.append(" * ".join(str(rng.randint(1, 10**30)) for _ in range(rng.randint(1, 40))))
        else:  # dunder chains
            out.append(
                "()" + "".join(f".__{rng.choice(names)}__" for _ in range(rng.randint(1, 6)))
            )
    return out


SENTINEL = None


def test_hostile_inputs_are_refused_or_answered_in_bounded_time(tmp_path):
    global SENTINEL
    SENTINEL = tmp_path / "pwned"
    inputs = hostile(1200)
    assert len(inputs) >= 1000
    refused = answered = 0
    worst = 0.0
    _AUDIT["on"], _AUDIT["seen"] = True, []
    try:
        for s in inputs:
            t = time.perf_counter()
            try:
                v = calculate(s)
            except CalcError:
                refused += 1
            else:
                answered += 1
                assert isinstance(v, int | float) and not isinstance(v, bool), (s, v)
                assert not isinstance(v, int) or v.bit_length() <= MAX_INT_BITS
            worst = max(worst, time.perf_counter() - t)
    finally:
        _AUDIT["on"] = False
    assert not _AUDIT["seen"], f"code ran: {_AUDIT['seen'][:5]}"
    assert not SENTINEL.exists()
    assert refused > 900 and answered > 0  # garbage is refused; "(((1)))", "--2" are numbers
    assert worst < 1.0, f"an input took {worst:.3f} s"  # bounded (generous on a shared box)
