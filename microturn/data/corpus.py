"""The tokenizer's training corpus: sentences from every family generator of every split.

The vocabulary must cover the held-out lexicon too: a tokenizer is not a place to hide a split.

    microturn tokenizer   # retrain and rewrite microturn/assets/tokenizer.json
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from microturn.data.language import generators as G
from microturn.data.language.numbers import number_words


def corpus(n: int = 40_000, seed: int = 0) -> Iterator[str]:
    """Sentences from every generator of the data engine, all splits."""
    rng = random.Random(seed)
    makers = [
        G.question,
        G.statement,
        G.interruption,
        G.side_talk,
        G.long_request,
        G.tool_request,
        G.direct_request,
        G.refusal,
        G.benign_lookalike,
        G.self_repair,
        G.cue_instruction,
        G.count_instruction,
        G.timed_followup,
    ]
    for i in range(n):
        split = ("train", "dev", "test")[i % 3]
        u = makers[i % len(makers)](rng, split)
        yield " ".join(u.words)
        if u.answer:
            yield " ".join(u.answer)
        if i % 10 == 0:
            nar = G.narrative(rng, split, 4)
            yield " ".join(nar.words)
            m, q, c = G.elapsed(rng, split)
            yield " ".join([*m.words, *q.words, *c.words])
            t = G.timed_request(rng, split, seconds=rng.choice([2, 3, 5, 8, 13, 20]))
            yield " ".join([*t.words, *t.answer])
            ins, pairs = G.interpretation(rng, split)
            yield " ".join([*ins.words, *(w for p in pairs for w in p)])
            yield " ".join(G.word_list(rng, split, 12))
            yield " ".join(G.visual_instruction(rng, split).words)
            yield " ".join(G.backchannel(rng).words)
            yield number_words(rng.randrange(10_000))
