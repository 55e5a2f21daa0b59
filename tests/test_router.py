"""Routing a delegated request to a tool: every tool request the data engine writes (but the
weather, which no local tool answers) gets the result the data engine expects, and so does
every arithmetic question it writes; cancels."""

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


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_every_arithmetic_question_gets_the_data_engines_answer_from_the_calculator(split):
    """Sums, chains said step by step ("add three and four then multiply by two", worked left
    to right as the data engine does), one more or less, twice, half, squared."""
    from microturn.data.language.generators import question
    from microturn.data.language.questions import knowledge

    rng, cores = random.Random(2), set()
    for _ in range(1500):
        u = question(rng, split)
        kind, sub = knowledge(u.template)[0], u.template.split(".")[2]
        if kind not in ("arith", "chain") and sub not in ("after", "before", "double", "half",
                                                           "squared"):  # fmt: skip
            continue
        call = route(" ".join(u.words))
        assert call is not None and call.tool == "calculator", (u.words, call)
        assert tools.call(call.tool, call.args).text == " ".join(u.answer), (u.words, call)
        cores.add(u.template.split(".")[1:3][-1])
    assert len(cores) >= 15, cores


def test_phrasings():
    assert digits("one hundred and five plus two") == "105 plus 2"
    assert digits("add three and four") == "add 3 and 4"  # two numbers, not seven
    assert route("what is the product of thirty seven and twenty four") == ToolCall(
        "calculator", {"expression": "37 * 24"}
    )
    assert route("take ten from thirteen and then add five") == ToolCall(
        "calculator", {"expression": "(13 - 10) + 5"}
    )
    assert route("set a timer for half an hour") == ToolCall("timer", {"seconds": 1800.0})
    assert route("remind me in an hour") == ToolCall("timer", {"seconds": 3600.0})
    assert route("set a timer for one and a half minutes") == ToolCall("timer", {"seconds": 90.0})
    assert route("tell me in a second").tool == "lookup"  # an idiom, not a one-second timer
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
    # a quick "in" as a recogniser hears it
    assert route("quick question what is twenty five hours and minutes please") == ToolCall(
        "convert", {"value": 25.0, "from": "hours", "to": "minutes"}
    )
    assert route("how far is the moon").tool == "lookup"
    assert route("   ") is None


def test_never_mind():
    for s in ("never mind", "oh nevermind that", "forget it", "cancel that please"):
        assert is_cancel(s), s
    for s in ("what is the time", "i never said that", "mind the gap"):
        assert not is_cancel(s), s
