"""Who speaks in each split: the user voices, other people, and the model's own voice.

Splits differ in voices, not only in text. Train uses espeak-ng accents x variants and three
flite voices; dev uses espeak accents and variants train never hears plus flite's slt; test
uses held-out espeak voices and holds out **one whole synthesizer**, festival, so that a
turn-taking claim has to survive an engine the model never heard. Rates and pitches widen
from train to test (extrapolation). Train voices also get a vocal-tract scale (formants and
pitch up to x1.25, pace kept): its natural-sounding voices are all male, and the
model heard the held-out female slt worst of all (docs/LOG.md, "what limits the probe: hearing").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from microturn.synth.base import Voice

# The model always speaks with one voice (configurable; never a user voice of any split).
MODEL_VOICE = Voice("espeak", "en-us+m3", rate=1.05, pitch=45)


@dataclass(frozen=True)
class VoicePool:
    espeak: tuple[str, ...]  # "accent+variant"
    flite: tuple[str, ...]
    festival: tuple[str, ...]
    rate: tuple[float, float]  # speed factor range
    pitch: tuple[int, int]
    engine_weights: tuple[float, float, float]  # espeak, flite, festival
    formant: tuple[float, float] = (1.0, 1.0)  # vocal-tract scale range (train only)

    def sample(self, rng: random.Random) -> Voice:
        engines = ("espeak", "flite", "festival")
        pools = (self.espeak, self.flite, self.festival)
        w = [wt if pool else 0.0 for wt, pool in zip(self.engine_weights, pools, strict=True)]
        i = rng.choices(range(3), weights=w)[0]
        name = rng.choice(pools[i])
        rate, pitch = round(rng.uniform(*self.rate), 2), rng.randint(*self.pitch)
        # drawn only where the range is open, so dev and test voices stay as they were
        f = round(rng.uniform(*self.formant), 2) if self.formant != (1.0, 1.0) else 1.0
        return Voice(engines[i], name, rate=rate, pitch=pitch, formant=f)

    def names(self) -> set[str]:
        return (
            {f"espeak:{v}" for v in self.espeak}
            | {f"flite:{v}" for v in self.flite}
            | {f"festival:{v}" for v in self.festival}
        )


def _cross(accents: tuple[str, ...], variants: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{a}+{v}" for a in accents for v in variants)


POOLS: dict[str, VoicePool] = {
    "train": VoicePool(
        espeak=_cross(
            ("en-us", "en-gb", "en-gb-x-rp", "en-029", "en-gb-scotland"),
            ("m1", "m2", "m4", "m5", "m6", "f1", "f2", "f3", "f5", "klatt2", "klatt4"),
        ),
        flite=("kal16", "awb", "rms"),
        festival=(),
        rate=(0.8, 1.2),
        pitch=(30, 70),
        engine_weights=(0.6, 0.4, 0.0),
        formant=(0.92, 1.25),
    ),
    "dev": VoicePool(
        espeak=_cross(("en-us-nyc", "en-gb-x-gbclan"), ("m7", "f4", "klatt3")),
        flite=("slt",),
        festival=(),
        rate=(0.75, 1.25),
        pitch=(25, 75),
        engine_weights=(0.6, 0.4, 0.0),
    ),
    "test": VoicePool(
        espeak=_cross(("en-gb-x-gbcwmd",), ("m8", "f4", "klatt6", "croak")),
        flite=(),
        festival=("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"),
        rate=(0.7, 1.3),
        pitch=(20, 80),
        engine_weights=(0.4, 0.0, 0.6),
    ),
}


def voice_pool(split: str) -> VoicePool:
    return POOLS[split]
