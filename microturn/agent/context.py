"""The context package: what every agent receives when the model delegates.

Built from a session's events at the moment of the `<delegate>` token: the two-sided,
timestamped transcript so far (the user's words from the transcript head's `UserText`
pieces, the model's from its `ModelText` stream), the span of user words that asked for it,
the elapsed time on the conversation clock and the wall-clock time, and visual notes where a
session has any. When the agent hears (`hearing.py`), the package also carries the user's
audio of the request, and the agent reads the recogniser's words of it as the request.
`to_json()` is the form an LLM reads (and the form logged); it leaves the audio out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from microturn.config import GridConfig
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
    `transcript` both speakers' lines in time order. `heard_by` names where `request` comes
    from: "transcript" (the model's transcript head) or a recogniser that heard `audio`, the
    user's 16 kHz audio from `audio_t0` on (None: not kept), which `to_json` leaves out.
    """

    session: str
    t: float
    wall_clock: str
    request: str
    span: tuple[float, float]
    transcript: tuple[Line, ...]
    visual: tuple[VisualNote, ...] = ()
    heard_by: str = "transcript"
    audio_t0: float = 0.0
    audio: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def elapsed_s(self) -> float:
        return self.t

    def to_json(self) -> dict:
        d = asdict(replace(self, audio=None))
        del d["audio"], d["audio_t0"]
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
    heard: tuple[float, np.ndarray] | None = None,
) -> ContextPackage:
    """The package for a delegation at `t` from the session's events so far; `heard`: the
    user's audio the session kept, (its start time, 16 kHz samples), of which the
    request's stretch goes with the package."""
    lines = transcript(events)
    request, span = request_span(lines)
    wall = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    t0, audio = (0.0, None) if heard is None else request_audio(lines, span, t, *heard)
    return ContextPackage(
        session, t, wall, request, span, lines, tuple(visual), audio_t0=t0, audio=audio
    )


REQUEST_LEAD_S = 1.0  # audio kept before the transcript's first word of the request
REQUEST_MAX_S = 12.0  # the longest request audio kept
SAMPLE_RATE = GridConfig().sample_rate  # the user audio a session hears


def request_audio(
    lines: tuple[Line, ...], span: tuple[float, float], t: float, t0: float, audio: np.ndarray
) -> tuple[float, np.ndarray]:
    """The stretch of the user's audio that holds the request: from `REQUEST_LEAD_S` before
    the transcript's first word of it (the head names a word after it is said), or from the
    end of the model's last line when the transcript heard no request, to the end of what was
    heard (the tick's whole chunk); never more than `REQUEST_MAX_S` before `t`, never before
    the audio kept (`t0` its start)."""
    if span[1] > 0:
        start = span[0] - REQUEST_LEAD_S
    else:
        start = max((ln.t1 for ln in lines if ln.speaker == "model"), default=0.0)
    start = max(start, t - REQUEST_MAX_S, t0)
    i = int(round((start - t0) * SAMPLE_RATE))
    return round(start, 3), np.asarray(audio[max(i, 0) :], np.float32)
