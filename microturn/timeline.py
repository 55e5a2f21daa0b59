"""The timeline: a versioned, JSON-serialisable record of one full-duplex conversation.

A timeline says what happens when, on which channel, with word-level times — everything the
renderer needs to make the audio again, and everything a scorer needs to judge a system:

    channel   kind examples                              rendered as
    user      utterance, backchannel, interruption       the user's speech (left channel)
    model     utterance                                  the model's speech (right channel)
    other     side_talk, background                      speech of other people, mixed into user
    noise     noise                                      background noise at an SNR, mixed into user
    cue       beep, tone                                 synthetic tones, mixed into user
    side_text text                                       typed text / prompts (no audio)
    tool      delegate, tool_result                      background-model traffic (no audio)
    video     scene                                      procedural 80x80 frames at 5 fps

`expect` lists what a system should (or must not) do, as windows on the same clock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from microturn.synth.base import Voice, Word

TIMELINE_VERSION = 1
CHANNELS = ("user", "model", "other", "noise", "cue", "side_text", "tool", "video")
SPLITS = ("train", "dev", "test")


class TimelineError(ValueError):
    """A malformed or incompatible timeline."""


@dataclass
class Event:
    channel: str
    kind: str
    t_on: float  # seconds from the conversation's start
    t_off: float
    text: str = ""
    words: list[Word] = field(default_factory=list)  # absolute times
    voice: Voice | None = None
    attrs: dict = field(default_factory=dict)  # prosody, gain_db, snr_db, freq, source span ...

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise TimelineError(f"unknown channel {self.channel!r}")
        if not 0 <= self.t_on <= self.t_off:
            raise TimelineError(f"bad event times {self.t_on}..{self.t_off} ({self.kind})")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["voice"] = self.voice.to_dict() if self.voice else None
        for w in d["words"]:  # engines without phoneme events write words as they always did
            if not w["phones"]:
                del w["phones"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Event:
        d = dict(d)
        d["words"] = [Word(**w) for w in d.get("words", [])]
        d["voice"] = Voice(**d["voice"]) if d.get("voice") else None
        return cls(**d)


@dataclass
class Expect:
    """One thing a system should do (`act`) or must not do, on the conversation clock.

    kind: "speak" (a floor-take whose onset lies in [t_on, t_off], saying `text` if given),
    "silent" (no floor-take onset in [t_on, t_off]), "stop" (stop speaking by t_off),
    "continue" (keep speaking through [t_on, t_off]), "delegate" (a tool call in the window).
    """

    kind: str
    t_on: float
    t_off: float
    text: str = ""
    attrs: dict = field(default_factory=dict)


@dataclass
class Timeline:
    id: str
    family: str
    condition: str
    act: bool  # the should-act side of the family's matched pair
    split: str
    duration: float
    events: list[Event] = field(default_factory=list)
    expect: list[Expect] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # seed, template/lexicon ids, decision time ...
    version: int = TIMELINE_VERSION

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise TimelineError(f"unknown split {self.split!r}")
        if self.version != TIMELINE_VERSION:
            raise TimelineError(
                f"timeline version {self.version}; this code reads version {TIMELINE_VERSION}"
            )

    def on(self, channel: str, kind: str | None = None) -> list[Event]:
        """Events on one channel (optionally of one kind), in time order."""
        return sorted(
            (e for e in self.events if e.channel == channel and (kind is None or e.kind == kind)),
            key=lambda e: e.t_on,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["events"] = [e.to_dict() for e in self.events]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Timeline:
        d = dict(d)
        if d.get("version") != TIMELINE_VERSION:
            raise TimelineError(
                f"timeline version {d.get('version')}; this code reads version {TIMELINE_VERSION}"
            )
        d["events"] = [Event.from_dict(e) for e in d.get("events", [])]
        d["expect"] = [Expect(**x) for x in d.get("expect", [])]
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> Timeline:
        try:
            return cls.from_dict(json.loads(s))
        except (json.JSONDecodeError, TypeError, KeyError) as e:
            raise TimelineError(f"not a timeline: {e}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Timeline:
        return cls.from_json(Path(path).read_text())
