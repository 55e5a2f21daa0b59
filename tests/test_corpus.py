"""The tokenizer's corpus: deterministic, from every split; the tokenizer trains on any texts."""

import itertools

from microturn.data.corpus import corpus
from microturn.data.language.lexicon import items_of
from microturn.tokenizer import SPECIALS, Tokenizer, train


def test_corpus_is_seeded_and_covers_held_out_items():
    a, b = list(corpus(300)), list(corpus(300))
    assert a == b and a != list(corpus(300, seed=1))
    words = {w for text in a for w in text.split()}
    for split in ("train", "dev", "test"):  # a tokenizer is not a place to hide a split
        assert words & set(items_of("word", split)), split


def test_train_takes_the_texts(tmp_path):
    texts = list(itertools.islice(corpus(), 2000))
    tk = Tokenizer(train(texts, tmp_path / "tokenizer.json", vocab_size=300))
    assert [tk.tk.token_to_id(s) for s in SPECIALS] == list(range(len(SPECIALS)))
    assert tk.decode(tk.encode(texts[0])) == texts[0]
