"""Routing a delegated request to a tool: every tool request the data engine writes (but the
weather, which no local tool answers) gets the result the data engine expects; cancels."""

import random

import pytest

from microturn.agent import tools
from microturn.agent.router import ToolCall, digits, is_cancel, route
from microturn.data.language.generators import tool_request


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_the_data_engines_requests_get_its_results(split):
    rng, n = random.Random(1), 0
    for _ in range(120):
        u = tool_request(rng, split)
        a = u.attrs
        if a["tool"] == "weather":
            continue
        call = route(" ".join(u.words))
        out = tools.call(call.tool, call.args)
        if a["tool"] == "timer":  # the data engine's timers are set in minutes
            assert call == ToolCall("timer", {"seconds": 60.0 * a["args"]["minutes"]})
            assert out.text == a["result"] and len(out.later) == 1
        else:
            assert out.text == a["result"], (u.words, call)
        n += 1
    assert n > 60


def test_phrasings():
    assert digits("one hundred and five plus two") == "105 plus 2"
    assert route("hey what's two to the power of ten") == ToolCall(
        "calculator", {"expression": "2 ** 10"}
    )
    assert route("subtract nine from forty") == ToolCall("calculator", {"expression": "40 - 9"})
    assert route("what is 12 x 3") == ToolCall("calculator", {"expression": "12 * 3"})
    assert route("tell me in ten seconds") == ToolCall("timer", {"seconds": 10.0})
    assert route("remind me in two hours please") == ToolCall("timer", {"seconds": 7200.0})
    assert route("what time is it") == ToolCall("clock", {"what": "time"})
    assert route("what's the date today") == ToolCall("clock", {"what": "date"})
    assert route("convert three feet to inches") == ToolCall(
        "convert", {"value": 3.0, "from": "feet", "to": "inches"}
    )
    assert route("how far is the moon").tool == "lookup"
    assert route("   ") is None


def test_never_mind():
    for s in ("never mind", "oh nevermind that", "forget it", "cancel that please"):
        assert is_cancel(s), s
    for s in ("what is the time", "i never said that", "mind the gap"):
        assert not is_cancel(s), s
