"""`synthesize`: one call for every engine. Picks the voice's engine, scales formants, trims,
and caches per process. The engines import only `base`; this module is the one above them."""

from __future__ import annotations

import functools
from dataclasses import replace

from microturn.synth import espeak, festival, flite
from microturn.synth.base import SAMPLE_RATE, Clip, SynthError, Voice, trim

_ENGINES = {"espeak": espeak, "flite": flite, "festival": festival}


def synthesize(text: str, voice: Voice, prosody: str = "final") -> Clip:
    """Speak `text` with `voice`; return the energy-trimmed clip with word times.

    prosody: "final" renders the text bare (espeak ends falling), "continue" appends a comma
    (continuation rise). Punctuation inside `text` is kept as written. Cached per process.
    """
    text = " ".join(text.split())
    if not text:
        raise SynthError("empty text: nothing to synthesize")
    if prosody not in ("final", "continue"):
        raise SynthError(f"unknown prosody {prosody!r}")
    clip = _cached(text, voice, prosody)
    return Clip(clip.audio, [replace(w) for w in clip.words])


@functools.lru_cache(maxsize=4096)
def _cached(text: str, voice: Voice, prosody: str) -> Clip:
    if voice.formant != 1.0:  # speak slower by the scale, then play faster by it
        from microturn.audio import resample

        f = voice.formant
        slow = _cached(text, replace(voice, rate=voice.rate / f, formant=1.0), prosody)
        audio = resample(slow.audio, SAMPLE_RATE, round(SAMPLE_RATE / f))
        return Clip(audio, [w.scaled(f) for w in slow.words])
    spoken = text + ("," if prosody == "continue" else "")
    audio, words = _ENGINES[voice.engine].render(spoken, voice)
    clip = trim(audio, words)
    if len(clip.audio) == 0:
        raise SynthError(f"{voice.id} produced no audible speech for {text!r}")
    return clip
