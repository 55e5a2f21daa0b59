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
shared by every session of an engine. Side text a session receives (a tool's or an LLM's
result, a typed message) brings words the model may read and then say: `extended` makes the
session its own trie with those words added, the shared one untouched and every node id of it
kept, so a walk goes on where it stands (`Session.inject_text`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from functools import cache

import torch

from microturn.tokenizer import DELEGATE, SPECIALS, Tokenizer

ROOT = 0  # between words: any first token may follow
MAX_EXTRA_WORDS = 2000  # words side text may add to one session's trie (bounded memory)


class Words:
    def __init__(self, words: Iterable[str], tok: Tokenizer):
        self.vocab_size = tok.vocab_size
        self.children: list[dict[int, int]] = [{}]
        self.complete: list[bool] = [True]  # the root: no word begun
        self.word: dict[int, str] = {}  # a complete node -> its word
        self.n_words = 0
        for w in sorted(set(words)):
            run = tok.word(w)
            if any(k < len(SPECIALS) for k in run):
                raise ValueError(f"word {w!r} encodes to a special token")
            self._add(run, w)
        if self.n_words == 0:
            raise ValueError("no words to build a lexicon from")
        self.n_extra = 0  # words added by `extended`
        self._masks: dict[int, torch.Tensor] = {}
        self._within: dict[int, torch.Tensor] = {}

    def extended(self, words: Iterable[str], tok: Tokenizer) -> Words:
        """A new trie with `words` added (lowercased; those already in, those that encode to
        a special token, and any beyond `MAX_EXTRA_WORDS` added in all are left out): every
        node of this one keeps its id, so a walk on this trie goes on in the new one; this one
        is not changed. Returns self when nothing is new."""
        runs = {w: tok.word(w) for w in dict.fromkeys(x.lower() for x in words) if w}
        new = [
            w for w, r in runs.items() if all(k >= len(SPECIALS) for k in r) and not self._has(r)
        ]
        new = new[: max(0, MAX_EXTRA_WORDS - self.n_extra)]
        if not new:
            return self
        out = copy.copy(self)
        out.children, out.complete = list(self.children), list(self.complete)
        out.word, out._masks, out._within = dict(self.word), {}, {}
        own: set[int] = set()  # nodes whose children dict is out's own, not shared with self
        for w in new:
            out._add(runs[w], w, own)
        out.n_extra += len(new)
        return out

    def _add(self, run: Iterable[int], w: str, own: set[int] | None = None) -> None:
        """Add word w, its token run, as a path from the root. `own`: the nodes whose
        children dict this trie owns (a copy made by `extended` shares the rest with its base
        and copies each one before changing it); None: it owns every one."""
        node = ROOT
        for k in run:
            if own is not None and node not in own:
                self.children[node] = dict(self.children[node])
                own.add(node)
            nxt = self.children[node].get(k)
            if nxt is None:
                nxt = self.children[node][k] = len(self.children)
                self.children.append({})
                self.complete.append(False)
                if own is not None:
                    own.add(nxt)  # a new node's dict is this trie's from the start
            node = nxt
        self.complete[node], self.word[node] = True, w
        self.n_words += 1

    def _has(self, run: Iterable[int]) -> bool:
        """The token run is a word of this trie."""
        node = ROOT
        for k in run:
            node = self.children[node].get(k)
            if node is None:
                return False
        return self.complete[node] and node != ROOT

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


def side_words(text: str) -> list[str]:
    """The words of a side text as the model would say them: lowercase runs of letters,
    digits and apostrophes ("It's 12°C." -> ["it's", "12", "c"])."""
    return re.findall(r"[a-z0-9']+", text.lower())


@cache
def corpus_words() -> frozenset[str]:
    """Every word the data engine's corpus uses (its default sample: 1.3 s to build)."""
    from microturn.data.corpus import corpus

    return frozenset(w for line in corpus() for w in line.split())


@cache
def lexicon_words() -> Words:
    """The shared trie over `corpus_words` (built once per process)."""
    return Words(corpus_words(), Tokenizer())
