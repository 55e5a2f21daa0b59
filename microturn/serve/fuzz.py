"""`microturn bench serve`'s fuzz part: hostile clients beside a well-behaved session.

Eight clients send malformed or hostile frames (bad JSON, binary, unknown types, bad base64,
odd lengths, wrong formats, deep nesting, oversized frames, reconnect churn, and some valid
audio so their sessions tick in the same batched step); a well-behaved session runs alone,
then again beside them, and everything it receives must be bit-identical.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random

import numpy as np

from microturn.serve.talk import CHUNK, realtime_url
from microturn.serve.wire import encode_pcm16


def append(x: np.ndarray) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "audio": encode_pcm16(x)})


def hostile(rng: random.Random, audio: np.ndarray) -> str | bytes:
    """One malformed or hostile frame (a few are valid audio, so the sender's session ticks)."""
    k = rng.randrange(16)
    a = {"type": "input_audio_buffer.append"}
    if k == 0:
        return "{" * rng.randrange(1, 200)
    if k == 1:
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64)))
    if k == 2:
        return json.dumps({"type": "x." * rng.randrange(1, 30)})
    if k == 3:
        return json.dumps({**a, "audio": "!!" + "A" * rng.randrange(0, 50)})
    if k == 4:
        return json.dumps({**a, "audio": base64.b64encode(b"\x01" * 3).decode()})
    if k == 5:
        fmt = {"type": rng.choice(["audio/pcmu", "audio/pcm", "x"]), "rate": rng.choice([8000, 1])}
        return json.dumps(
            {"type": "session.update", "session": {"audio": {"input": {"format": fmt}}}}
        )
    if k == 6:
        return "[" * 5000 + "]" * 5000  # deep nesting
    if k == 7:
        return json.dumps(
            {"type": "conversation.item.create", "item": {"type": "message", "content": 5}}
        )
    if k == 8:
        return json.dumps({"type": "microturn.input_video_frame.append", "image": "AAAA"})
    if k == 9:
        return json.dumps({"type": "session.update", "session": {"tools": [1, None, {"name": 3}]}})
    if k == 10:
        return json.dumps(
            {"type": "conversation.item.truncate", "item_id": None, "audio_end_ms": "x"}
        )
    if k == 11:
        return json.dumps({"type": "response.cancel", "event_id": {"a": 1}})
    if k == 12:
        return "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace") * 10
    if k == 13:
        return json.dumps({"type": None, "audio": [1, 2, 3]})
    i = rng.randrange(len(audio) // CHUNK)
    return append(audio[i * CHUNK : (i + 1) * CHUNK])  # valid: it ticks beside the good one


async def fuzzer(url: str, seed: int, quota: int, audio: np.ndarray, counts: dict) -> None:
    """Sends `quota` hostile frames, reconnecting whenever the server closes on it."""
    from websockets.asyncio.client import connect

    rng = random.Random(seed)
    sent = 0
    while sent < quota:
        try:
            async with connect(realtime_url(url), max_size=1 << 24) as ws:

                async def drain(ws=ws) -> None:
                    try:
                        async for frame in ws:
                            counts["errors"] += '"type":"error"' in frame
                    except Exception:  # it is closing on us: the sender notices
                        pass

                reader = asyncio.create_task(drain())
                while sent < quota:
                    if rng.random() < 0.002:  # an oversized frame: the server closes on it
                        frame = "x" * (2 << 20)
                    elif rng.random() < 0.003:  # churn: leave and come back
                        break
                    else:
                        frame = hostile(rng, audio)
                    await ws.send(frame)
                    sent += 1
                    counts["frames"] += 1
                    if sent % 20 == 0:
                        await asyncio.sleep(0.01)
                reader.cancel()
        except Exception:  # the server closed on it: count, reconnect
            counts["reconnects"] += 1
            await asyncio.sleep(0.05)


async def good_run(url: str, audio: np.ndarray, ticks: int) -> list:
    """The well-behaved session: its whole question up front, then `ticks` ticks; the
    signature of everything it received (timing stats left out)."""
    from websockets.asyncio.client import connect

    sig = []
    async with connect(realtime_url(url), max_size=1 << 24) as ws:
        await ws.send(append(audio))
        async for frame in ws:
            e = json.loads(frame)
            e.pop("event_id")
            if e["type"] == "session.created":
                continue
            if e["type"] == "microturn.tick":
                sig.append(("tick", e["chunk"], e["late"], json.dumps(e["events"])))
                if e["chunk"] >= ticks:
                    break
            else:
                sig.append(json.dumps(e, sort_keys=True))
    return sig


async def fuzz_run(srv, frames: int, audio: np.ndarray, ticks: int = 45) -> dict:
    alone = await good_run(srv.url, audio, ticks)
    counts = {"frames": 0, "errors": 0, "reconnects": 0}
    fuzz = [
        asyncio.create_task(fuzzer(srv.url, i, frames // 8 + 1, audio, counts)) for i in range(8)
    ]
    await asyncio.sleep(1.0)
    beside = await good_run(srv.url, audio, ticks)
    await asyncio.gather(*fuzz, return_exceptions=True)
    h = srv.health()
    audio_events = sum(1 for x in alone if "output_audio.delta" in x)
    return {
        "frames": counts["frames"],
        "errors_received": counts["errors"],
        "reconnects": counts["reconnects"],
        "server_up": srv.alive(),
        "good_events": len(alone),
        "good_audio_deltas": audio_events,
        "identical": alone == beside,
        "tick_p99_ms": h["tick_p99_ms"],
    }
