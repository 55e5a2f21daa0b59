"""Ticks -> Realtime events: responses per floor-holding span, barge-in, delegation calls.

The ticks are built from the runtime's own `Tick` and event types (what the engine hands out),
so these run without a model; every event is checked against the SDK's typed models.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("openai")

from microturn.runtime.driver import Tick  # noqa: E402
from microturn.runtime.events import Delegation, ModelText, ToolResult, UserText  # noqa: E402
from microturn.serve.turns import TurnConfig, Turns  # noqa: E402
from tests.test_serve import conforms  # noqa: E402

SPC = 3200
QUIET = np.zeros(SPC, np.float32)
LOUD = (0.1 * np.sin(np.arange(SPC) / 5)).astype(np.float32)


def run(turns: Turns, script: list, start: int = 0) -> list[dict]:
    """script: one (audio, events) per tick from chunk `start` -> every event sent, checked."""
    out = []
    for k, (audio, events) in enumerate(script, start):
        for e in turns.feed(Tick(None, k, audio, events), False, {}):
            conforms({"event_id": "evt_1", **e})
            out.append(e)
    return out


def types(events):
    return [e["type"] for e in events if e["type"] != "microturn.tick"]


def test_a_span_of_speech_is_one_completed_response():
    t = Turns(16000, cfg=TurnConfig(release_ticks=2))
    ev = run(t, [(QUIET, []), (LOUD, [ModelText(0.4, " twenty")]), (LOUD, []), (QUIET, [])] * 1)
    ev += run(t, [(QUIET, []), (QUIET, [])])
    ty = types(ev)
    assert ty[:3] == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert ty.count("response.created") == 1 and ty[-1] == "response.done"
    done = [e for e in ev if e["type"] == "response.done"][-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["transcript"] == " twenty"
    assert "response.output_audio_transcript.delta" in ty


def test_the_user_barging_in_cancels_the_response():
    t = Turns(16000, cfg=TurnConfig(release_ticks=1, user_release_ticks=3))
    ev = run(
        t,
        [
            (LOUD, [ModelText(0.2, " the")]),
            (LOUD, [UserText(0.3, " stop")]),  # the user starts while it speaks
            (QUIET, []),  # it stops
        ],
    )
    ty = types(ev)
    assert "input_audio_buffer.speech_started" in ty
    done = [e for e in ev if e["type"] == "response.done"][0]["response"]
    assert done["status"] == "cancelled" and done["status_details"]["reason"] == "turn_detected"
    ev = run(t, [(QUIET, [])] * 4)
    ty = types(ev)
    assert "input_audio_buffer.speech_stopped" in ty
    fin = [e for e in ev if e["type"].endswith("transcription.completed")][0]
    assert fin["transcript"] == "stop"


def test_a_delegation_is_a_function_call_when_tools_are_declared():
    tools = [{"type": "function", "name": "lookup"}]
    t = Turns(16000, tools=tools)
    ev = run(t, [(QUIET, [UserText(0.1, " what")]), (QUIET, [Delegation(0.4)])])
    call = [e for e in ev if e["type"] == "response.function_call_arguments.done"][0]
    assert call["name"] == "lookup" and json.loads(call["arguments"])["request"] == "what"
    assert types(ev)[-1] == "response.done"
    assert [e for e in ev if e["type"] == "microturn.card"][0]["kind"] == "delegation"
    bare = Turns(16000)  # no tools declared: only the card
    ev = run(bare, [(QUIET, [Delegation(0.4)]), (QUIET, [ToolResult(0.5, "24")])])
    assert "response.function_call_arguments.done" not in types(ev)
    assert [e["kind"] for e in ev if e["type"] == "microturn.card"] == ["delegation", "tool_result"]


def test_cancel_closes_the_response_and_holds_the_floor_back():
    t = Turns(16000, cfg=TurnConfig(cancel_ticks=3))
    run(t, [(LOUD, [ModelText(0.2, " a")])])
    ev = t.cancel(1)
    assert ev[-1]["response"]["status"] == "cancelled"
    held = run(t, [(LOUD, [ModelText(0.4, " b")])] * 3, start=1)  # chunks 1..3 held back
    assert "response.created" not in types(held)
    assert "response.created" in types(run(t, [(LOUD, [ModelText(1.0, " c")])], start=4))
