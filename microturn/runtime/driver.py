"""The one session driver: sessions of an `Engine` fed chunk by chunk, one tick at a time.

A `Feed` is everything a session will hear, on its own clock: the user's audio at the grid's
sample rate, side text with its times, video frames (one per chunk). Each `tick()` gives every
fed session its next chunk (the audio, the frame, the side text due before the chunk ends),
steps the engine once for all sessions together, and returns a `Tick` per session that ran:
the 200 ms it says next and the events it produced. Live sources (a server, the runtime
benchmark) `push` chunks as they arrive instead of giving a feed.

Tick k's audio is what the model says during chunk k + 1 (it has heard chunk k), so `close()`
of a fed session returns its channel time-aligned with the feed: what it says at time t is at
sample t, chunk 0 being the silence before it has heard anything. `microturn run`, the
benchmark and the runtime benchmark all drive sessions through this.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from microturn.runtime.engine import Engine
from microturn.runtime.events import Event
from microturn.runtime.session import Sampling, Session


@dataclass(frozen=True)
class SideText:
    """Text entering the model's input text stream at `t` seconds: a tool result, a note."""

    t: float
    text: str


@dataclass
class Feed:
    """What one session hears: audio (n,) float32 mono at the grid's rate; side text in time
    order; video (frames, side, side, 3) uint8 at one frame per chunk, or None."""

    audio: np.ndarray
    text: list[SideText] = field(default_factory=list)
    video: np.ndarray | None = None


@dataclass
class Tick:
    """One session's share of a tick: it heard input chunk `chunk` and says `audio`
    (samples_per_chunk,) during the next one; `events` are new since its previous tick."""

    session: Session
    chunk: int
    audio: np.ndarray
    events: list[Event]


@dataclass
class Output:
    """A fed session's whole run: its channel (n,) time-aligned with the feed's audio, and
    its events in time order."""

    audio: np.ndarray
    events: list[Event]


@dataclass
class _Fed:
    feed: Feed
    chunks: list[np.ndarray]
    text: deque
    said: list[np.ndarray] = field(default_factory=list)
    next: int = 0  # the next chunk to feed


class Driver:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._fed: dict[int, _Fed] = {}  # slot -> its feed
        self._seen: dict[int, int] = {}  # slot -> events already handed out

    def open(
        self,
        feed: Feed | None = None,
        id: str = "",
        seed: int = 0,
        sampling: Sampling | None = None,
    ) -> Session:
        """A new session (a free slot of the engine), fed from `feed` or pushed to."""
        s = self.engine.open(id, seed, sampling)
        self._seen[s.slot] = 0
        if feed is not None:
            spc = self.engine.grid.samples_per_chunk
            n = max(1, -(-len(feed.audio) // spc))
            x = np.zeros(n * spc, np.float32)
            x[: len(feed.audio)] = feed.audio
            chunks = [x[k * spc : (k + 1) * spc] for k in range(n)]
            self._fed[s.slot] = _Fed(feed, chunks, deque(sorted(feed.text, key=lambda e: e.t)))
        return s

    def push(self, s: Session, audio: np.ndarray, frame: np.ndarray | None = None) -> None:
        """Queue one chunk of a live session: audio (samples_per_chunk,) float32, and its
        video frame if the camera is on."""
        if frame is not None:
            s.video_in.append(frame)
        s.push_audio(audio)

    def done(self, s: Session) -> bool:
        """A fed session has heard its whole feed."""
        f = self._fed.get(s.slot)
        return f is not None and f.next == len(f.chunks) and not s.audio_in

    def tick(self) -> list[Tick]:
        """Feed every fed session its next chunk, step the engine once, hand out the results."""
        chunk_s = self.engine.grid.chunk_s
        for slot, f in self._fed.items():
            if f.next == len(f.chunks):
                continue
            s, k = self.engine.sessions[slot], f.next
            while f.text and f.text[0].t < (k + 1) * chunk_s:
                e = f.text.popleft()
                s.inject_text(e.text, self.engine.tok, t=e.t)
            video = f.feed.video
            self.push(s, f.chunks[k], video[k] if video is not None and k < len(video) else None)
            f.next += 1
        out = []
        for s in self.engine.step():
            audio = s.audio_out.pop()  # handed out, never accumulated on the session
            new = s.events[self._seen[s.slot] :]
            self._seen[s.slot] = len(s.events)
            if s.slot in self._fed:
                self._fed[s.slot].said.append(audio)
            out.append(Tick(s, s.stream.chunk - 1, audio, new))
        return out

    def close(self, s: Session) -> Output | None:
        """End a session; a fed one returns its aligned channel and events."""
        f = self._fed.pop(s.slot, None)
        self._seen.pop(s.slot, None)
        self.engine.close(s)
        if f is None:
            return None
        n, spc = len(f.feed.audio), self.engine.grid.samples_per_chunk
        said = np.concatenate([np.zeros(spc, np.float32), *f.said])[:n]
        return Output(said, sorted(s.events, key=lambda e: e.t))


def drive(
    engine: Engine,
    feed: Feed,
    id: str = "",
    seed: int = 0,
    sampling: Sampling | None = None,
    script: dict | None = None,
) -> Output:
    """One session through its whole feed. `script` teacher-forces what the model says
    (see `Session.script`)."""
    d = Driver(engine)
    s = d.open(feed, id, seed, sampling)
    s.script = script
    while not d.done(s):
        d.tick()
    return d.close(s)
