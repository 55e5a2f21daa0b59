"""How the model's voice says each word of the data engine's language, frame by frame.

The model's phone stream (`voice/phones.py`) is espeak-ng's phonemes of the model voice, held
over 25 ms frames with espeak-ng's own timing. espeak-ng says a word by its context ("a" alone
is "eI", in a sentence mostly "a#"), so the pronunciations are read off corpus sentences
spoken by `MODEL_VOICE`, as the data engine speaks them: per word, each phoneme sequence seen
in at least `MIN_SHARE` of its occurrences, most frequent first, with the median number of
frames of each phoneme (and of the silence before the first, where espeak-ng reports one); a
word the sampled sentences never hold is spoken alone. Shipped as JSON in microturn/assets so
the runtime needs no synthesizer:

    python -m microturn.voice.pronounce   # rebuild microturn/assets/pronunciations.json
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from pathlib import Path

import numpy as np

from microturn.voice.phones import INVENTORY, SILENCE, frame_phones, phone_id

PATH = Path(__file__).resolve().parent.parent / "assets" / "pronunciations.json"
MIN_SHARE = 0.15  # a variant seen in fewer of a word's occurrences is left out
HOP_S = 0.025  # the phone stream's frame (GridConfig.hop_ms)
SEEN = 8  # occurrences per word after which sentences holding only such words are skipped


def build(lines, words: set[str], hop_s: float = HOP_S) -> dict[str, list[list]]:
    """Corpus lines, the words to cover -> {word: [[[phoneme, frames], ...], ...] variants};
    the phoneme "_" is silence."""
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth.espeak import render

    seen: dict[str, dict[tuple, list]] = defaultdict(lambda: defaultdict(list))

    def count(w) -> None:
        key = w.text.lower()
        if key in words and w.phones:
            runs = frames_of(w, hop_s)
            seen[key][tuple(p for p, _ in runs)].append([n for _, n in runs])

    n = lambda w: sum(map(len, seen[w].values())) if w in seen else 0  # noqa: E731
    for line in lines:
        if all(n(w) >= SEEN for w in line.split()):
            continue
        for w in render(line, MODEL_VOICE)[1]:
            count(w)
        if all(n(w) >= SEEN for w in words):
            break
    for w in sorted(words):
        if not n(w):  # never seen in a sentence: alone
            for said in render(w, MODEL_VOICE)[1]:
                count(said)
    out = {}
    for w in sorted(words):
        if not n(w):
            continue  # espeak-ng says no phonemes for it
        total = n(w)
        variants = sorted(seen[w].items(), key=lambda kv: -len(kv[1]))
        out[w] = [
            [[p, int(np.median([f[i] for f in fr]))] for i, p in enumerate(names)]
            for names, fr in variants
            if len(fr) >= MIN_SHARE * total
        ]
    return out


def frames_of(w, hop_s: float = HOP_S) -> list[tuple[str, int]]:
    """A spoken word -> its frame stream from its onset as `frame_phones` lays it out,
    run-length coded: [(phoneme or "_", frames), ...]."""
    from microturn.synth.base import Word

    rel = Word(w.text, 0.0, w.t_off - w.t_on, w.phones)
    n = max(1, int(np.ceil((w.t_off - w.t_on) / hop_s - 1e-9)))
    ids = frame_phones([rel], n, hop_s)
    names = {phone_id(p): p for p, _ in w.phones}
    runs: list[tuple[str, int]] = []
    for i in ids.tolist():
        name = "_" if i == SILENCE else names.get(i, "?")
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + 1)
        else:
            runs.append((name, 1))
    return runs


def save(prons: dict[str, list[list]], path: Path = PATH) -> Path:
    """One word a line, so that a rebuild's diff shows what changed."""
    rows = [f"{json.dumps(w)}: {json.dumps(v)}" for w, v in sorted(prons.items())]
    head = f'{{"inventory": {len(INVENTORY)}, "words": {{\n'
    path.write_text(head + ",\n".join(rows) + "\n}}\n")
    return path


@cache
def pronunciations(path: Path = PATH) -> dict[str, tuple[tuple[int, ...], ...]]:
    """{word: variants}, each variant the word's frame stream from its onset: one phone id
    (as the model's phone stream numbers them; 0 silence) per 25 ms frame."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no pronunciations (run `python -m {__name__}`)")
    words = json.loads(path.read_text())["words"]
    return {
        w: tuple(tuple(i for p, k in v for i in [_id(p)] * k) for v in vs)
        for w, vs in words.items()
    }


def _id(name: str) -> int:
    return SILENCE if name == "_" else phone_id(name)


def main() -> None:
    from microturn.data.corpus import corpus
    from microturn.runtime.words import corpus_words

    words = set(corpus_words())
    prons = build(corpus(), words)
    p = save(prons)
    many = sum(len(v) > 1 for v in prons.values())
    print(f"{len(prons)} of {len(words)} words, {many} with more than one variant -> {p}")


if __name__ == "__main__":
    main()
