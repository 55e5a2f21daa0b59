"""The synthesizer interface every engine shares: voices, clips with word times, trimming."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from microturn.config import GridConfig

SAMPLE_RATE = GridConfig().sample_rate


class SynthError(RuntimeError):
    """A synthesizer is missing or failed (a one-line message for the user)."""


@dataclass(frozen=True)
class Voice:
    """Who speaks, and how. `rate` scales the engine's default speed; `pitch` is 0-99
    (espeak's scale, 50 = the voice's default), mapped by each engine as best it can."""

    engine: str  # "espeak" | "flite" | "festival"
    name: str  # engine voice id, e.g. "en-us+f3", "slt", "kal_diphone"
    rate: float = 1.0
    pitch: int = 50
    formant: float = 1.0  # > 1 scales formants and pitch up (a shorter vocal tract), same pace

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise SynthError(f"unknown engine {self.engine!r}; known: {', '.join(ENGINES)}")
        if not 0.3 <= self.rate <= 3.0:
            raise SynthError(f"voice rate {self.rate} outside [0.3, 3]")
        if not 0 <= self.pitch <= 99:
            raise SynthError(f"voice pitch {self.pitch} outside [0, 99]")
        if not 0.7 <= self.formant <= 1.5:
            raise SynthError(f"voice formant scale {self.formant} outside [0.7, 1.5]")

    @property
    def id(self) -> str:
        f = "" if self.formant == 1.0 else f"~{self.formant:.2f}"
        return f"{self.engine}:{self.name}@{self.rate:.2f}/{self.pitch}{f}"

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.formant == 1.0:  # timelines written before the field existed read the same
            del d["formant"]
        return d


@dataclass
class Word:
    text: str
    t_on: float  # seconds from the clip's start
    t_off: float
    # [[phoneme, seconds from t_on], ...] in order, where the engine reports them (espeak-ng);
    # a phoneme lasts until the next one or the word's end. Relative, so moving a word keeps them.
    phones: list = field(default_factory=list)

    def scaled(self, f: float) -> Word:
        """The word at 1/f of its times (audio played f times faster)."""
        return Word(
            self.text, self.t_on / f, self.t_off / f, [[p, dt / f] for p, dt in self.phones]
        )


@dataclass
class Clip:
    """Trimmed speech: float32 mono at 16 kHz, and the words in it."""

    audio: np.ndarray
    words: list[Word] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


ENGINES = ("espeak", "flite", "festival")


def frame_db(x: np.ndarray, frame: int = 160) -> np.ndarray:
    """Level of each 10 ms frame in dB (mean square)."""
    n = len(x) // frame
    fr = x[: n * frame].reshape(n, frame).astype(np.float64)
    return 10 * np.log10(np.mean(fr * fr, axis=1) + 1e-12)


def trim(audio: np.ndarray, words: list[Word], rel_db: float = -40.0) -> Clip:
    """Cut leading/trailing silence (frames below loudest-10ms-frame + rel_db) and shift and
    clamp word times to the kept span. Word ends are tightened to the word's last loud frame,
    so a word never 'lasts' through a following silence."""
    audio = np.asarray(audio, dtype=np.float32)
    f = 160
    lv = frame_db(audio, f)
    if lv.size == 0 or lv.max() < -100:
        return Clip(np.zeros(0, np.float32), [])
    loud = np.nonzero(lv >= lv.max() + rel_db)[0]
    a, b = loud[0] * f, min(len(audio), (loud[-1] + 1) * f)
    out = audio[a:b]
    t0, dur = a / SAMPLE_RATE, (b - a) / SAMPLE_RATE
    is_loud = lv >= lv.max() + rel_db
    kept = []
    for i, w in enumerate(words):
        on = min(max(w.t_on - t0, 0.0), dur)
        off = min(max(w.t_off - t0, on), dur)
        # tighten: move the end back to the last loud frame inside [on, off]
        fa, fb = int(round((on + t0) * 100)), int(round((off + t0) * 100))
        seg = np.nonzero(is_loud[fa:fb])[0]
        if seg.size:
            off = min(dur, (fa + seg[-1] + 1) / 100 - t0)
            on = max(on, (fa + seg[0]) / 100 - t0) if i == 0 else on
        kept.append(replace(w, t_on=round(float(on), 4), t_off=round(float(max(off, on)), 4)))
    return Clip(out, kept)
