"""The session driver: fed and pushed sessions of one engine, events handed out once, the
output aligned with the feed, side text entering at its time; typed events' JSON lines."""

import json

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.model import InteractionModel
from microturn.runtime.driver import Driver, Feed, SideText, drive
from microturn.runtime.engine import Engine
from microturn.runtime.events import Delegation, ModelText, ToolResult, UserText, write_jsonl
from microturn.runtime.session import Sampling

SPC = 3200


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return InteractionModel(preset("tiny")).eval()


def noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.1


def test_a_fed_session_is_aligned_with_its_feed_and_hands_out_each_event_once(model):
    audio = noise(5 * SPC + 1000, 0)  # 5.3 chunks: the last one zero-padded
    feed = Feed(audio, [SideText(0.45, "seven")])
    d = Driver(Engine(model, slots=2))
    s = d.open(feed, "a", seed=3, sampling=Sampling(temperature=1.5, top_k=0))
    ticks = []
    while not d.done(s):
        ticks += d.tick()
    assert [t.chunk for t in ticks] == list(range(6)) and all(t.session is s for t in ticks)
    assert all(t.audio.shape == (SPC,) for t in ticks)
    handed = [e for t in ticks for e in t.events]
    assert len(handed) == len(s.events)  # every event exactly once
    assert ToolResult(0.45, "seven") in ticks[2].events  # due within chunk 2 (0.4-0.6 s)
    out = d.close(s)
    assert out.audio.shape == audio.shape
    assert not out.audio[:SPC].any()  # chunk 0: it has heard nothing yet
    np.testing.assert_array_equal(out.audio[SPC : 2 * SPC], ticks[0].audio)
    assert out.events == sorted(handed, key=lambda e: e.t)
    assert not s.audio_out  # the driver hands audio out; the session keeps none
    # drive() is the same thing for one session, and a session's output does not depend on
    # what it shares the engine with
    again = drive(Engine(model, slots=1), feed, "a", 3, Sampling(temperature=1.5, top_k=0))
    np.testing.assert_array_equal(again.audio, out.audio)
    assert again.events == out.events


def test_pushed_and_fed_sessions_share_ticks(model):
    d = Driver(Engine(model, slots=3))
    fed = d.open(Feed(noise(3 * SPC, 1)), seed=1)
    live = d.open(seed=2)
    idle = d.open(seed=3)  # nothing pushed: it sits out
    d.push(live, noise(SPC, 2))
    first = d.tick()
    assert {t.session.slot for t in first} == {fed.slot, live.slot}
    assert [t.session for t in d.tick()] == [fed]  # nothing pushed to `live` this time
    with pytest.raises(ValueError, match="3200 samples"):
        d.push(live, noise(SPC - 1, 2))
    assert d.close(live) is None and idle.slot in d.engine.sessions


def test_events_json_lines(tmp_path):
    events = [ModelText(0.4, " two"), UserText(0.1, "what"), Delegation(0.3), ToolResult(0.2, "x")]
    write_jsonl(events, tmp_path / "events.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert lines == [
        {"t": 0.1, "kind": "user_text", "text": "what"},
        {"t": 0.2, "kind": "tool_result", "text": "x"},
        {"t": 0.3, "kind": "delegation"},
        {"t": 0.4, "kind": "model_text", "text": " two"},
    ]
