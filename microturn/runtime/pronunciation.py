"""Phones that follow the words: the model's phone stream laid out from the words its text
stream says, as the model voice says them.

The phone head (`voice/phones.py`) chooses, every 25 ms frame, the phoneme its voice sounds
`phone_lead` slots ahead, and the flow head voices it. Free running, the head is unsure which
phoneme comes next and how long each lasts, and its audio stops carrying the words even when
the text is right (docs/LOG.md). With `Sampling.pronounce` the runtime lays the phone stream
out from the text instead, as training data lays it out: a word's frames start at the slot
its first piece is said (text and phones lead the audio by the same number of slots), with
the model voice's phonemes and durations for that word (`voice/pronounce.py`); until the next
word begins, silence. Where the word is not yet known (its first piece begins several words)
or has several pronunciations, the phone head chooses among the candidates' phonemes at each
frame; a later piece drops the candidates it rules out. The text decides when each word
starts, but not before the voice is done with the last one (`PACE`: a new word may begin
once at most one slot of it is left; the engine holds the text back until then); the head
only breaks ties.

The walk is an immutable `PhoneWalk` on the session's stream; `Pronouncer` is read-only and
shared by every session of an engine.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import torch

from microturn.runtime.words import ROOT, Words, lexicon_words
from microturn.tokenizer import SPECIALS
from microturn.voice.phones import SILENCE
from microturn.voice.pronounce import pronunciations

PACE = 2  # frames of the current word that may still be left when the next one begins


class PhoneWalk(NamedTuple):
    # the frame streams (phone ids, one per frame from the word's onset) the current word may
    # still have; () before any word, None for a word the lexicon does not pronounce
    candidates: tuple[tuple[int, ...], ...] | None = ()
    frame: int = 0  # frames of the current word already chosen


class Pronouncer:
    def __init__(self, words: Words, prons: dict[str, tuple[tuple[int, ...], ...]]):
        self.words = words
        self.prons = prons

    @cache  # noqa: B019 - one pronouncer per process (`lexicon_pronouncer`)
    def candidates(self, node: int) -> tuple[tuple[int, ...], ...] | None:
        """The frame streams of every word the text walk at `node` may turn out to be (None
        where none of them is pronounced)."""
        out: dict[tuple[int, ...], None] = {}
        for w in self.words.under(node) if node != ROOT else ():
            for v in self.prons.get(w, ()):
                out[v] = None
        return tuple(out) or None

    def on_token(
        self, walk: PhoneWalk, before: int, k: int, after: int, words: Words | None = None
    ) -> PhoneWalk:
        """The text walk went from node `before` to `after` on token k (in `words`: a
        session's trie that side text extended, default this pronouncer's): a new word starts
        its frames now; a continuation keeps the candidates that agree with the frames chosen.
        A word side text added has no pronunciation here: the phone head voices it."""
        if k < len(SPECIALS):
            return walk  # <pad>, <delegate>: the current word goes on
        words = words or self.words
        cands = self.candidates(after) if after < len(self.words.children) else None
        if words.begins(before, k) or cands is None or not walk.candidates:
            return PhoneWalk(cands, 0)
        said = _at(walk.candidates[0], walk.frame)
        kept = tuple(c for c in cands if _at(c, walk.frame) == said)
        return PhoneWalk(kept or cands, walk.frame)

    def left(self, walk: PhoneWalk) -> int:
        """Frames of the current word still to say (its shortest candidate's); 0 when none."""
        if not walk.candidates:
            return 0
        return max(0, min(len(c) for c in walk.candidates) - walk.frame)

    def options(self, walk: PhoneWalk) -> set[int] | None:
        """The phonemes the next frame may sound (None: no constraint)."""
        if walk.candidates is None:
            return None
        if not walk.candidates:
            return {SILENCE}
        return {_frame(c, walk.frame) for c in walk.candidates}

    def on_phone(self, walk: PhoneWalk, p: int) -> PhoneWalk:
        """The frame sounds phoneme p (one of `options`)."""
        if not walk.candidates:
            return walk
        f = walk.frame
        kept = tuple(c for c in walk.candidates if _frame(c, f) == p)
        return PhoneWalk(kept or walk.candidates, f + 1)

    def choose(self, walk: PhoneWalk, logits: torch.Tensor) -> tuple[PhoneWalk, list[int]]:
        """logits (frames, n_phones) of one row -> the walk after it and the phonemes chosen
        (where candidates differ, the one the head scores highest), frame by frame."""
        out = []
        for f in range(logits.shape[0]):
            allowed = self.options(walk)
            if allowed is None:
                p = int(logits[f].argmax())
            elif len(allowed) == 1:
                p = next(iter(allowed))
            else:
                ids = sorted(allowed)
                p = ids[int(logits[f, ids].argmax())]
            walk = self.on_phone(walk, p)
            out.append(p)
        return walk, out


def _frame(c: tuple[int, ...], f: int) -> int:
    """A frame stream's phone at frame f; silence after its end."""
    return c[f] if f < len(c) else SILENCE


def _at(c: tuple[int, ...], n: int) -> tuple[int, ...]:
    """A frame stream's first n frames, silence after its end."""
    return tuple(_frame(c, f) for f in range(n))


@cache
def lexicon_pronouncer() -> Pronouncer:
    return Pronouncer(lexicon_words(), pronunciations())
