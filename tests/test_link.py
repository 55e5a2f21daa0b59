"""A session linked to an agent: a delegation's result is woven into its side-text input at
the tick it arrives; a tool crash, a tool timeout and an unreachable LLM endpoint each end in
a spoken failure result and a logged error while the session goes on; "never mind" and a
closed session cancel; `drive` writes the calls and results as events."""

import json
import logging
import socket
import time

import numpy as np
import pytest
import torch

from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import FAILURE_TEXT
from microturn.agent.link import AgentLink, drive
from microturn.agent.llm_agent import LLMAgent, LLMConfig
from microturn.agent.tool_agent import ToolAgent
from microturn.agent.tools import TOOLS, Tool
from microturn.runtime.driver import Driver, Feed
from microturn.runtime.engine import Engine
from microturn.runtime.events import AgentCall, AgentResult, Delegation, ToolResult, UserText
from microturn.tokenizer import DELEGATE, PAD, RESULT

SPC = 3200


def session(model, dispatcher, delegate_at=(8,), words="what is thirty seven times twenty four"):
    """A pushed session that heard `words` and delegates at the given chunks."""
    engine = Engine(model, slots=1)
    d = Driver(engine)
    s = d.open(seed=0)
    tokens = [PAD] * 4000
    for k in delegate_at:
        tokens[4 * k] = DELEGATE  # said in the output of the tick of chunk k - 1
    s.script, s.record = {"tokens": tokens}, True
    s.events += [UserText(0.2 + 0.2 * i, " " + w) for i, w in enumerate(words.split())]
    return d, s, AgentLink(dispatcher, s, engine.tok)


def run_until(d, s, link, done, max_ticks=400):
    for _ in range(max_ticks):
        d.push(s, np.zeros(SPC, np.float32))
        d.tick()
        link.after_tick()
        if done(s):
            return
        time.sleep(0.005)
    raise AssertionError("the condition never came true")


def results(s):
    return [e for e in s.events if isinstance(e, AgentResult)]


def test_a_result_is_woven_into_the_side_text_at_the_tick_it_arrives(deaf_model):
    d, s, link = session(deaf_model, Dispatcher(ToolAgent()))
    run_until(d, s, link, lambda s: results(s))
    (call,) = [e for e in s.events if isinstance(e, AgentCall)]
    (dele,) = [e for e in s.events if isinstance(e, Delegation)]
    assert call.t == dele.t and call.request == "what is thirty seven times twenty four"
    (r,) = results(s)
    assert (r.job, r.status, r.text) == (call.job, "ok", "eight hundred eighty eight")
    assert r.t >= dele.t and ToolResult(r.t, r.text) in s.events
    n = len(s.trace)
    run_until(d, s, link, lambda s: not s.side_in)  # its tokens enter the input text slots
    heard = torch.cat([row["text"][:4] for row in s.trace[n:] if len(row["text"]) > 1])
    assert RESULT in heard.tolist()
    link.close()


def crashing_toolbox():
    def crash(expression):
        raise RuntimeError("the calculator fell over")

    return {**TOOLS, "calculator": Tool("calculator", "", TOOLS["calculator"].schema, crash)}


def hanging_toolbox():
    def hang(expression):
        time.sleep(2)

    return {**TOOLS, "calculator": Tool("calculator", "", TOOLS["calculator"].schema, hang)}


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


@pytest.mark.parametrize(
    "name,dispatcher,status,error",
    [
        ("crash", lambda: Dispatcher(ToolAgent(crashing_toolbox())), "failed", "fell over"),
        (
            "timeout",
            lambda: Dispatcher(ToolAgent(hanging_toolbox()), timeout_s=0.3),
            "timeout",
            "within",
        ),
        (
            "unreachable",
            lambda: Dispatcher(LLMAgent(LLMConfig(
                f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=2, retries=2, backoff_s=0.05
            ))),
            "failed",
            "APIConnectionError",
        ),
    ],
)  # fmt: skip
def test_failures_are_spoken_and_logged_and_the_session_goes_on(
    deaf_model, caplog, name, dispatcher, status, error
):
    with caplog.at_level(logging.WARNING, "microturn.agent"):
        d, s, link = session(deaf_model, dispatcher())
        run_until(d, s, link, lambda s: results(s))
    (r,) = results(s)
    assert (r.status, r.text) == (status, FAILURE_TEXT) and error in r.error
    assert ToolResult(r.t, FAILURE_TEXT) in s.events
    assert [r for r in caplog.records if r.levelno == logging.ERROR]  # a logged error
    if name == "unreachable":
        assert "retry 2" in caplog.text  # backoff retries before giving up
    chunk = s.stream.chunk
    run_until(d, s, link, lambda s: s.stream.chunk >= chunk + 5)  # the session goes on
    link.close()


def test_never_mind_cancels_what_is_in_flight(deaf_model):
    d, s, link = session(deaf_model, Dispatcher(ToolAgent(hanging_toolbox()), timeout_s=30))
    run_until(d, s, link, lambda s: link.dispatcher.in_flight(s.id) == 1)
    s.events += [UserText(s.time, " oh"), UserText(s.time, " never"), UserText(s.time, " mind")]
    run_until(d, s, link, lambda s: results(s))
    (r,) = results(s)
    assert (r.status, r.text) == ("cancelled", FAILURE_TEXT) and "never mind" in r.error
    assert link.dispatcher.in_flight(s.id) == 0


def test_drive_writes_calls_and_results_and_closing_cancels(deaf_model):
    d = Dispatcher(ToolAgent(hanging_toolbox()), timeout_s=30)
    feed = Feed(np.zeros(12 * SPC, np.float32))
    tokens = [PAD] * 100
    tokens[8] = DELEGATE
    out = drive(Engine(deaf_model, slots=1), feed, d, "run", script={"tokens": tokens})
    kinds = [e.kind for e in out.events]
    assert "delegation" in kinds and "agent_call" in kinds
    assert d.in_flight() == 0  # the session closed with its job in flight: cancelled
    assert out.audio.shape == feed.audio.shape


def test_microturn_run_with_an_agent_writes_its_events(deaf_model, tmp_path):
    from microturn.audio import save
    from microturn.cli import build_parser
    from microturn.runtime.runner import run_file

    args = build_parser().parse_args(["run", "x.wav", "--out", "o", "--agent", "tools"])
    assert (args.agent, args.agent_timeout) == ("tools", 30.0)
    wav = tmp_path / "in.wav"
    save(wav, np.zeros(10 * SPC, np.float32))
    tokens = [PAD] * 100
    tokens[8] = DELEGATE
    d = Dispatcher(ToolAgent())
    run_file(deaf_model, wav, tmp_path / "out", script={"tokens": tokens}, agent=d)
    lines = [json.loads(x) for x in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    (call,) = [e for e in lines if e["kind"] == "agent_call"]
    assert call["agent"] == "tools" and call["request"] == ""  # it heard no words
    assert [e for e in lines if e["kind"] == "delegation"][0]["t"] == call["t"]
