"""`microturn talk`: a wav file as one side of a live conversation with a `microturn serve`.

    microturn talk --server ws://127.0.0.1:8765 INPUT.wav --out DIR [--fast] [--tail 4]
                   [--token T]

Streams the file in 200 ms appends in real time (`--fast`: all at once; the server's clock
still runs in real time), then `--tail` seconds of silence so the model can answer, and
writes what `microturn run` writes, at the wire's 24 kHz: `stereo.wav` (left the input,
right the model, time-aligned by the server's ticks), `model.wav`, `events.jsonl` (the same
lines as `microturn run`, docs/events.md) and `realtime.jsonl` (every server event, audio
payloads left out). The two-sided transcript is printed as it happens; the last line is a
JSON summary.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from microturn.audio import load, save
from microturn.serve.wire import WIRE_RATE, ServeError, encode_pcm16

CHUNK = WIRE_RATE // 5  # 200 ms at the wire's rate


def realtime_url(server: str, session_id: str = "") -> str:
    """ws://host:port[/v1/realtime] -> the Realtime endpoint (with a session to resume)."""
    url = server.rstrip("/")
    if not url.startswith(("ws://", "wss://")):
        url = "ws://" + url.split("://")[-1]
    if not url.endswith("/v1/realtime"):
        url += "/v1/realtime"
    return url + (f"?session_id={session_id}" if session_id else "")


@dataclass
class Record:
    """What a client heard: every event (audio left out), the model's audio by response, the
    session's events in `events.jsonl` form, and the last tick's counters."""

    events: list = field(default_factory=list)
    timeline: list = field(default_factory=list)
    responses: dict = field(default_factory=dict)  # response id -> [start chunk, [pcm16 ...]]
    chunk: int = -1
    last_tick: dict = field(default_factory=dict)
    session_id: str = ""

    def take(self, e: dict, echo: bool = False) -> None:
        kind = e["type"]
        if kind == "response.output_audio.delta":
            part = base64.b64decode(e["delta"])
            self.responses.setdefault(e["response_id"], [self.chunk + 1, []])[1].append(part)
            return
        self.events.append(e)
        if kind == "session.created":
            self.session_id = e["session"]["id"]
        elif kind == "microturn.tick":
            self.chunk, self.last_tick = e["chunk"], e
            self.timeline += e["events"]
        elif kind == "response.created":
            # tick k's audio is what it says during chunk k + 1
            self.responses[e["response"]["id"]] = [self.chunk + 1, []]
        if not echo:
            return
        t = f"{max(self.chunk, 0) * 0.2:6.1f}s"
        if kind == "conversation.item.input_audio_transcription.completed":
            print(f"{t}  user : {e['transcript']}", flush=True)
        elif kind == "response.done":
            out = e["response"].get("output") or [{}]
            said = "".join(c.get("transcript", "") for c in out[0].get("content", []))
            print(f"{t}  model: {said.strip()} [{e['response']['status']}]", flush=True)
        elif kind == "microturn.card":
            print(f"{t}  card : {e['kind']}: {e['text']}", flush=True)
        elif kind == "error":
            print(f"{t}  error: {e['error']['code']}: {e['error']['message']}", flush=True)

    def model_channel(self, n: int) -> np.ndarray:
        """The model's audio (n,) at the wire's rate, each response from its first chunk."""
        out = np.zeros(n, np.float32)
        for start, parts in self.responses.values():
            x = np.frombuffer(b"".join(parts), "<i2").astype(np.float32) / 32768
            a = start * CHUNK
            if a < n:
                out[a : a + len(x)] = x[: n - a]
        return out


async def stream(
    url: str,
    audio: np.ndarray,
    rec: Record,
    fast: bool = False,
    tail_s: float = 4.0,
    token: str | None = None,
    echo: bool = False,
) -> None:
    """One conversation: `audio` (24 kHz float32) then `tail_s` of silence, in real time."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, InvalidURI

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    total = len(audio) + int(tail_s * WIRE_RATE)
    x = np.zeros(-(-total // CHUNK) * CHUNK, np.float32)
    x[: len(audio)] = audio
    n_chunks = len(x) // CHUNK
    try:
        ws = await connect(url, additional_headers=headers, max_size=1 << 24, open_timeout=20)
    except (InvalidStatus, InvalidURI) as e:
        raise ServeError(f"{url}: {e}") from None
    async with ws:
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))

        async def send() -> None:
            if fast:
                for k in range(0, n_chunks, 25):  # 5 s a frame
                    pcm = encode_pcm16(x[k * CHUNK : (k + 25) * CHUNK])
                    await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))
                return
            t0 = time.monotonic()
            for k in range(n_chunks):
                await asyncio.sleep(max(0.0, t0 + k * 0.2 - time.monotonic()))
                pcm = encode_pcm16(x[k * CHUNK : (k + 1) * CHUNK])
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))

        sender = asyncio.create_task(send())
        async for frame in ws:
            rec.take(json.loads(frame), echo)
            if rec.chunk >= n_chunks - 1:
                break
        sender.cancel()


def main(args) -> None:
    audio = load(args.input, WIRE_RATE, mono="mix")
    rec = Record()
    asyncio.run(
        stream(realtime_url(args.server), audio, rec, args.fast, args.tail, args.token, True)
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = len(audio) + int(args.tail * WIRE_RATE)
    user = np.zeros(n, np.float32)
    user[: len(audio)] = audio
    model = rec.model_channel(n)
    save(out / "model.wav", model, WIRE_RATE)
    save(out / "stereo.wav", np.stack([user, model], 1), WIRE_RATE)
    lines = sorted(rec.timeline, key=lambda e: e["t"])
    (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    (out / "realtime.jsonl").write_text("".join(json.dumps(e) + "\n" for e in rec.events))
    said = "".join(e["text"] for e in lines if e["kind"] == "model_text").strip()
    heard = "".join(e["text"] for e in lines if e["kind"] == "user_text").strip()
    summary = {
        "server": args.server,
        "input": str(args.input),
        "session": rec.session_id,
        "duration_s": round(n / WIRE_RATE, 3),
        "heard": heard,
        "said": said,
        "responses": len(rec.responses),
        "late_chunks": rec.last_tick.get("late_total", 0),
    }
    print(json.dumps(summary))
