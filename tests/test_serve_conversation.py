"""A conversation's own rules, without a model: limits, the send queue, input chunks, video."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import numpy as np

from microturn.config import preset
from microturn.grid import Grid
from microturn.serve.conversation import Conversation, Limits
from microturn.serve.turns import TurnConfig

CFG = preset("small")
GRID = Grid(CFG.grid)


def conv(**limits) -> Conversation:
    return Conversation("sess_t", "m", GRID, CFG.mel, Limits(**limits), TurnConfig())


def append(seconds: float, level: float = 0.0) -> str:
    x = np.full(int(seconds * 24000), int(level * 32767), "<i2")
    return json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(x).decode()})


def codes(events) -> list[str]:
    return [e["error"]["code"] for e in events if e["type"] == "error"]


def test_a_client_that_stops_reading_is_cut_off_not_waited_for():
    async def go():
        c = conv(send_queue=8)
        c.attach(object())  # a connection whose writer never drains the queue
        assert c.send([{"type": "microturn.tick"}] * 8)
        assert not c.send([{"type": "microturn.tick"}])  # the ninth overflows
        q = [c.queue.get_nowait() for _ in range(c.queue.qsize())]
        assert q[0]["error"]["code"] == "slow_client" and q[-1] is None  # then the close

    asyncio.run(go())


def test_input_rate_and_buffer_limits():
    c = conv(bytes_per_s=1000, burst_bytes=300_000)
    assert codes(c.handle(append(2.0))) == []  # 128 KB of base64: within the burst
    assert codes(c.handle(append(2.0))) == []
    assert codes(c.handle(append(2.0))) == ["rate_limited"]  # the burst is spent
    c = conv(ahead_s=1.0)
    assert codes(c.handle(append(0.8))) == []
    assert codes(c.handle(append(0.8))) == ["buffer_full"]  # nothing of it kept
    assert 0.7 * GRID.sample_rate < len(c.inbuf) <= 0.8 * GRID.sample_rate  # less its filter delay


def test_chunks_late_and_on_time():
    c = conv()
    c.attach(object())
    assert c.next_chunk(None) is None  # the clock starts with the first full chunk

    class S:  # the engine session's surface next_chunk touches
        script = None
        stream = type("St", (), {"chunk": 0})()

    c.session = S()
    c.handle(append(0.3, 0.5))
    x, late = c.next_chunk(None)
    assert not late and x.shape == (GRID.samples_per_chunk,) and np.abs(x).max() > 0.3
    x, late = c.next_chunk(None)  # 100 ms left: padded with silence, counted
    assert late and c.counts["late"] == 1 and np.abs(x[-800:]).max() == 0
    c.detach(clean=False)
    assert c.next_chunk(None) is None and not c.closing  # away: paused, kept
    c.attach(object())
    c.handle(append(0.1))
    assert c.next_chunk(None) is None  # back: the cushion fills again first


def test_a_camera_frame_becomes_the_models_next_frame():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(buf, "JPEG")
    c = conv()
    ev = {
        "type": "microturn.input_video_frame.append",
        "image": base64.b64encode(buf.getvalue()).decode(),
    }
    assert c.handle(json.dumps(ev)) == []
    side = CFG.grid.video_side
    assert c.frame.shape == (side, side, 3) and c.frame[..., 0].mean() > 150
    assert codes(c.handle(json.dumps({**ev, "image": "AAAA"}))) == ["invalid_image"]
