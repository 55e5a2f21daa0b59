"""Synthetic language: a small compositional grammar of what users (and the model) say.

Lexical diversity is the bottleneck of a model trained on synthetic conversations: a hundred
hand-written sentences teach it "total speech so far" instead of syntax. This package is a
grammar instead of a list: frames x prefixes x suffixes x structure variants give thousands of
distinct templates, each with labelled pause positions.

* `Utterance` (grammar): words + template id + family + lexicon items used + `holds` (a pause
  after word k is mid-turn: words[:k] is incomplete) + `complete_at` (words[:k] is itself
  complete, yet the sentence goes on: "what is three plus four | times two") + the expected
  `answer`.
* `generators`: one generator per behaviour family, each `(rng: random.Random, split, ...)`,
  deterministic given the rng, producing only templates and lexicon items of `split`.
* `splits`: which split a template id or a lexicon item belongs to.

The modules, bottom up: `numbers` and `closed_classes` (words every split uses), `splits`,
`lexicon` (the open, partitioned tables), `grammar` (pattern notation, frames, utterances);
the phrase tables by family group: `questions`, `conversation`, `instructions`, `tools`,
`refusals`; `templates` (all of them combined, drawn by split); `generators`.
"""
