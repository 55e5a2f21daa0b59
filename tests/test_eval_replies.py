"""Whole replies: one real QA scenario through a real session; the read-out of an answer."""

import numpy as np
import pytest

from microturn.config import preset
from microturn.eval.replies import reply, scenarios, summary


@pytest.fixture(scope="module")
def one():
    return scenarios(preset("tiny"), "test", 1)[0]


def test_an_answer_in_the_window_counts_with_its_length(one):
    speak = next(x for x in one.tl.expect if x.kind == "speak")
    sr = 16_000
    audio = np.zeros(len(one.user), np.float32)
    a = int((speak.t_on + 0.2) * sr)
    audio[a : a + int(0.7 * sr)] = 0.3 * np.sin(np.arange(int(0.7 * sr)) * 0.05)
    r = reply(one, audio, [])
    assert r["answered"] and r["length_s"] == pytest.approx(0.7, abs=0.05)
    assert r["reference_s"] > 0.1 and r["expected"]
    silent = reply(one, np.zeros_like(audio), [])
    assert not silent["answered"] and silent["length_s"] is None
    s = summary([r, silent])
    assert s["n"] == 2 and s["answered"] == 0.5 and s["fragments"] == 0.0
