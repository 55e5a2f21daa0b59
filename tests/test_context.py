"""The context package: both sides' pieces as timestamped lines, the request span, the times,
and its JSON."""

import json
from datetime import UTC, datetime

from microturn.agent.context import Line, build
from microturn.runtime.events import Delegation, ModelText, UserText


def pieces(t0, who, words):
    kind = UserText if who == "user" else ModelText
    return [kind(round(t0 + 0.2 * i, 3), " " + w) for i, w in enumerate(words.split())]


def test_package_from_a_sessions_events():
    ev = (
        pieces(0.4, "user", "hello there")
        + pieces(1.6, "model", "hi")
        + pieces(3.0, "user", "what is thirty seven")
        + pieces(5.4, "user", "times twen")  # a pause: a new line, the same request
        + [UserText(5.8, "ty"), UserText(6.0, " four")]
        + pieces(6.4, "model", "let me work that out")
        + [Delegation(6.6)]
    )
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ctx = build("s1", ev, 6.6, now=now)
    assert ctx.request == "what is thirty seven times twenty four"
    assert ctx.span == (3.0, 6.0) and ctx.t == ctx.elapsed_s == 6.6
    assert ctx.wall_clock == "2026-01-02T03:04:05.000+00:00"
    assert [ln.speaker for ln in ctx.transcript] == ["user", "model", "user", "user", "model"]
    assert ctx.transcript[0] == Line("user", 0.4, 0.6, "hello there")
    j = json.loads(json.dumps(ctx.to_json()))
    assert j["request"] == ctx.request and j["elapsed_s"] == 6.6 and j["visual"] == []
    assert j["transcript"][-1] == {
        "speaker": "model",
        "t0": 6.4,
        "t1": 7.2,
        "text": "let me work that out",
    }


def test_no_user_words_is_an_empty_request():
    ctx = build("s", pieces(0.0, "model", "hello"), 1.0)
    assert ctx.request == "" and ctx.span == (0.0, 0.0)
