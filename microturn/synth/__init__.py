"""Speech synthesizers for the data engine: one interface, several engines.

`synthesize(text, voice)` returns a trimmed 16 kHz `Clip` with word times, whatever the
engine. Engines: espeak-ng (libespeak-ng through ctypes), flite and festival (Debian
packages, through their command lines). `base` is what they share; `dispatch` sits above them.
"""

from microturn.synth.base import Clip, SynthError, Voice, Word
from microturn.synth.dispatch import synthesize

__all__ = ["Clip", "SynthError", "Voice", "Word", "synthesize"]
