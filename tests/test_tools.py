"""The tools: arguments checked against each tool's JSON schema, units through pint, the
clock and timers in words, and the SQLite FTS5 knowledge base (built on first use)."""

import json
from datetime import datetime

import pytest

from microturn.agent import knowledge, tools
from microturn.agent.clock import say_duration, say_time
from microturn.agent.speech import say_number, speakable
from microturn.agent.units import UnitError, convert
from microturn.data.language.lexicon import TABLES


@pytest.mark.parametrize(
    "name,args",
    [
        ("calculator", {"expression": 1}),
        ("calculator", {"expression": "1", "extra": 2}),
        ("calculator", {}),
        ("timer", {"seconds": -1}),
        ("timer", {"seconds": 10**6}),
        ("clock", {"what": "year"}),
        ("convert", {"value": "3", "from": "m", "to": "cm"}),
        ("lookup", {"query": ""}),
        ("nope", {}),
        ("calculator", ["37*24"]),
    ],
)
def test_bad_arguments_are_refused_before_the_call(name, args):
    with pytest.raises(tools.ToolError):
        tools.call(name, args)


def test_tools_answer_in_words():
    assert tools.call("calculator", {"expression": "37*24"}).text == "eight hundred eighty eight"
    assert tools.call("convert", {"value": 87, "from": "weeks", "to": "days"}).text == (
        "six hundred nine days"
    )
    # the unit said as a plural after any value but one, whatever number the request said
    said = tools.call("convert", {"value": 97, "from": "minutes", "to": "second"}).text
    assert said == "five thousand eight hundred twenty seconds"
    assert tools.call("convert", {"value": 60, "from": "seconds", "to": "minute"}).text == (
        "one minute"
    )
    assert tools.call("convert", {"value": 24, "from": "inches", "to": "foot"}).text == ("two feet")
    assert tools.call("convert", {"value": 212, "from": "degF", "to": "celsius"}).text == (
        "one hundred celsius"
    )
    t = tools.call("timer", {"seconds": 10})
    assert t.text == "timer set for ten seconds"
    assert t.later == (tools.Later(10.0, "your timer for ten seconds is done"),)
    assert tools.call("clock", {}).text.startswith("it is ")
    for t in tools.TOOLS.values():  # every tool is a valid OpenAI function tool
        spec = t.openai()
        assert spec["function"]["parameters"]["type"] == "object"
        json.dumps(spec)


def test_units():
    assert convert(3, "feet", "inches") == pytest.approx(36)
    assert convert(2, "dollars", "cents") == pytest.approx(200)
    assert convert(100, "degF", "celsius") == pytest.approx(37.7778, abs=1e-3)
    for bad in (("metres", "seconds"), ("zorbs", "m"), ("__class__", "m"), ("m", "x" * 100)):
        with pytest.raises(UnitError):
            convert(1, *bad)


def test_speech():
    assert (
        say_number(1234567)
        == "one million two hundred thirty four thousand five hundred sixty seven"
    )
    assert say_number(-3.14159) == "minus three point one four two" and say_number(2.0) == "two"
    assert say_duration(90) == "one minute thirty seconds" and say_duration(3600) == "one hour"
    assert say_time(datetime(2026, 1, 2, 14, 5)) == "it is two oh five pm"
    assert speakable("**The answer** is 888.\n") == "the answer is eight hundred eighty eight."
    # digits glued to letters are spelled out too (an ISO time, "5G"): no digit is left
    stamp = speakable("(2026-12-05T18:30) 5G mp3 x2y3")
    assert "eighteen" in stamp and "five g" in stamp and not any(c.isdigit() for c in stamp)


def test_knowledge_base_is_built_once_and_retrieves(tmp_path):
    db = knowledge.database(where=tmp_path)
    assert db.exists() and knowledge.database(where=tmp_path) == db  # built once
    hit = knowledge.search("how tall is the statue of liberty", db=db)[0]
    assert hit.id == "landmark:statue of liberty" and hit.answer == "about ninety three metres"
    assert knowledge.search("what is the length of the river thames", db=db)[0].id == "river:thames"
    assert knowledge.search("how far away is the moon", db=db)[0].id == "fact:moon distance"
    assert knowledge.search("how long is tower bridge", db=db)[0].id == "river:tower bridge"
    # a misheard request names no fact: it fails rather than answer another one (these once
    # gave the moon's distance, the first mountain's height and the first river's length)
    for q in ("home home from the weather in helsinki", "how tall is bing", "how long is the r"):
        with pytest.raises(knowledge.KnowledgeError):
            knowledge.search(q, db=db)
    for q in ("weather in paris", "", "AND OR NOT *"):  # FTS5 syntax in a query is literal
        with pytest.raises(knowledge.KnowledgeError):
            knowledge.search(q, db=db)


def test_knowledge_agrees_with_the_data_engines_world():
    facts = {f["id"]: f for f in json.loads(knowledge.SOURCE.read_text())["facts"]}
    for table in ("landmark", "river"):
        for k, (name, value, *_) in TABLES[table].items():
            f = facts[f"{table}:{k}"]
            assert f["name"] == name and value in f["text"]
