"""The model as a benchmark system with the real tool agent (`model+agent`): on a real T7
scenario a delegation is answered by the agent, its result enters the session's side text at
the tick the agent returned it, and the scripted tool result is not in the feed."""

import pytest
import torch

from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import STATUSES
from microturn.agent.tool_agent import ToolAgent
from microturn.bench.sessions import run_sessions
from microturn.bench.suite import pick
from microturn.config import preset
from microturn.model import InteractionModel
from microturn.runtime.engine import Engine
from microturn.tokenizer import DELEGATE, PAD


@pytest.fixture(scope="module")
def engine():
    torch.manual_seed(0)
    return Engine(InteractionModel(preset("tiny")).eval(), slots=2)


def delegating(sc, slot_s=0.05):
    """A script that says nothing but <delegate>, 0.3 s after the request ends."""
    end = max(e.t_off for e in sc.tl.on("user") if e.t_off <= sc.tl.on("tool")[0].t_on + 1e-9)
    k = int((end + 0.3) / slot_s)
    tokens = [PAD] * 4000
    tokens[k] = DELEGATE
    return k, {"tokens": tokens}


def of(events, kind):
    return [e for e in events if e["kind"] == kind]


def test_a_delegation_is_answered_by_the_agent_at_the_tick_it_returns(engine, delegate_data):
    sc = next(s for s in pick(delegate_data, 3) if s.tl.act)
    k, script = delegating(sc)
    scripted = sc.tl.on("side_text", "tool_result")[0]
    ((_, ev),) = run_sessions(engine, [sc], Dispatcher(ToolAgent()), {sc.id: script})
    (dele,) = of(ev, "delegation")
    (call,) = of(ev, "agent_call")
    (res,) = of(ev, "agent_result")
    assert call["t"] == dele["t"] and call["job"] == res["job"] == f"{sc.id}-0"
    # the package's request is what the session's transcript head heard before it: a run
    # of its pieces (the package is built at the delegation, which may fall inside a word
    # the head goes on naming, so compared without the spaces between pieces)
    heard = "".join(e["text"] for e in of(ev, "user_text") if e["t"] <= dele["t"])
    squash = lambda x: "".join(x.split())  # noqa: E731
    assert call["request"] and squash(call["request"]) in squash(heard)
    assert res["status"] in STATUSES and res["text"]
    # the tool answers within the tick that said <delegate> (the loop settles before
    # polling): the result enters the side text at the end of that tick, never before the
    # delegation. Output slot k is said by the tick that heard chunk k // 4 - 1.
    tick_end = round((k // engine.grid.positions_per_chunk) * engine.grid.chunk_s, 3)
    assert res["t"] == max(tick_end, dele["t"])
    # the side text the session heard is the agent's result, at that time, and only it
    assert of(ev, "tool_result") == [{"t": res["t"], "kind": "tool_result", "text": res["text"]}]
    assert scripted.text != res["text"] or scripted.t_on != res["t"]


def test_without_an_agent_the_scripted_result_is_fed(engine, delegate_data):
    sc = next(s for s in pick(delegate_data, 3) if s.tl.act)
    scripted = sc.tl.on("side_text", "tool_result")[0]
    ((_, ev),) = run_sessions(engine, [sc])
    assert of(ev, "agent_call") == [] and of(ev, "agent_result") == []
    assert {"t": round(scripted.t_on, 3), "kind": "tool_result", "text": scripted.text} in [
        {**e, "t": round(e["t"], 3)} for e in of(ev, "tool_result")
    ]
    # the agent path drops exactly the scripted result of a T7 scenario, nothing else
    assert sc.feed_text() == [*sc.feed_text(False), {"t": scripted.t_on, "text": scripted.text}]
