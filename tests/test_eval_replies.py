"""Whole replies: real QA scenarios through a real session; the read-out of an answer."""

import numpy as np
import pytest

from microturn.config import preset
from microturn.eval.replies import hazard, reply, scenarios, summary, waiting

SR = 16_000


@pytest.fixture(scope="module")
def first():
    return scenarios(preset("tiny"), "test", 7)


def speech(sc, at: float, length: float) -> np.ndarray:
    """A tone as the model's channel, `at` seconds after the answer window opens."""
    speak = next(x for x in sc.tl.expect if x.kind == "speak")
    audio = np.zeros(len(sc.user), np.float32)
    a = int((speak.t_on + at) * SR)
    audio[a : a + int(length * SR)] = 0.3 * np.sin(np.arange(int(length * SR)) * 0.05)
    return audio


def said(sc, text: str, at: float = 0.2) -> list[dict]:
    speak = next(x for x in sc.tl.expect if x.kind == "speak")
    return [{"kind": "model_text", "t": speak.t_on + at, "text": " " + text}]


def test_an_answer_in_the_window_counts_with_its_length(first):
    one = first[0]
    r = reply(one, speech(one, 0.2, 0.7), [])
    assert r["answered"] and r["length_s"] == pytest.approx(0.7, abs=0.05)
    assert r["reference_s"] > 0.1 and r["expected"] and not r["right"]
    assert r["knowledge"] in ("reasoned", "spelled", "fact") and r["kind"]
    silent = reply(one, np.zeros_like(speech(one, 0, 0)), [])
    assert not silent["answered"] and silent["length_s"] is None
    s = summary([r, silent])
    assert s["n"] == 2 and s["answered"] == 0.5 and s["fragments"] == 0.0 and s["right"] == 0


def test_the_right_words_are_right_and_a_listener_word_may_be_the_answer(first):
    one, yes = first[0], first[6]  # test QA 6: "... is it an odd number" -> "yes"
    assert yes.tl.meta["templates"][0].startswith("qa.num.is_odd") and yes.tl.expect
    expected = next(x for x in one.tl.expect if x.kind == "speak").text
    r = reply(one, speech(one, 0.2, 0.7), said(one, expected))
    assert r["answered"] and r["right"] and r["first"]
    # a list that holds the answer is right by the benchmark's rule, but does not begin with it
    listed = reply(one, speech(one, 0.2, 0.7), said(one, "banana " + expected))
    assert listed["right"] and not listed["first"]
    assert summary([r, listed])["first"] == 0.5
    wrong = reply(one, speech(one, 0.2, 0.7), said(one, "banana"))
    assert wrong["answered"] and not wrong["right"]
    # "yes" is a listener's word, and here the answer: it counts, as in the benchmark
    r = reply(yes, speech(yes, 0.2, 0.3), said(yes, "yes"))
    assert r["expected"] == "yes" and r["answered"] and r["right"]
    # ... but a listener's word is no answer to a question whose answer is something else
    r = reply(one, speech(one, 0.2, 0.3), said(one, "mm hmm"))
    assert not r["answered"] and not r["right"]
    s = summary([r])
    assert s["right_ci"][0] == 0.0


def test_the_hazard_reads_the_slots_before_the_first_word(first):
    """The waiting slots are the answer window's, up to the first word said in it; the
    hazard averages them per bin and sums each question's apart for answered and silent."""
    one = first[0]
    x = next(x for x in one.tl.expect if x.kind == "speak")
    slots = [(x.t_on + 0.05 * k, 0.1) for k in range(-4, 40)]  # P(speak) 0.1 at every slot
    w = waiting(one, said(one, "four", at=0.275), slots)
    assert [round(t, 2) for t, _ in w] == [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
    silent = waiting(one, [], slots)
    assert len(silent) == round((x.t_off - x.t_on) / 0.05)
    r = reply(one, speech(one, 0.275, 0.5), said(one, "four", at=0.275))
    h = hazard([r, {"answered": False}], [w, silent])
    assert h["bins"][0] == pytest.approx(0.1) and len(h["bins"]) == len(silent) // 2
    assert h["sum_answered"] == pytest.approx(0.6) and h["sum_silent"] == pytest.approx(3.4)
