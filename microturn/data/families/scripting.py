"""The moves every family script shares: the teacher's reply timing, duration estimates,
stratified matching, the user's opening turn (or acknowledged instruction), and speaking a
sentence in chunks.

Where the two sides of a family differ in natural length (a whole sentence vs a fragment of
one), a script draws a shared target and draws candidates until one's estimated speech lies
near it (`matched`): stratified matching, so "speech so far" stops predicting the label.

The model's replies in these scripts are the training targets: it answers ~0.2-0.5 s after an
end of turn, backchannels in clause-final pauses, stops within ~0.3 s of a barge-in, speaks
at requested times, and weaves a delegated result back when the floor is free.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from microturn.data.language.grammar import Utterance
from microturn.data.scene import Scene
from microturn.synth import Voice, synthesize

# A fast reference voice used only to *estimate* durations when matching candidates.
_REF = Voice("espeak", "en-us")


def reply_gap(rng: random.Random) -> float:
    """How long after a user's end of turn the model starts to speak (teacher behaviour)."""
    return rng.uniform(0.2, 0.5)


def est(words: Sequence[str], rate: float = 1.0) -> float:
    """Estimated speech duration of `words` (a fast espeak reference, scaled by rate)."""
    return synthesize(" ".join(words), _REF).duration / rate


def matched(
    rng: random.Random, make: Callable[[], tuple], target: float, tol: float = 0.1, tries: int = 60
):
    """Stratified matching: draw candidates `(value, item)` until one lies within `tol` of the
    target (else keep the nearest). Both sides of a pair aim at one shared target
    distribution, so their values end up distributed alike. An item of None is invalid."""
    best = (float("inf"), None)
    for _ in range(tries):
        v, item = make()
        if item is None:
            continue
        if abs(v - target) <= tol:
            return item
        if abs(v - target) < abs(best[0] - target):
            best = (v, item)
    if best[1] is None:
        raise RuntimeError("no valid candidate in {tries} tries")
    return best[1]


def est_of(make: Callable[[], Utterance], rate: float = 1.0) -> Callable[[], tuple]:
    """Candidate maker for `matched`: a fresh utterance and its estimated duration."""

    def f():
        u = make()
        return est(u.words, rate), u

    return f


def open_with(s: Scene, u: Utterance, words: Sequence[str] | None = None) -> float:
    """The scene opens on the user saying `u` (noted): a 0.2-1.0 s lead-in, then `words`
    (default `u.words`). Returns when the user stops."""
    s.note(u)
    s.pause(s.rng.uniform(0.2, 1.0))
    s.user(u.words if words is None else words)
    return s.t


def instruct(s: Scene, ins: Utterance, settle: float) -> float:
    """The user opens with a standing instruction, the model says "okay", and a pause of 1.0 to
    `settle` s follows. Returns when that pause ends: where the task starts."""
    open_with(s, ins)
    s.model(["okay"], at=s.t + reply_gap(s.rng), kind="ack")
    s.pause(s.rng.uniform(1.0, settle))
    return s.t


def chunks(words: Sequence[str], cuts: Sequence[int]) -> list[list[str]]:
    b = [0, *cuts, len(words)]
    return [list(words[b[i] : b[i + 1]]) for i in range(len(b) - 1)]


def speak_chunks(
    s: Scene,
    words: Sequence[str],
    cuts: Sequence[int],
    prosody: str,
    pauses: Sequence[float],
    whole: Sequence[str] | None = None,
) -> None:
    """The user says `words` split at `cuts`, pausing `pauses[i]` after chunk i (not the last).
    `whole` is the sentence `words` begin (default: `words` itself, so the turn ends with them).
    Every chunk that the sentence goes on after carries `prosody`: fall (rendered bare), rise
    (comma), cut (cut out of a rendering of `whole`). With `whole` longer than `words` (a hold)
    that includes the last chunk, the one right before the pause the model must sit out."""
    whole = words if whole is None else whole
    parts = chunks(words, cuts)
    b = [0, *cuts, len(words)]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        ends_turn = last and len(words) == len(whole)
        if ends_turn or prosody == "fall":
            s.user(part, role="final" if ends_turn else "fragment")
        elif prosody == "rise":
            s.user(part, prosody="continue", role="fragment")
        else:
            s.user(part, source=(whole, b[i], b[i + 1]), role="fragment")
        if not last:
            s.pause(pauses[i])


def n_chunks(rng: random.Random) -> int:
    return rng.choices([1, 2, 3], weights=[0.5, 0.35, 0.15])[0]


def pause_len(rng: random.Random, split: str) -> float:
    return rng.uniform(0.3, 2.5 if split != "test" else 3.0)
