"""A small builder that lays out one conversation on a clock while synthesizing as it goes.

Families (families/) script conversations with it: `s.user(words)`, `s.pause(0.8)`,
`s.model(words, at=...)`. Each speech call synthesizes the clip (cached per process, so
rendering the finished timeline reuses it), places it at the cursor or at `at`, records
word times on the conversation clock, and advances the cursor on that channel.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from microturn.data.voices import MODEL_VOICE
from microturn.synth import Voice, synthesize
from microturn.timeline import Event, Expect, Timeline


class Scene:
    def __init__(
        self, rng: random.Random, split: str, user_voice: Voice, qa_topics: tuple[str, ...] = ()
    ):
        self.rng, self.split, self.voice = rng, split, user_voice
        self.qa_topics = qa_topics  # the question cores a QA scenario draws from (empty: all)
        self.t = 0.0  # the user's cursor (seconds)
        self.events: list[Event] = []
        self.expect: list[Expect] = []
        self.meta: dict = {"templates": [], "lexicon": []}
        self.gain_db = rng.uniform(-12.0, -3.0)  # this user's peak level

    # --- speech ------------------------------------------------------------------------
    def say(
        self,
        channel: str,
        words: Sequence[str],
        voice: Voice,
        at: float,
        kind: str = "utterance",
        prosody: str = "final",
        gain_db: float = 0.0,
        source: tuple[Sequence[str], int, int] | None = None,
        **attrs,
    ) -> Event:
        """Place speech on `channel` starting at `at`. With `source=(all_words, i, j)` the
        audio is words i..j-1 cut out of a rendering of the whole sentence (so the fragment
        keeps the prosody of a sentence that goes on)."""
        text = " ".join(words)
        if source is None:
            clip = synthesize(text, voice, prosody)
            offset = 0.0
            ws = clip.words
            dur = clip.duration
        else:
            full, i, j = source
            clip = synthesize(" ".join(full), voice, "final")
            if len(clip.words) != len(full):  # the engine merged or split words: no cut
                return self.say(channel, words, voice, at, kind, prosody, gain_db, None, **attrs)
            offset = clip.words[i].t_on
            end = clip.words[j - 1].t_off
            ws = [replace(w, t_on=w.t_on - offset, t_off=w.t_off - offset) for w in clip.words[i:j]]
            dur = end - offset
            attrs["source"] = {"text": " ".join(full), "start": i, "end": j}
        e = Event(
            channel,
            kind,
            round(at, 4),
            round(at + dur, 4),
            text,
            [replace(w, t_on=round(at + w.t_on, 4), t_off=round(at + w.t_off, 4)) for w in ws],
            voice,
            {"prosody": prosody, "gain_db": round(gain_db, 2), **attrs},
        )
        self.events.append(e)
        return e

    def user(
        self,
        words: Sequence[str],
        kind: str = "utterance",
        prosody: str = "final",
        source=None,
        at: float | None = None,
        **attrs,
    ) -> Event:
        """The user speaks at the cursor (or `at`); the cursor moves to the end."""
        jitter = self.rng.uniform(-2.0, 2.0)
        e = self.say(
            "user",
            words,
            self.voice,
            self.t if at is None else at,
            kind,
            prosody,
            self.gain_db + jitter,
            source,
            **attrs,
        )
        self.t = max(self.t, e.t_off)
        return e

    def model(self, words: Sequence[str], at: float, kind: str = "utterance", **attrs) -> Event:
        """The model speaks (its one voice) starting at `at`; the user's cursor is untouched."""
        return self.say("model", words, MODEL_VOICE, at, kind, "final", -3.0, None, **attrs)

    def other(
        self, words: Sequence[str], voice: Voice, at: float, kind: str, gain_db: float, **attrs
    ) -> Event:
        """Someone else speaks (side talk, background), mixed into the user's microphone."""
        return self.say("other", words, voice, at, kind, "final", gain_db, None, **attrs)

    # --- non-speech --------------------------------------------------------------------
    def pause(self, seconds: float) -> float:
        self.t += seconds
        return self.t

    def beep(self, at: float, freq: float = 1000.0, dur: float = 0.2, kind: str = "beep") -> Event:
        e = Event(
            "cue",
            kind,
            round(at, 4),
            round(at + dur, 4),
            "",
            attrs={"freq": freq, "gain_db": round(self.gain_db, 2)},
        )
        self.events.append(e)
        return e

    def add(self, e: Event) -> Event:
        self.events.append(e)
        return e

    def want(self, kind: str, t_on: float, t_off: float, text: str = "", **attrs) -> None:
        self.expect.append(Expect(kind, round(t_on, 4), round(t_off, 4), text, attrs))

    def note(self, utt) -> None:
        """Record an Utterance's template and lexicon ids (for split checks)."""
        self.meta["templates"].append(utt.template)
        self.meta["lexicon"].extend(utt.lexicon)

    # --- finish ------------------------------------------------------------------------
    def timeline(self, id: str, family: str, condition: str, act: bool, tail: float) -> Timeline:
        """Close the scene `tail` seconds after the last event; add background noise."""
        end = max([self.t] + [e.t_off for e in self.events] + [x.t_off for x in self.expect])
        duration = round(end + tail, 4)
        snr = self.rng.choice([None, None, 30.0, 20.0, 15.0, 10.0])
        if snr is not None:
            color = self.rng.choice(["white", "pink", "brown"])
            self.events.append(
                Event(
                    "noise",
                    "noise",
                    0.0,
                    duration,
                    "",
                    attrs={"snr_db": snr, "color": color, "seed": self.rng.randrange(2**31)},
                )
            )
        self.meta.update(
            user_voice=self.voice.id,
            dither_db=round(self.rng.uniform(-75.0, -60.0), 1),
            seed=self.rng.randrange(2**31),
        )
        return Timeline(
            id, family, condition, act, self.split, duration, self.events, self.expect, self.meta
        )
