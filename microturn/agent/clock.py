"""The clock and timers, said in words: "it is two fourteen pm", "timer set for ten seconds".

A timer is a result now (it is set) and a result later (it is done): `timer()` returns both
texts and the delay, and the dispatcher says the second one when the session's clock reaches
the delegation's time plus the delay.
"""

from __future__ import annotations

from datetime import datetime

from microturn.agent.speech import say_int

_UNITS = ((3600, "hour"), (60, "minute"), (1, "second"))


def say_duration(seconds: float) -> str:
    """90 -> "one minute thirty seconds"; 600 -> "ten minutes"; 0.5 -> "half a second"."""
    s = round(seconds)
    if s < 1:
        return "half a second" if seconds >= 0.25 else "a moment"
    out = []
    for size, name in _UNITS:
        q, s = divmod(s, size)
        if q:
            out.append(f"{say_int(q)} {name}{'s' if q != 1 else ''}")
    return " ".join(out)


def say_time(now: datetime, what: str = "time") -> str:
    """The wall-clock time, date or weekday as words."""
    if what == "day":
        return f"it is {now.strftime('%A').lower()}"
    if what == "date":
        day, month = now.strftime("%A").lower(), now.strftime("%B").lower()
        return f"it is {day} {month} {say_int(now.day)} {say_int(now.year)}"
    h, m = now.hour % 12 or 12, now.minute
    mins = "o'clock" if m == 0 else f"oh {say_int(m)}" if m < 10 else say_int(m)
    return f"it is {say_int(h)} {mins} {'am' if now.hour < 12 else 'pm'}"


def timer(seconds: float, label: str = "") -> tuple[str, float, str]:
    """A timer of `seconds`: (what is said now, the delay, what is said when it is done)."""
    d = say_duration(seconds)
    what = f" ({label})" if label else ""
    return f"timer set for {d}{what}", float(seconds), f"your timer for {d}{what} is done"
