"""The lexicon's trie (`runtime/words.py`) and a session that speaks through it: every word it
completes is a word of the data engine's language, a new word never starts inside one, and the
same seed says the same thing."""

import math

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.model import InteractionModel
from microturn.runtime.engine import Engine
from microturn.runtime.events import Delegation, ModelText
from microturn.runtime.session import Sampling
from microturn.runtime.words import ROOT, Words, corpus_words
from microturn.tokenizer import DELEGATE, PAD, Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


def walk(words: Words, tok: Tokenizer, text: str) -> list[bool]:
    """Whether each token of `text` was allowed where the walk stood."""
    node, ok = ROOT, []
    for w in text.split():
        for k in tok.word(w):
            ok.append(bool(words.allowed(node)[k]))
            node = words.step(node, k)
    return ok


def test_every_word_walks_and_non_words_do_not(tok):
    lex = Words(["twenty", "two", "twelve", "four", "hours"], tok)
    assert all(walk(lex, tok, "twenty four hours two twelve"))
    # a word's first piece may not follow the first piece of an unfinished word
    first = tok.word("twenty")
    if len(first) > 1:
        node = lex.step(ROOT, first[0])
        assert not lex.complete[node]
        assert not lex.allowed(node)[tok.word("four")[0]]
    # a word outside the lexicon is refused somewhere along its pieces
    assert not all(walk(lex, tok, "ptta"))
    # <delegate> is always allowed; <pad> is the speak-or-not draw's, not the mask's
    assert lex.allowed(ROOT)[DELEGATE] and not lex.allowed(ROOT)[PAD]
    assert lex.step(ROOT, PAD) == ROOT and lex.step(ROOT, DELEGATE) == ROOT


def test_the_data_engine_language_walks(tok):
    words = corpus_words()
    assert len(words) > 1000
    lex = Words(words, tok)
    assert lex.n_words == len(words)
    assert all(walk(lex, tok, " ".join(sorted(words))))


def test_extended_adds_words_and_keeps_every_node(tok, monkeypatch):
    base = Words(["twenty", "four"], tok)
    ext = base.extended(["Quokka", "four", "", "quokka"], tok)
    assert ext is not base and ext.n_words == 3 and ext.n_extra == 1
    assert all(walk(ext, tok, "quokka twenty four")) and not all(walk(base, tok, "quokka"))
    assert base.n_words == 2 and len(base.children) < len(ext.children)  # the base untouched
    for node, kids in enumerate(base.children):  # a walk on the base goes on in the new trie
        assert ext.children[node].items() >= kids.items()
        assert ext.complete[node] == base.complete[node]
    assert base.extended(["four", "twenty"], tok) is base  # nothing new
    monkeypatch.setattr("microturn.runtime.words.MAX_EXTRA_WORDS", 2)
    capped = base.extended(["aa", "bb", "cc"], tok)
    assert capped.n_extra == 2 and capped.extended(["dd"], tok) is capped


def test_side_words_are_said_words():
    from microturn.runtime.words import side_words

    assert side_words("It's 12°C in Zanzibar.") == ["it's", "12", "c", "in", "zanzibar"]


def test_no_words_is_an_error(tok):
    with pytest.raises(ValueError, match="no words"):
        Words([], tok)


@pytest.fixture(scope="module")
def babbler():
    """A tiny untrained model whose text head is biased to speak often, over many pieces."""
    torch.manual_seed(0)
    m = InteractionModel(preset("tiny")).eval()
    with torch.no_grad():
        m.text_head.proj.weight.normal_(0, 0.5)
    return m


def drawn(**settings) -> Sampling:
    """The babbler's sampling: hot, every piece, each speak-or-pad a draw (no threshold)."""
    return Sampling(temperature=4.0, top_k=0, word_temperature=None, speak_threshold=None,
                    **settings)  # fmt: skip


def speak(model, sampling: Sampling, seed: int, n_chunks: int = 12) -> str:
    eng = Engine(model, slots=1)
    s = eng.open(seed=seed, sampling=sampling)
    rng = np.random.default_rng(seed)
    for _ in range(n_chunks):
        s.push_audio((0.1 * rng.standard_normal(3200)).astype(np.float32))
        eng.step()
    return "".join(e.text for e in s.events if isinstance(e, ModelText))


def test_a_session_with_the_lexicon_says_words(babbler):
    known = corpus_words()
    free = speak(
        babbler,
        drawn(lexicon=False, pronounce=False),
        seed=1,
    )
    free = free.split()
    said = speak(
        babbler,
        drawn(lexicon=True),
        seed=1,
    ).split()
    assert len(said) >= 5
    # the last word may be cut off by the end of the run
    assert all(w in known for w in said[:-1]), said
    assert any(w not in known for w in free[:-1]), free  # the control babbles
    again = speak(
        babbler,
        drawn(lexicon=True),
        seed=1,
    ).split()
    assert again == said


# --- the phone walk (runtime/pronunciation.py) ----------------------------------------------


def test_the_shipped_pronunciations_cover_the_language_and_match_espeak():
    from microturn.data.corpus import corpus
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth.espeak import render
    from microturn.voice.phones import phone_id
    from microturn.voice.pronounce import frames_of, pronunciations

    prons = pronunciations()
    assert set(prons) == set(corpus_words())
    # espeak-ng links some words to the next ("four" + "hours": f o@ r): most are the shipped
    # variants, not all; the durations are the medians, so a word lasts about as long as there
    said = [w for line in corpus(40, seed=1) for w in render(line, MODEL_VOICE)[1] if w.phones]
    names = lambda ids: [p for i, p in enumerate(ids) if i == 0 or p != ids[i - 1]]  # noqa: E731
    hit = near = 0
    for w in said:
        ids = [i for p, n in frames_of(w) for i in [0 if p == "_" else phone_id(p)] * n]
        same = [v for v in prons.get(w.text, ()) if names(v) == names(ids)]
        hit += bool(same)
        near += any(abs(len(v) - len(ids)) <= 2 for v in same)
    assert len(said) > 100 and hit / len(said) > 0.85 and near / len(said) > 0.75


def test_the_phone_stream_follows_the_words_frame_by_frame(tok):
    """Two words that share their first piece (the text cannot tell them apart yet), then a
    third: with random head scores, each word's frames start at the row of its first piece and
    are its pronunciation's (the head's pick among the two candidates is undone by no later
    piece), cut where the next word begins; silence before and after."""
    from microturn.runtime.pronunciation import PhoneWalk, Pronouncer

    groups: dict[int, list[str]] = {}
    for w in sorted(corpus_words()):
        if len(tok.word(w)) > 1:
            groups.setdefault(tok.word(w)[0], []).append(w)
    a, b = next(ws[:2] for ws in groups.values() if len(ws) > 1)
    c = "four"
    lex = Words([a, b, c], tok)
    prons = {a: ((0, 10, 10, 11),), b: ((0, 10, 12, 12, 12),), c: ((13, 13, 14, 14, 14, 14),)}
    pr = Pronouncer(lex, prons)
    gen = torch.Generator().manual_seed(0)
    for word in (a, b):
        walk, node, got, want = PhoneWalk(), ROOT, [], [0, 0]  # one silent row first
        walk, ids = pr.choose(walk, torch.randn(2, 20, generator=gen))
        got += ids
        plan = [*tok.word(word), None, tok.word(c)[0]]  # its pieces, a silent row, the next
        for k in plan:
            if k is not None:
                before, node = node, lex.step(node, k)
                walk = pr.on_token(walk, before, k, node)
            walk, ids = pr.choose(walk, torch.randn(2, 20, generator=gen))
            got += ids
        for _ in range(4):
            walk, ids = pr.choose(walk, torch.randn(2, 20, generator=gen))
            got += ids
        rows_of_word = 2 * (len(tok.word(word)) + 1)
        want += [*prons[word][0], 0, 0, 0, 0, 0][:rows_of_word] + [*prons[c][0], 0, 0, 0, 0]
        assert got == want, (word, got, want)


def test_a_word_without_a_pronunciation_leaves_the_head_free(tok):
    from microturn.runtime.pronunciation import PhoneWalk, Pronouncer

    lex = Words(["four", "two"], tok)
    pr = Pronouncer(lex, {"two": ((12, 14),)})
    k = tok.word("four")[0]
    walk = pr.on_token(PhoneWalk(), ROOT, k, lex.step(ROOT, k))
    assert pr.options(walk) is None
    scores = torch.zeros(2, 20)
    scores[:, 7] = 1.0
    assert pr.choose(walk, scores)[1] == [7, 7]


def test_a_session_that_pronounces_runs_the_same_twice(babbler):
    sp = drawn(lexicon=True, pronounce=True)
    a, b = speak(babbler, sp, seed=2), speak(babbler, sp, seed=2)
    assert a == b and len(a.split()) >= 3


def test_a_pronouncing_session_begins_a_word_only_once_its_voice_is_done(babbler, tok):
    """With `pronounce`, the next word's first piece comes no earlier than the current word's
    laid-out frames allow (all but PACE of them said): the untrained babbler, which would
    say a piece every slot, is held back to the model voice's pace."""
    from microturn.runtime.pronunciation import PACE, lexicon_pronouncer
    from microturn.runtime.words import lexicon_words

    lex, pr = lexicon_words(), lexicon_pronouncer()
    eng = Engine(babbler, slots=1)
    s = eng.open(
        seed=4,
        sampling=Sampling(
            temperature=4.0, top_k=0, word_temperature=None, lexicon=True, pronounce=True
        ),
    )
    rng = np.random.default_rng(4)
    for _ in range(16):
        s.push_audio((0.1 * rng.standard_normal(3200)).astype(np.float32))
        eng.step()
    said = [e for e in s.events if isinstance(e, ModelText)]
    starts = [i for i, e in enumerate(said) if e.text.startswith(" ")]
    assert len(starts) >= 4
    for a, b in zip(starts, starts[1:], strict=False):
        word, node = "".join(e.text for e in said[a:b]).strip(), ROOT
        if not word.isascii():  # "araña": its pieces split the ñ's bytes, lost in the text
            continue
        for k in tok.word(word):  # a word is complete when the next begins
            node = lex.step(node, k)
        assert lex.complete[node], word
        shortest = min(len(c) for c in pr.candidates(node))
        gap = round((said[b].t - said[a].t) / 0.025)
        assert gap >= shortest - PACE, (said[a].text, gap, shortest)


def test_a_model_without_a_phone_stream_is_not_held_back_by_pronounce(tok):
    """`pronounce` lays out phones; a checkpoint without a phone stream has none to lay out,
    so its words are not paced by them (the walk never advances there)."""
    import dataclasses

    torch.manual_seed(0)
    cfg = preset("tiny")
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, n_phones=0))
    m = InteractionModel(cfg).eval()
    with torch.no_grad():
        m.text_head.proj.weight.normal_(0, 0.5)
    sp = dict(temperature=4.0, top_k=0, word_temperature=None, lexicon=True)
    plain = speak(m, Sampling(**sp, pronounce=False), seed=5)
    assert len(plain.split()) >= 4
    assert speak(m, Sampling(**sp, pronounce=True), seed=5) == plain


class _HalfPads(torch.nn.Module):
    """A text head that says <pad> half the time at temperature T, whatever the hidden state:
    the babbler's head with the pad logit set to T * logsumexp(other logits / T)."""

    def __init__(self, head: torch.nn.Module, T: float):
        super().__init__()
        self.head, self.T = head, T

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.head(h)
        others = torch.cat([x[..., :PAD], x[..., PAD + 1 :]], -1)
        return x.index_copy(
            -1, torch.tensor([PAD]), self.T * torch.logsumexp(others / self.T, -1, True)
        )


def test_a_word_once_begun_is_said_whole_in_consecutive_slots(babbler):
    """With the lexicon, the speak-or-pad draw is made only between words: inside one the next
    piece follows in the next slot, as in the training data, so a word is never left cut. The
    control (no lexicon) splits words with pads, the same model and seed."""
    import copy

    m = copy.deepcopy(babbler)
    m.text_head = _HalfPads(m.text_head, 4.0)
    slot = Engine(m, slots=1).grid.slot_s

    def gaps(sampling: Sampling) -> list[float]:
        eng = Engine(m, slots=1)
        s = eng.open(seed=3, sampling=sampling)
        rng = np.random.default_rng(3)
        for _ in range(16):
            s.push_audio((0.1 * rng.standard_normal(3200)).astype(np.float32))
            eng.step()
        said = [e for e in s.events if isinstance(e, ModelText)]
        return [
            b.t - a.t for a, b in zip(said, said[1:], strict=False) if not b.text.startswith(" ")
        ]

    plain = gaps(drawn(lexicon=False, pronounce=False))
    assert any(g > slot * 1.5 for g in plain), plain  # the control: pads inside words
    for sp in (
        drawn(lexicon=True),
        drawn(lexicon=True, pronounce=True),
    ):
        inside = gaps(sp)
        assert len(inside) >= 3, inside
        assert all(abs(g - slot) < 1e-6 for g in inside), (sp, inside)


class _Wants(torch.nn.Module):
    """A text head that wants to say one word's pieces (and <pad> as much), whatever it hears."""

    def __init__(self, vocab: int, ids: list[int]):
        super().__init__()
        self.vocab, self.ids = vocab, ids

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = torch.zeros(*h.shape[:-1], self.vocab)
        x[..., self.ids] = 8.0
        x[..., PAD] = 8.0
        return x


@pytest.mark.parametrize("pronounce", [False, True])
def test_a_session_may_say_a_word_it_read(babbler, tok, pronounce):
    """A word outside the data engine's language ("quokka"), which the head wants to say, is
    refused by the lexicon until side text brings it; then the session says it, the shared
    lexicon unchanged. The control without the lexicon says its pieces all along (in any
    order: the head does not know their order; the trie does)."""
    import copy

    from microturn.runtime.words import lexicon_words

    assert "quokka" not in corpus_words()
    m = copy.deepcopy(babbler)
    m.text_head = _Wants(babbler.text_head.proj.out_features, list(tok.word("quokka")))

    def run(sampling: Sampling) -> tuple[str, str]:
        eng = Engine(m, slots=1)
        s = eng.open(seed=6, sampling=sampling)
        rng = np.random.default_rng(6)
        said = []
        for i in range(16):
            if i == 8:
                said.append("".join(e.text for e in s.events if isinstance(e, ModelText)))
                s.inject_text("a quokka", tok)
            s.push_audio((0.1 * rng.standard_normal(3200)).astype(np.float32))
            eng.step()
        said.append("".join(e.text for e in s.events if isinstance(e, ModelText)))
        return said[0], said[1]  # before the text came, and in all

    free = Sampling(temperature=1.0, top_k=0, word_temperature=None, lexicon=False, pronounce=False)
    assert all(" qu" in part and "ok" in part for part in run(free))
    sp = Sampling(
        temperature=1.0, top_k=0, word_temperature=None, lexicon=True, pronounce=pronounce
    )
    before, said = run(sp)
    assert before.split() and "quokka" not in before.split()
    assert "quokka" in said.split()
    assert all(w in corpus_words() or w == "quokka" for w in said.split()[:-1])
    assert lexicon_words().extended(["quokka"], tok) is not lexicon_words()  # still not in it


def test_a_piece_is_drawn_when_one_must_be():
    """`Sampling.token(..., piece=True)` never gives <pad>, even when <pad> is all but certain,
    at any temperature, and keeps to the allowed pieces."""
    logits = torch.zeros(50)
    logits[PAD] = 30.0
    allowed = torch.zeros(50, dtype=torch.bool)
    allowed[[7, 9]] = True
    gen = torch.Generator().manual_seed(0)
    for sp in (Sampling(temperature=0.0), Sampling(), Sampling(word_temperature=0.0)):
        ks = {sp.token(logits, gen, allowed, piece=True) for _ in range(50)}
        assert ks <= {7, 9}, (sp, ks)
        assert sp.token(logits, gen, allowed) == PAD


def test_a_new_word_waits_for_the_voice_and_does_not_lengthen_the_last(babbler, tok):
    """With `pronounce`, while the voice is still on a complete word that longer words begin
    with ("to": "today", "totally"), the model's own draw decides whether the word goes on: a
    new word it wants waits for the voice (<pad>) and is never turned into a longer word. A
    head that wants only "to" and "the" says only those, with and without `pronounce`."""
    import copy

    m = copy.deepcopy(babbler)
    ids = [tok.word("to")[0], tok.word("the")[0]]
    assert len(tok.word("to")) == 1 and len(tok.word("the")) == 1
    assert len(tok.word("today")) > 1 and tok.word("today")[0] == ids[0]
    m.text_head = _Wants(tok.vocab_size, ids)
    for pronounce in (False, True):
        sp = Sampling(
            temperature=0.3, top_k=0, word_temperature=None, lexicon=True, pronounce=pronounce
        )
        said = speak(m, sp, seed=6, n_chunks=16).split()
        assert len(said) >= 6, said
        assert set(said) <= {"to", "the"}, (pronounce, said)


class _Spy(Sampling):
    """Sampling that keeps every speak-or-not decision: (within a reply, the token)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def token(self, logits, gen, allowed=None, piece=False, within=False, owed=PAD):
        k = super().token(logits, gen, allowed, piece, within, owed)
        if not piece:
            self.seen.append((within, k))
        return k


def test_within_a_reply_the_next_word_has_its_own_threshold(babbler):
    """The engine marks the decisions taken while a reply is under way (its voice on in the
    last `REPLY_GAP` slots): the first one after a word always is. With `reply_threshold` 1.0
    no reply goes past its first word (the babbler's P(speak) never reaches 1); at the
    default the babbler's replies do, so the mark is what holds them back."""
    said = {}
    for reply in (1.0, Sampling.reply_threshold):
        sp = _Spy(temperature=4.0, top_k=0, speak_threshold=0.01, reply_threshold=reply)
        speak(babbler, sp, seed=3, n_chunks=16)
        said[reply] = sp.seen
        spoke = [i for i, (_, k) in enumerate(sp.seen) if k != PAD]
        assert len(spoke) >= 3, sp.seen
        assert all(sp.seen[i + 1][0] for i in spoke if i + 1 < len(sp.seen)), sp.seen
        assert any(not w for w, _ in sp.seen)  # and quiet stretches are not within one
    assert not any(w and k != PAD for w, k in said[1.0])
    assert any(w and k != PAD for w, k in said[Sampling.reply_threshold])


class _OnePiece(torch.nn.Module):
    """A text head that gives one piece probability `p` and <pad> the rest, whatever it
    hears."""

    def __init__(self, vocab: int, piece: int, p: float):
        super().__init__()
        self.vocab, self.piece, self.p = vocab, piece, p

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = torch.full((*h.shape[:-1], self.vocab), -30.0)
        x[..., PAD] = 8.0
        x[..., self.piece] = 8.0 + math.log(self.p / (1 - self.p))
        return x


def test_it_delegates_at_its_own_threshold_and_a_delegation_is_no_reply(babbler, tok):
    """A P(<delegate>) of 0.03, under the speak threshold: at a delegate threshold of 0.01
    the session delegates (the hook is called), without one (the default) never; a
    delegation is not voice, so the decisions after one are not within a reply."""
    import copy

    m = copy.deepcopy(babbler)
    m.text_head = _OnePiece(tok.vocab_size, DELEGATE, 0.03)  # P(<delegate>) 0.03
    for tau in (0.01, Sampling.delegate_threshold):
        sp = _Spy(temperature=1.0, top_k=0, delegate_threshold=tau)
        eng = Engine(m, slots=1)
        s = eng.open(seed=0, sampling=sp)
        hooked: list[float] = []
        s.on_delegate = lambda s, t, hooked=hooked: hooked.append(t)
        for _ in range(4):
            s.push_audio(np.zeros(3200, np.float32))
            eng.step()
        delegations = [e for e in s.events if isinstance(e, Delegation)]
        assert len(delegations) == len(hooked) == (len(sp.seen) if tau else 0)
        assert not any(within for within, _ in sp.seen)


def test_a_result_it_has_read_is_said_at_the_result_threshold(babbler, tok):
    """A P(speak) of 0.05, under the speak threshold, all of it on the first piece of a
    result the session has read: at the default result threshold it says the result, and
    then nothing (nothing is owed any more); with none it never speaks; with nothing read
    the piece is no result and it stays silent too."""
    import copy

    (piece,) = tok.encode("seven")
    m = copy.deepcopy(babbler)
    m.text_head = _OnePiece(tok.vocab_size, piece, 0.05)  # P(speak) 0.05, all on it
    said = {}
    for tau, result in ((Sampling.result_threshold, "seven"), (None, "seven"),
                        (Sampling.result_threshold, None)):  # fmt: skip
        eng = Engine(m, slots=1)
        s = eng.open(seed=0, sampling=Sampling(temperature=1.0, top_k=0, result_threshold=tau))
        if result:
            s.inject_text(result, tok)
        for _ in range(6):
            s.push_audio(np.zeros(3200, np.float32))
            eng.step()
        said[(tau, result)] = [e.text for e in s.events if isinstance(e, ModelText)]
    assert Sampling.result_threshold is not None and Sampling.result_threshold <= 0.05
    assert said[(Sampling.result_threshold, "seven")] == [tok.piece(piece)]
    assert said[(None, "seven")] == [] and said[(Sampling.result_threshold, None)] == []
