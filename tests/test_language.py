"""The synthetic-language grammar: size, clean splits, labelled pauses, correct answers."""

import collections
import random
import re

import pytest

from microturn.data.language.closed_classes import WEEKDAYS
from microturn.data.language.conversation import FUNCTION_WORDS
from microturn.data.language.generators import (
    backchannel,
    benign_lookalike,
    count_instruction,
    cue_instruction,
    direct_request,
    elapsed,
    interpretation,
    interruption,
    long_request,
    narrative,
    question,
    refusal,
    self_repair,
    side_talk,
    statement,
    timed_followup,
    timed_request,
    tool_request,
    visual_instruction,
    word_list,
)
from microturn.data.language.grammar import Grammar, realize
from microturn.data.language.instructions import EXTRAPOLATION_SECONDS, IN_DISTRIBUTION_SECONDS
from microturn.data.language.lexicon import TABLES, lexicon_tables, lures_for
from microturn.data.language.numbers import number_words, words_to_number
from microturn.data.language.splits import SPLITS, split_of_item, split_of_template
from microturn.data.language.templates import all_templates, template_groups

N = 300  # samples per generator per split

# generator name -> function(rng, split) returning one or more Utterances
GENERATORS = {
    "question": question,
    "statement": statement,
    "narrative": lambda r, s: narrative(r, s).clauses,
    "interruption": interruption,
    "backchannel": backchannel,
    "side_talk": side_talk,
    "long_request": long_request,
    "elapsed": elapsed,
    "timed_request": timed_request,
    "timed_followup": lambda r, s: timed_followup(r, s, cancel=r.random() < 0.5),
    "cue_instruction": cue_instruction,
    "count_instruction": count_instruction,
    "self_repair": self_repair,
    "tool_request": tool_request,
    "direct_request": direct_request,
    "interpretation": lambda r, s: interpretation(r, s, listen=r.random() < 0.5)[0],
    "refusal": refusal,
    "benign_lookalike": benign_lookalike,
    "visual_instruction": visual_instruction,
}
WORD = re.compile(r"^[a-z']+$")


def _utts(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


@pytest.fixture(scope="module")
def samples():
    """{(generator, split): [Utterance, ...]} from N draws each."""
    out = {}
    for split in SPLITS:
        for name, gen in GENERATORS.items():
            rng = random.Random(f"{name}/{split}")
            out[name, split] = [u for _ in range(N) for u in _utts(gen(rng, split))]
    return out


def _eval(expr):
    acc = expr[0]
    for op, x in zip(expr[1::2], expr[2::2], strict=True):
        if op == "div":
            assert x and acc % x == 0, expr  # whole division only
        acc = {"plus": acc + x, "minus": acc - x, "times": acc * x, "div": acc // max(x, 1)}[op]
    return acc


# ------------------------------------------------------------------------------- numbers


def test_number_words_round_trip():
    for n in range(10000):
        w = number_words(n)
        assert w == " ".join(w.split()) and "-" not in w
        assert words_to_number(w) == n
    assert number_words(37) == "thirty seven"
    assert number_words(888) == "eight hundred eighty eight"
    assert words_to_number("one hundred and five") == 105
    with pytest.raises(ValueError):
        number_words(10000)
    with pytest.raises(ValueError):
        words_to_number("seven apples")


# ------------------------------------------------------------------------------- grammar size


def test_grammar_size_and_family_splits():
    t = all_templates()
    assert len(t) >= 1000
    per = collections.Counter((fam, split_of_template(tid)) for tid, fam in t.items())
    for fam in set(t.values()):
        for split in SPLITS:
            assert per[fam, split] >= 3, (fam, split)
    by_split = collections.Counter(split_of_template(tid) for tid in t)
    assert by_split["test"] >= 100 and by_split["dev"] >= 100
    assert 0.75 < by_split["train"] / len(t) < 0.85


def test_every_generator_group_has_templates_in_every_split():
    for group, ids in template_groups().items():
        splits = collections.Counter(split_of_template(i) for i in ids)
        for split in SPLITS:
            assert splits[split] >= 1, (group, split)


def test_add_table_registers_each_row_with_a_fixed_empty_answer():
    g = Grammar()
    g.add_table("g", "fam", enumerate(["a | b", "c"]), (("", ""), ("p", "oh")), kind="x")
    g.add_table("h", "fam", [("one", "d")], stem="s")
    assert [f.tid for f in g.groups["g"]] == ["g.0", "g.0.p", "g.1", "g.1.p"]
    assert [f.pattern for f in g.groups["g"]][1] == "oh a | b "
    assert [f.tid for f in g.groups["h"]] == ["s.one"]
    u = realize(g.groups["g"][0], random.Random(0), "train")
    assert u.words == ("a", "b") and u.answer == () and u.attrs == {"kind": "x"}


def test_lexicon_tables_partitioned():
    for table, items in lexicon_tables().items():
        assert len(items) == len(set(items)), table
        splits = collections.Counter(split_of_item(i) for i in items)
        for split in SPLITS:
            assert splits[split] >= 1, (table, split)
    # an item's split depends on its text only, not on the table
    assert split_of_item("food:apples") == split_of_item("apples")


# ------------------------------------------------------------------------------- clean splits


def test_samples_use_only_their_split(samples):
    templates, tables = all_templates(), lexicon_tables()
    for (name, split), utts in samples.items():
        for u in utts:
            if u.template:  # backchannels without a split are closed-class: template ""
                assert split_of_template(u.template) == split, (name, u.template)
                assert templates[u.template] == u.family
            for item in u.lexicon:
                table, _, key = item.partition(":")
                assert key in tables[table], item
                assert split_of_item(item) == split, (name, split, item)


def test_no_test_lexicon_in_train(samples):
    lex = {
        s: {
            x.partition(":")[2]
            for (_, sp), us in samples.items()
            if sp == s
            for u in us
            for x in u.lexicon
        }
        for s in SPLITS
    }
    assert lex["train"] and lex["test"]
    assert not lex["train"] & lex["test"]
    assert not lex["train"] & lex["dev"]
    assert not lex["dev"] & lex["test"]


def test_backchannel_without_split_is_closed_class():
    rng = random.Random(0)
    for _ in range(50):
        u = backchannel(rng)
        assert u.template == "" and u.lexicon == () and u.words
    assert split_of_template(backchannel(rng, "dev").template) == "dev"


# ------------------------------------------------------------------------------- well-formed


def test_words_holds_complete_at_valid(samples):
    for (name, _), utts in samples.items():
        for u in utts:
            assert u.words and all(WORD.match(w) for w in u.words), (name, u.words)
            assert all(WORD.match(w) for w in u.answer), (name, u.answer)
            n = len(u.words)
            assert list(u.holds) == sorted(set(u.holds))
            assert all(0 < k < n for k in u.holds), (name, u.text, u.holds)
            assert all(0 < k < n for k in u.complete_at), (name, u.text, u.complete_at)
            assert not set(u.holds) & set(u.complete_at), (name, u.text)


def test_turn_material_always_has_holds(samples):
    """The turn-taking family pauses at a hold of any question or statement."""
    for name in ("question", "statement"):
        for split in SPLITS:
            assert all(u.holds for u in samples[name, split]), name


def test_arithmetic_answers_correct(samples):
    n_checked = 0
    for (name, _), utts in samples.items():
        for u in utts:
            expr = u.attrs.get("expr")
            if not expr:
                continue
            value = _eval(expr)
            assert value == int(value) >= 0 and u.attrs["value"] == value
            answer = " ".join(u.answer)
            said = (
                answer.rsplit(" is ", 1)[-1]
                if name in ("tool_request", "direct_request")
                else answer
            )
            assert words_to_number(said) == value, (u.text, answer)
            if u.family == "qa" and u.attrs["topic"] in ("arith", "chain"):
                # the operands are said
                for x in expr[::2]:
                    assert f" {number_words(x)} " in f" {u.text} ", (u.text, expr)
            n_checked += 1
    assert n_checked > 300


def test_fact_answers(samples):
    t = TABLES
    for split in SPLITS:
        for u in samples["question", split]:
            topic, ans = u.attrs["topic"], " ".join(u.answer)
            if topic == "capital":
                assert ans == t["country"][u.lexicon[0].partition(":")[2]][0]
            elif topic == "plural":
                assert ans == t["noun"][u.lexicon[0].partition(":")[2]][0]
            elif topic == "day_after":
                i = WEEKDAYS.index(next(w for w in u.words if w in WEEKDAYS))
                assert ans == WEEKDAYS[(i + 1) % 7]
            elif topic == "fixed":
                assert words_to_number(ans) == u.attrs["value"]


def test_questions_pause_at_many_positions(samples):
    qs = [u for s in SPLITS for u in samples["question", s]]
    pairs = {(u.template, k) for u in qs for k in u.holds}
    last_words = collections.Counter(u.words[k - 1] for u in qs for k in u.holds)
    assert len(pairs) >= 1000
    assert len(last_words) >= 15, last_words
    for w in ("is", "of", "the", "plus", "me", "after", "does"):
        assert last_words[w] > 0, w
    # some prefixes are complete yet the question goes on ("what is three plus four | times two")
    assert sum(bool(u.complete_at) for u in qs) > 0.2 * len(qs)
    chains = [u for u in qs if u.attrs["topic"] == "chain"]
    assert chains and all(u.complete_at for u in chains)


# ------------------------------------------------------------------------------- families


def test_narrative_points():
    rng = random.Random(1)
    for split in SPLITS:
        for _ in range(100):
            nar = narrative(rng, split)
            assert 6 <= len(nar.clauses) <= 9 and 35 <= len(nar.words) <= 110
            assert any(nar.bc_points) and any(nar.hesitation_points)
            assert nar.bc_points[-1] == ()
            for c, bc, hes in zip(nar.clauses, nar.bc_points, nar.hesitation_points, strict=True):
                assert all(k == len(c.words) for k in bc)
                assert set(hes) <= set(c.holds)
                assert all(c.words[k - 1] in FUNCTION_WORDS for k in hes)
    assert len(narrative(rng, "test", 3).clauses) == 3


def test_long_request_answers_are_long(samples):
    for s in SPLITS:
        for u in samples["long_request", s]:
            assert len(u.answer) >= 12, u.text


def test_act_and_cancel_lengths_match():
    rng = random.Random(2)
    for split in SPLITS:
        trip = [elapsed(rng, split) for _ in range(400)]
        q = sum(len(t[1].words) for t in trip) / len(trip)
        c = sum(len(t[2].words) for t in trip) / len(trip)
        assert abs(q - c) < 1.5, (split, q, c)
        f = [len(timed_followup(rng, split).words) for _ in range(400)]
        c = [len(timed_followup(rng, split, cancel=True).words) for _ in range(400)]
        assert abs(sum(f) - sum(c)) / 400 < 1.0, (split, sum(f), sum(c))
        assert all(t[1].attrs["unit"] == "seconds" and t[2].attrs["cancel"] for t in trip)


def test_timed_requests():
    rng = random.Random(3)
    for split in SPLITS:
        for n in (*IN_DISTRIBUTION_SECONDS, *EXTRAPOLATION_SECONDS):
            for kind in ("once", "periodic", "countdown"):
                u = timed_request(rng, split, seconds=n, kind=kind)
                a = u.attrs
                assert a["kind"] == kind and number_words(n) in u.text
                if kind == "once":
                    assert a["seconds"] == n and u.answer == (a["word"],)
                elif kind == "periodic":
                    assert a["period"] == n and u.answer == (a["word"],) * a["times"]
                else:
                    assert a["start"] == n and " ".join(u.answer) == " ".join(
                        number_words(i) for i in range(n, 0, -1)
                    )
        u = timed_request(rng, split, seconds=EXTRAPOLATION_SECONDS)
        assert u.attrs["seconds"] >= 13 or u.attrs["kind"] == "periodic"
        assert timed_followup(rng, split, cancel=True).attrs["kind"] == "cancel"
        assert timed_followup(rng, split).attrs["kind"] == "followup"


def test_cues_and_word_lists():
    rng = random.Random(4)
    for split in SPLITS:
        for _ in range(100):
            u = cue_instruction(rng, split)
            a = u.attrs
            assert a["response"] in u.text
            if a["cue"] != "beep":
                assert a["cue"] in u.words and a["lures"] == list(lures_for(a["cue"]))
                assert a["lures"] and a["cue"] not in a["lures"]
        words = word_list(rng, split, 200)
        banned = set(TABLES["cue"]) | {w for v in TABLES["cue"].values() for w in v}
        assert len(words) == 200 and not set(words) & banned
        assert all(split_of_item(w) == split for w in words)
        assert count_instruction(rng, split).attrs["response"] == "count"


def test_self_repair():
    rng = random.Random(5)
    for split in SPLITS:
        for _ in range(100):
            u = self_repair(rng, split)
            a = u.attrs
            k = a["repair_at"]
            assert u.holds == (k,)
            assert a["wrong"] != a["value"]
            assert " ".join(u.words[k:]).startswith(("the " + a["value"], a["value"]))
            assert a["wrong"] in " ".join(u.words[:k])
            assert a["value"] in " ".join(u.answer) and a["value"] in " ".join(a["plain"])
            # plain: the same request said whole, with the corrected value
            assert " ".join(a["plain"]).endswith(" ".join(u.words[k:]).removeprefix("the "))
            assert len(a["plain"]) < len(u.words) and a["plain_answer"] == list(u.answer)


def test_tool_and_direct_requests():
    rng = random.Random(6)
    tools = collections.Counter()
    for split in SPLITS:
        for _ in range(200):
            u = tool_request(rng, split)
            a = u.attrs
            tools[a["tool"]] += 1
            assert a["result"] and a["ack"] and isinstance(a["args"], dict)
            assert a["result"].split()[-1] in u.answer
            d = direct_request(rng, split)
            assert d.attrs["tool"] is None and d.answer
    assert set(tools) == {"calculator", "weather", "convert", "timer", "lookup"}


def test_interpretation_refusal_visual():
    rng = random.Random(7)
    for split in SPLITS:
        ins, pairs = interpretation(rng, split, n_words=6)
        assert len(pairs) == 6 and ins.attrs["listen"] is False
        assert all(split_of_item(en) == split and es for en, es in pairs)
        assert interpretation(rng, split, listen=True)[0].attrs["listen"] is True
        r, b = refusal(rng, split), benign_lookalike(rng, split)
        assert r.attrs["harmful"] is True and b.attrs["harmful"] is False
        assert r.answer and b.answer
        v = visual_instruction(rng, split, task="light")
        assert v.answer == ("green",) and "green" in v.words
        assert visual_instruction(rng, split, task="squares").attrs["task"] == "squares"
    assert len(TABLES["spanish"]) >= 150


# ------------------------------------------------------------------------------- determinism


def test_deterministic():
    def run(seed):
        rng = random.Random(seed)
        out = []
        for name, gen in GENERATORS.items():
            for split in SPLITS:
                for u in _utts(gen(rng, split)):
                    out.append(
                        (
                            name,
                            u.text,
                            u.template,
                            u.holds,
                            u.complete_at,
                            u.answer,
                            u.lexicon,
                            repr(u.attrs),
                        )
                    )
        return out

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_every_question_says_what_answering_it_takes():
    """Each QA core is reasoned, spelled or a fact; a held-out fact is about an item the train
    split never showed, and a reasoned question names no lexicon item at all."""
    from microturn.data.language.questions import knowledge, qa_cores

    assert {knowledge(f"qa.{cid}.x")[1] for cid, *_ in qa_cores()} == {
        "reasoned",
        "spelled",
        "fact",
    }
    with pytest.raises(ValueError, match="not a QA template"):
        knowledge("request.timer.x")
    rng = random.Random(5)
    seen = collections.Counter()
    for _ in range(400):
        u = question(rng, "test")
        kind = knowledge(u.template)[1]
        seen[kind] += 1
        items = list(u.lexicon)
        if kind == "reasoned":
            assert not items, u
        if kind == "fact":
            assert items and all(split_of_item(x) == "test" for x in items), u
    assert min(seen.values()) > 10, seen


def test_questions_of_chosen_topics_only():
    """`question(..., topics)` draws only those cores' templates, all of them in time, and
    an empty choice (or one with no template in the split) is refused."""
    from microturn.data.language.questions import knowledge

    rng = random.Random(3)
    kinds = collections.Counter(
        knowledge(question(rng, "train", ("arith", "num")).template)[0] for _ in range(300)
    )
    assert set(kinds) == {"arith", "num"} and min(kinds.values()) > 30, kinds
    with pytest.raises(ValueError, match="no train question templates"):
        question(rng, "train", ("nonsense",))
