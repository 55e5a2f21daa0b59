"""Unit conversion through `pint` (one shared registry, built on first use).

Units are named as people say them ("metres", "feet", "millilitres"); dollars and cents are
added to the registry as a currency of their own, since the requests the model delegates ask
for them too.
"""

from __future__ import annotations

import math
import threading
from functools import cache

_LOCK = threading.Lock()  # pint's registry caches are not documented as thread-safe


class UnitError(ValueError):
    """An unknown unit, or units of different kinds ("metres to seconds")."""


@cache
def _registry():
    import pint

    ureg = pint.UnitRegistry()
    ureg.define("dollar = [currency] = usd")
    ureg.define("cent = 0.01 dollar")
    return ureg


def convert(value: float, frm: str, to: str) -> float:
    """`value` in unit `frm` expressed in unit `to`: convert(3, "feet", "inches") -> 36.0."""
    import pint

    if not math.isfinite(value) or abs(value) > 1e15:
        raise UnitError(f"the value {value} is out of range")
    with _LOCK:
        ureg = _registry()
        try:
            q = ureg.Quantity(value, _unit(ureg, frm)).to(_unit(ureg, to))
        except pint.DimensionalityError:
            raise UnitError(f"cannot convert {frm} to {to}") from None
        return float(q.magnitude)


def _unit(ureg, name: str):
    raw = " ".join(str(name).replace("-", " ").split())
    if not raw or len(raw) > 40:
        raise UnitError(f"not a unit: {name!r}")
    clean = raw.lower()  # "Metres", but "degF" and "mL" as written first
    for cand in (raw, clean, clean.replace(" ", "_"), clean.replace(" ", "")):
        try:
            return ureg.Unit(cand)
        except Exception:  # pint raises several kinds on odd names; all mean "not a unit"
            continue
    raise UnitError(f"unknown unit {name!r}")


_IRREGULAR = {"foot": "feet", "inch": "inches"}


def spoken(value: float, name: str) -> str:
    """The unit as said after a value: plural unless the value is one ("5820 seconds" for a
    request that said "second"), where the registry reads the plural as the same unit."""
    words = str(name).split()
    if not words or value == 1:
        return str(name)
    first = words[0]
    if first.endswith("s") or first in _IRREGULAR.values() or not first.isalpha():
        return str(name)  # a plural already ("metres", "feet"), or no word
    if not first.islower():
        return str(name)  # a symbol: "degF", "mL"
    said = " ".join([_IRREGULAR.get(first, first + "s"), *words[1:]])
    with _LOCK:
        ureg = _registry()
        try:
            same = _unit(ureg, said) == _unit(ureg, name)
        except UnitError:
            same = False
    return said if same else str(name)
