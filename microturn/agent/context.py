"""The context package: what every agent receives when the model delegates.

Built from a session's events at the moment of the `<delegate>` token: the two-sided,
timestamped transcript so far (the user's words from the transcript head's `UserText`
pieces, the model's from its `ModelText` stream), the span of user words that asked for it,
the elapsed time on the conversation clock and the wall-clock time, and visual notes where a
session has any. `to_json()` is the form an LLM reads (and the form logged).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from microturn.runtime.events import Event, ModelText, UserText

LINE_GAP_S = 1.5  # a speaker's pieces further apart than this start a new line


@dataclass(frozen=True)
class Line:
    """One stretch of one speaker's words, `t0`..`t1` seconds on the conversation clock."""

    speaker: str  # "user" | "model"
    t0: float
    t1: float
    text: str


@dataclass(frozen=True)
class VisualNote:
    """Something seen, with its time (a caption of a camera frame)."""

    t: float
    text: str


@dataclass(frozen=True)
class ContextPackage:
    """Everything a background agent knows of the conversation when it is asked.

    `t` is the delegation's time on the conversation clock (seconds since the session
    started, so also the elapsed time); `wall_clock` the ISO-8601 UTC time it was built;
    `request` the user's words that triggered it, spoken from `span[0]` to `span[1]`;
    `transcript` both speakers' lines in time order.
    """

    session: str
    t: float
    wall_clock: str
    request: str
    span: tuple[float, float]
    transcript: tuple[Line, ...]
    visual: tuple[VisualNote, ...] = ()

    @property
    def elapsed_s(self) -> float:
        return self.t

    def to_json(self) -> dict:
        d = asdict(self)
        d["elapsed_s"] = self.elapsed_s
        d["span"] = list(self.span)
        return d


def transcript(events: list[Event]) -> tuple[Line, ...]:
    """User and model pieces -> lines: consecutive pieces of one speaker, joined as said
    (BPE pieces carry their leading space), a new line after a gap of `LINE_GAP_S`."""
    pieces = sorted(
        (
            (e.t, "user" if isinstance(e, UserText) else "model", e.text)
            for e in events
            if isinstance(e, UserText | ModelText)
        ),
        key=lambda p: p[0],
    )
    lines: list[list] = []
    for t, who, text in pieces:
        last = lines[-1] if lines else None
        if last and last[0] == who and t - last[2] <= LINE_GAP_S:
            last[2], last[3] = t, last[3] + text
        else:
            lines.append([who, t, t, text])
    return tuple(Line(w, t0, t1, " ".join(x.split())) for w, t0, t1, x in lines if x.strip())


def request_span(lines: tuple[Line, ...]) -> tuple[str, tuple[float, float]]:
    """The user's latest words before the model answered: the user lines after the last
    model line that ended before the latest user line began ("", (0, 0) when none)."""
    users = [i for i, ln in enumerate(lines) if ln.speaker == "user"]
    if not users:
        return "", (0.0, 0.0)
    last = users[-1]
    start = last
    while start > 0 and not (
        lines[start - 1].speaker == "model" and lines[start - 1].t1 < lines[start].t0
    ):
        start -= 1
    asked = [ln for ln in lines[start : last + 1] if ln.speaker == "user"]
    return " ".join(ln.text for ln in asked), (asked[0].t0, asked[-1].t1)


def build(
    session: str,
    events: list[Event],
    t: float,
    visual: tuple[VisualNote, ...] = (),
    now: datetime | None = None,
) -> ContextPackage:
    """The package for a delegation at `t` from the session's events so far."""
    lines = transcript(events)
    request, span = request_span(lines)
    wall = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    return ContextPackage(session, t, wall, request, span, lines, tuple(visual))
