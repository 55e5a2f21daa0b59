"""Words the model may say: a trie over the token runs of the data engine's words.

The tokenizer encodes each word on its own, so a word is a fixed run of tokens: a first token
that carries the leading space, then continuations. `Words` holds every word of the data
engine's language (`microturn.data.corpus`, the vocabulary the model was trained on) as such a
run, and a session walks it as it speaks: at each text slot the pieces that keep the current
word on the way to a real word are allowed, and a new word may begin only once the current
one is complete. `Sampling(lexicon=True)` draws from the allowed pieces only once the model
has decided to speak, so when it speaks is untouched and what it says is made of words; inside
a word it draws the next piece at once (the engine: `piece=True`), as the training data lays a
word's pieces out in consecutive slots, so a word once begun is never left cut.

The walk's state is one int per session (`Stream.word_node`); this object is read-only and
shared by every session of an engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import torch

from microturn.tokenizer import DELEGATE, SPECIALS, Tokenizer

ROOT = 0  # between words: any first token may follow


class Words:
    def __init__(self, words: Iterable[str], tok: Tokenizer):
        self.vocab_size = tok.vocab_size
        self.children: list[dict[int, int]] = [{}]
        self.complete: list[bool] = [True]  # the root: no word begun
        self.word: dict[int, str] = {}  # a complete node -> its word
        self.n_words = 0
        for w in sorted(set(words)):
            node = ROOT
            for k in tok.word(w):
                if k < len(SPECIALS):
                    raise ValueError(f"word {w!r} encodes to a special token")
                nxt = self.children[node].get(k)
                if nxt is None:
                    nxt = self.children[node][k] = len(self.children)
                    self.children.append({})
                    self.complete.append(False)
                node = nxt
            self.complete[node] = True
            self.word[node] = w
            self.n_words += 1
        if self.n_words == 0:
            raise ValueError("no words to build a lexicon from")
        self._masks: dict[int, torch.Tensor] = {}
        self._within: dict[int, torch.Tensor] = {}

    def allowed(self, node: int) -> torch.Tensor:
        """(vocab,) bool: the pieces that may follow at `node` (besides <pad>): continuations
        of the current word, first tokens of a new word once it is complete, and <delegate>."""
        m = self._masks.get(node)
        if m is None:
            m = torch.zeros(self.vocab_size, dtype=torch.bool)
            m[DELEGATE] = True
            ids = list(self.children[node])
            if self.complete[node] and node != ROOT:
                ids += list(self.children[ROOT])
            m[ids] = True
            self._masks[node] = m
        return m

    def within(self, node: int) -> torch.Tensor:
        """(vocab,) bool: only the current word's continuations at `node` (none once it has
        none left)."""
        m = self._within.get(node)
        if m is None:
            m = torch.zeros(self.vocab_size, dtype=torch.bool)
            m[list(self.children[node])] = True
            self._within[node] = m
        return m

    def under(self, node: int) -> list[str]:
        """The words whose token runs begin with the run that leads to `node`."""
        out, todo = [], [node]
        while todo:
            n = todo.pop()
            if n in self.word:
                out.append(self.word[n])
            todo += self.children[n].values()
        return out

    def begins(self, node: int, k: int) -> bool:
        """Token k at `node` begins a new word (it is no continuation of the current one)."""
        return k >= len(SPECIALS) and (node == ROOT or k not in self.children[node])

    def step(self, node: int, k: int) -> int:
        """The walk's state after token k: specials (<pad>, <delegate>) end a complete word
        (a word's pieces are said in consecutive slots, so none goes on after a pad) and leave
        an unfinished one (only a script pads inside a word) where it is; a piece outside the
        lexicon (a scripted or unconstrained token) ends the word."""
        if k < len(SPECIALS):
            return ROOT if self.complete[node] else node
        nxt = self.children[node].get(k)
        if nxt is None:
            nxt = self.children[ROOT].get(k, ROOT)
        return nxt


@cache
def corpus_words() -> frozenset[str]:
    """Every word the data engine's corpus uses (its default sample: 1.3 s to build)."""
    from microturn.data.corpus import corpus

    return frozenset(w for line in corpus() for w in line.split())


@cache
def lexicon_words() -> Words:
    """The shared trie over `corpus_words` (built once per process)."""
    return Words(corpus_words(), Tokenizer())
