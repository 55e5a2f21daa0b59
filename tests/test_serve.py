"""`microturn serve` against real clients: the official `openai` SDK and raw WebSockets.

One server per module (the shipped `small` checkpoint, CPU), each test its own session.
Every standard server event is validated against the SDK's typed model of its type.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import typing
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openai")
websockets = pytest.importorskip("websockets")

from microturn.audio import load  # noqa: E402
from microturn.serve.conversation import Limits  # noqa: E402
from microturn.serve.server import Background, ServerConfig, is_loopback  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "examples" / "qa.wav"
QUESTION_END_S = 4.48  # the question's last word ends here (examples/qa.timeline.json)


def _server_event_models() -> dict:
    from openai.types.realtime import realtime_server_event as m

    union = typing.get_args(typing.get_args(m.RealtimeServerEvent)[0])
    return {typing.get_args(c.model_fields["type"].annotation)[0]: c for c in union}


MODELS = _server_event_models()


def conforms(ev: dict) -> None:
    """A standard event parses strictly as the SDK's model of its type; ours are prefixed."""
    if ev["type"].startswith("microturn."):
        return
    assert ev["type"] in MODELS, f"not a Realtime server event: {ev['type']}"
    MODELS[ev["type"]].model_validate(ev, strict=True)


@pytest.fixture(scope="module")
def model():
    from microturn.runtime.runner import load_model

    return load_model(ROOT / "checkpoints" / "small")


@pytest.fixture(scope="module")
def server(model):
    with Background(model, ServerConfig(port=0, max_sessions=4)) as s:
        yield s


def pcm24(path: Path) -> bytes:
    x = load(path, 24000)
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def test_sdk_hears_the_question_and_answers(server):
    """The official client: session.created first, both transcripts, audio after the question."""
    from openai import AsyncOpenAI

    url = f"127.0.0.1:{server.port}/v1"
    client = AsyncOpenAI(api_key="k", base_url=f"http://{url}", websocket_base_url=f"ws://{url}")
    pcm = pcm24(QA)
    events: list[dict] = []

    async def talk() -> None:
        async with client.realtime.connect(model="microturn-small") as conn:
            await conn.session.update(session={"type": "realtime", "instructions": "be brief"})
            for i in range(0, len(pcm), 48000):  # 1 s pieces, faster than real time
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(pcm[i : i + 48000]).decode()
                )
            deadline = time.monotonic() + 90
            t = 0.0
            async for ev in conn:
                e = ev.model_dump(exclude_unset=True)
                events.append(e)
                if e["type"] == "microturn.tick":
                    t = e["t"]
                if t >= 7.8 or time.monotonic() > deadline:
                    break

    asyncio.run(talk())
    types = [e["type"] for e in events]
    assert types[0] == "session.created"
    assert "session.updated" in types
    for e in events:
        conforms(e)
    assert "input_audio_buffer.speech_started" in types
    heard = "".join(
        e["delta"] for e in events if e["type"].endswith("input_audio_transcription.delta")
    )
    assert heard.strip(), "no user transcript"
    assert "response.created" in types and "response.output_audio_transcript.delta" in types
    # the model's audio after the question ended: placed by the tick that carried it
    t, after = 0.0, []
    for e in events:
        if e["type"] == "microturn.tick":
            t = e["t"]
        elif e["type"] == "response.output_audio.delta" and t >= QUESTION_END_S:
            after.append(np.frombuffer(base64.b64decode(e["delta"]), "<i2") / 32768)
    assert after, "the model said nothing after the question"
    level = 10 * np.log10(np.mean(np.square(np.concatenate(after))) + 1e-12)
    assert level > -45, f"its audio after the question is silent ({level:.1f} dBFS)"


def _ws(server, **kw):
    from websockets.sync.client import connect

    return connect(f"ws://127.0.0.1:{server.port}/v1/realtime", open_timeout=10, **kw)


def recv(ws, want: str, timeout: float = 30) -> dict:
    """The next event of type `want` (others skipped, all checked)."""
    end = time.monotonic() + timeout
    while True:
        e = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
        conforms(e)
        if e["type"] == want:
            return e


BAD = [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_event"),
    (json.dumps({"type": "no.such.event"}), "unknown_event"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "@@@"}), "invalid_audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"}), "invalid_audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": 5}), "invalid_value"),
    (
        json.dumps(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"format": {"rate": 16000}}}},
            }
        ),
        "unsupported_format",
    ),
    (
        json.dumps({"type": "session.update", "session": {"type": "transcription"}}),
        "unsupported_session",
    ),
    (json.dumps({"type": "conversation.item.create", "item": {"type": "x"}}), "unsupported_item"),
    (json.dumps({"type": "conversation.item.truncate", "item_id": 3}), "invalid_value"),
    (b"\x00\x01binary", "invalid_frame"),
]


def test_bad_events_get_errors_and_the_session_goes_on(server):
    with _ws(server) as ws:
        created = recv(ws, "session.created")
        for frame, code in BAD:
            ws.send(frame)
            e = recv(ws, "error")
            assert e["error"]["code"] == code, (frame, e)
        ws.send(json.dumps({"type": "session.update", "event_id": "c1", "session": {}}))
        up = recv(ws, "session.updated")
        assert up["session"]["id"] == created["session"]["id"]
        ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        recv(ws, "input_audio_buffer.cleared")


def test_error_names_the_offending_event(server):
    with _ws(server) as ws:
        recv(ws, "session.created")
        ws.send(json.dumps({"type": "input_audio_buffer.append", "event_id": "ev9", "audio": "!"}))
        assert recv(ws, "error")["error"]["event_id"] == "ev9"


def test_side_text_and_truncate(server):
    """A function_call_output enters the model's side text: it comes back as a card."""
    with _ws(server) as ws:
        recv(ws, "session.created")
        out = {"type": "function_call_output", "call_id": "call_1", "output": "it is 24"}
        ws.send(json.dumps({"type": "conversation.item.create", "item": out}))
        assert recv(ws, "conversation.item.added")["item"]["output"] == "it is 24"
        ws.send(
            json.dumps(
                {"type": "conversation.item.truncate", "item_id": "item_1", "audio_end_ms": 300}
            )
        )
        assert recv(ws, "conversation.item.truncated")["audio_end_ms"] == 300
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": _silence(1.0)}))
        card = recv(ws, "microturn.card")
        assert card["kind"] == "tool_result" and card["text"] == "it is 24"


def _silence(seconds: float) -> str:
    return base64.b64encode(bytes(int(seconds * 24000) * 2)).decode()


def test_ticks_count_late_audio_and_resume_after_a_drop(server):
    import socket

    from websockets.sync.client import connect

    ws = _ws(server)
    sid = recv(ws, "session.created")["session"]["id"]
    ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": _silence(0.4)}))
    first = recv(ws, "microturn.tick")
    late = first
    while not late["late"]:  # nothing more sent: the session hears silence, counted
        late = recv(ws, "microturn.tick")
    assert late["late_total"] >= 1
    ws.socket.shutdown(socket.SHUT_RDWR)  # a drop: no close frame
    ws.socket.close()
    time.sleep(0.6)
    url = f"ws://127.0.0.1:{server.port}/v1/realtime?session_id={sid}"
    with connect(url, open_timeout=10) as ws:
        assert recv(ws, "session.created")["session"]["id"] == sid
        res = recv(ws, "microturn.session.resumed")
        assert res["chunk"] > first["chunk"]  # the same clock, not a new session
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": _silence(0.4)}))
        assert recv(ws, "microturn.tick")["chunk"] >= res["chunk"]


@pytest.fixture(scope="module")
def guarded(model):
    cfg = ServerConfig(port=0, max_sessions=1, token="s3cret", origins=["https://ok.example"])
    with Background(model, cfg) as s:
        yield s


def test_token_origin_and_the_session_limit(guarded):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{guarded.port}/v1/realtime"
    with pytest.raises(InvalidStatus, match="401"):
        connect(url, open_timeout=10)
    with pytest.raises(InvalidStatus, match="403"):
        connect(url, origin="https://evil.example", open_timeout=10)
    auth = {"Authorization": "Bearer s3cret"}
    browser = ["realtime", "openai-insecure-api-key.s3cret"]
    with connect(url, subprotocols=browser, origin="https://ok.example") as ws:
        recv(ws, "session.created")
        with connect(url, additional_headers=auth) as full:  # one session allowed
            assert recv(full, "error")["error"]["code"] == "session_limit"
    # a clean close frees the slot for the next client at once
    with connect(url, additional_headers=auth) as ws:
        recv(ws, "session.created")


def test_the_page_is_served(server):
    import urllib.request

    page = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/").read().decode()
    assert "<html" in page and "/static/app.js" in page
    for name in ("app.js", "capture.js"):
        js = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/static/{name}").read()
        assert len(js) > 100
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/static/../server.py")


def test_config_refuses_open_hosts_without_a_token():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    with pytest.raises(ValueError, match="token"):
        ServerConfig(host="0.0.0.0")
    assert Limits().message_bytes >= 1 << 20


def test_response_cancel_stops_the_model_within_a_tick(server):
    with _ws(server) as ws:
        recv(ws, "session.created")
        pcm = base64.b64encode(pcm24(QA)).decode()
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))
        rid = recv(ws, "response.created", timeout=60)["response"]["id"]
        ws.send(json.dumps({"type": "response.cancel"}))
        after = []
        while True:
            e = json.loads(ws.recv(timeout=30))
            conforms(e)
            if e["type"] == "response.done" and e["response"]["id"] == rid:
                break
            after.append(e)
        assert e["response"]["status"] == "cancelled"
        assert e["response"]["status_details"]["reason"] == "client_cancelled"
        assert sum(x["type"] == "microturn.tick" for x in after) <= 1  # within one tick
        for _ in range(4):  # and it stays silent meanwhile: no response opens
            tick = recv(ws, "microturn.tick")
            assert not tick["model_speaking"]


@pytest.fixture(scope="module")
def with_agent(model):
    from microturn.agent.registry import dispatcher

    with Background(model, ServerConfig(port=0, max_sessions=2), dispatcher("tools")) as s:
        yield s


def test_with_an_agent_a_delegation_comes_back_as_cards(with_agent):
    """`serve --agent tools`: a `<delegate>` said by the model (the engine's own handling of
    the token, run on the tick thread between ticks) goes to the dispatcher off the tick; its
    call and its result reach the client as cards, the result through the side text."""
    from microturn.tokenizer import DELEGATE

    with _ws(with_agent) as ws:
        sid = recv(ws, "session.created")["session"]["id"]
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": _silence(0.6)}))
        recv(ws, "microturn.tick")
        assert sid in with_agent.links
        s = with_agent.convs[sid].session
        said = with_agent.pool.submit(with_agent.engine._said, s, DELEGATE, s.time)
        said.result(timeout=30)
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": _silence(2.0)}))
        kinds = {}
        while "agent_result" not in kinds:
            card = recv(ws, "microturn.card", timeout=60)
            kinds[card["kind"]] = card
    assert "agent_call" in kinds and kinds["agent_result"]["status"] == "failed"
    assert kinds["agent_result"]["text"] == "i couldn't get that"  # it heard no request


@pytest.fixture(scope="module")
def wordy(model):
    # sessions are seeded (ServerConfig.seed): the seed draws the vocoder's phase and the
    # input's dither; whatever it says (on seed 0 `microturn run` says "a chair kay", the
    # README), the test asks only that it says words of the lexicon
    cfg = ServerConfig(port=0, max_sessions=1, seed=0)
    with Background(model, cfg) as s:
        yield s


def test_the_servers_sampling_follows_its_config(model):
    """`serve` decodes through the lexicon and lays phones out from the words by default (the
    runtime's `Sampling`); `--no-lexicon --no-pronounce` turn both off for every session;
    `--speak-threshold 0 --reply-threshold 0.3` draw the first word and set the reply's;
    `--delegate-threshold` sets when it delegates."""
    from microturn.runtime.session import Sampling
    from microturn.serve.server import Server

    for cfg, on, thresholds in (
        (ServerConfig(port=0), True, (Sampling.speak_threshold, Sampling.reply_threshold)),
        (ServerConfig(port=0, lexicon=False, pronounce=False), False, (0.1, 0.2)),
        (ServerConfig(port=0, speak_threshold=0, reply_threshold=0.3), True, (None, 0.3)),
    ):
        s = Server(model, cfg)
        try:
            assert s.sampling.lexicon is on and s.sampling.pronounce is on
            assert (s.sampling.speak_threshold, s.sampling.reply_threshold) == thresholds
            assert s.sampling.delegate_threshold == Sampling.delegate_threshold
        finally:
            s.pool.shutdown()
    s = Server(model, ServerConfig(port=0, delegate_threshold=0.05, result_threshold=0.1))
    try:
        assert s.sampling.delegate_threshold == 0.05 and s.sampling.result_threshold == 0.1
    finally:
        s.pool.shutdown()


def test_served_sessions_say_words_of_the_lexicon(wordy):
    """By default a served session's words (its audio transcript) are words of the data
    engine's language, each said whole; the last may be cut when the test stops listening."""
    from microturn.runtime.words import corpus_words

    pcm = pcm24(QA)
    said = []
    with _ws(wordy) as ws:
        recv(ws, "session.created")
        for i in range(0, len(pcm), 48000):
            piece = base64.b64encode(pcm[i : i + 48000]).decode()
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": piece}))
        t, end = 0.0, time.monotonic() + 60
        while t < 7.8 and time.monotonic() < end:
            e = json.loads(ws.recv(timeout=30))
            if e["type"] == "microturn.tick":
                t = e["t"]
            elif e["type"] == "response.output_audio_transcript.delta":
                said.append(e["delta"])
    words = "".join(said).split()
    assert words, "the model said nothing to the question"
    assert all(w in corpus_words() for w in words[:-1]), words
