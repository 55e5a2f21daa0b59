"""One client's Realtime conversation: its engine session, what it has sent, what it is sent.

A `Conversation` outlives its connection: when a client drops (no close frame) it is kept for
the grace period, paused (its clock does not advance), and a client that reconnects with its
session id resumes it. Client events are applied here (`handle`); everything that touches the
engine session (opening it, pushing a chunk, side text, muting) waits for the tick loop, which
calls `next_chunk` between ticks. Outgoing events go through a bounded queue drained by the
connection's writer; a client that lets it fill is cut off, never waited for.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass

import numpy as np

from microturn.audio import StreamResampler
from microturn.serve import wire
from microturn.serve.turns import TurnConfig, Turns
from microturn.tokenizer import PAD


@dataclass
class Limits:
    """Per-connection limits (`ServerConfig` holds them)."""

    message_bytes: int = 1 << 20  # one frame
    bytes_per_s: int = 256 << 10  # sustained input (real-time audio is 64 KB/s of base64)
    burst_bytes: int = 4 << 20  # what may arrive at once (a file sent faster than real time)
    ahead_s: float = 120.0  # audio buffered ahead of the model's clock
    send_queue: int = 1024  # events waiting for a slow client
    prebuffer_s: float = 0.2  # input held before the clock (re)starts: the jitter cushion


class _Silence:
    """A script (`Session.script`) that makes the model say nothing: PAD text, silent mel."""

    def __init__(self, fpp: int, n_mels: int, lo: float):
        self.frames = np.full((fpp, n_mels), lo, np.float32)

    def __len__(self) -> int:
        return 1 << 62

    def __getitem__(self, i):
        return self.frames if isinstance(i, slice) else PAD


class Conversation:
    def __init__(self, sid: str, model_name: str, grid, mel_cfg, limits: Limits, turns: TurnConfig):
        self.id, self.model_name, self.grid, self.limits = sid, model_name, grid, limits
        self.conf: dict = {"instructions": "", "tools": []}
        self.turns = Turns(grid.sample_rate, [], turns, grid.chunk_s)
        self.down = StreamResampler(wire.WIRE_RATE, grid.sample_rate)
        self.inbuf = np.zeros(0, np.float32)  # user audio at the grid's rate, not yet fed
        self.started = False  # the clock starts with the first chunk of audio
        self.session = None  # the engine's Session, once the tick loop has opened it
        self.side: list[str] = []  # side text for the next tick
        self.frame: np.ndarray | None = None  # the latest video frame, for the next tick
        silence = _Silence(grid.cfg.frames_per_position, mel_cfg.n_mels, mel_cfg.lo)
        self.silence = {"tokens": silence, "logmel": silence}
        self.queue: asyncio.Queue | None = None
        self.ws = None
        self.closing = False  # leave at the next tick (a clean close)
        self.detached_at: float | None = None
        self.pending_on_resume: list[dict] = []  # a response the drop cut short
        self.bucket, self.bucket_t = float(limits.burst_bytes), time.monotonic()
        self.counts = {"ticks": 0, "late": 0, "errors": 0, "resumes": 0, "dropped_audio_s": 0.0}

    # --- the connection ---------------------------------------------------------------------
    def attach(self, ws) -> None:
        self.ws, self.detached_at = ws, None
        self.queue = asyncio.Queue(self.limits.send_queue)

    def detach(self, clean: bool) -> None:
        """The connection ended: a close leaves; a drop keeps the session for a while."""
        self.ws = None
        if clean:
            self.closing = True
        else:
            self.detached_at = time.monotonic()
            self.pending_on_resume = self.turns.drop()
            self.started = False  # on resume the cushion fills again before it ticks

    def send(self, events: list[dict]) -> bool:
        """Queue events for the client; False (and the client is cut off) if it lags too far."""
        if self.ws is None:
            return True
        for e in events:
            try:
                self.queue.put_nowait(e)
            except asyncio.QueueFull:
                self.queue = asyncio.Queue(self.limits.send_queue)  # what it missed is gone
                self.queue.put_nowait(wire.error("slow_client", "send queue overflow"))
                self.queue.put_nowait(None)  # the writer closes the connection
                return False
        return True

    def created(self) -> dict:
        return {
            "type": "session.created",
            "session": wire.session_object(self.id, self.model_name, self.conf),
        }

    # --- client events ----------------------------------------------------------------------
    def handle(self, frame: str | bytes) -> list[dict]:
        """Apply one client frame; the events to send back (an `error` for a bad one)."""
        try:
            self._rate(len(frame))
            ev = wire.parse(frame)
            return getattr(self, "_" + ev.type.replace(".", "_"))(ev)
        except wire.WireError as e:
            self.counts["errors"] += 1
            return [wire.error(e.code, e.message, e.event_id, e.param)]

    def _rate(self, n: int) -> None:
        now = time.monotonic()
        lim = self.limits
        self.bucket = min(lim.burst_bytes, self.bucket + (now - self.bucket_t) * lim.bytes_per_s)
        self.bucket_t = now
        if n > self.bucket:
            raise wire.WireError("rate_limited", f"over {lim.bytes_per_s} bytes/s: frame dropped")
        self.bucket -= n

    def _session_update(self, ev) -> list[dict]:
        s = wire.field(ev, "session", dict)
        if s.get("type", "realtime") != "realtime":
            raise wire.WireError(
                "unsupported_session", "only session type 'realtime'", ev.event_id, "session.type"
            )
        audio = s.get("audio") or {}
        if not isinstance(audio, dict):
            raise wire.WireError("invalid_value", "session.audio must be an object", ev.event_id)
        for side in ("input", "output"):
            part = audio.get(side) or {}
            if not isinstance(part, dict):
                raise wire.WireError("invalid_value", f"session.audio.{side}", ev.event_id)
            wire.check_format(part.get("format"), ev, f"session.audio.{side}.format")
        conf = dict(self.conf)
        if "instructions" in s:
            if not isinstance(s["instructions"], str):
                raise wire.WireError("invalid_value", "instructions: a string", ev.event_id)
            conf["instructions"] = s["instructions"]
        if "tools" in s:
            tools = s["tools"]
            if not isinstance(tools, list) or not all(
                isinstance(t, dict) and isinstance(t.get("name", ""), str) for t in tools
            ):
                raise wire.WireError("invalid_value", "tools: a list of tool objects", ev.event_id)
            conf["tools"] = [t for t in tools if t.get("type", "function") == "function"]
        self.conf = conf
        self.turns.tools = conf["tools"]
        obj = wire.session_object(self.id, self.model_name, conf)
        return [{"type": "session.updated", "session": obj}]

    def _input_audio_buffer_append(self, ev) -> list[dict]:
        x = self.down(wire.decode_pcm16(ev.body.get("audio"), ev))
        ahead = self.limits.ahead_s * self.grid.sample_rate
        if len(self.inbuf) + len(x) > ahead:
            self.counts["dropped_audio_s"] += len(x) / self.grid.sample_rate
            raise wire.WireError(
                "buffer_full", f"over {self.limits.ahead_s:g} s of audio ahead", ev.event_id
            )
        self.inbuf = np.concatenate([self.inbuf, x])
        return []

    def _input_audio_buffer_clear(self, ev) -> list[dict]:
        self.inbuf = np.zeros(0, np.float32)
        return [{"type": "input_audio_buffer.cleared"}]

    def _input_audio_buffer_commit(self, ev) -> list[dict]:
        # the model listens continuously: a commit marks nothing
        return [{"type": "input_audio_buffer.committed", "item_id": self.turns._id("item")}]

    def _response_create(self, ev) -> list[dict]:
        return []  # the model decides when it speaks (docs/realtime.md)

    def _response_cancel(self, ev) -> list[dict]:
        chunk = self.session.stream.chunk if self.session is not None else 0
        return self.turns.cancel(chunk)

    def _conversation_item_truncate(self, ev) -> list[dict]:
        iid = wire.field(ev, "item_id", str)
        end = wire.field(ev, "audio_end_ms", int)
        idx = wire.field(ev, "content_index", int, required=False) or 0
        return [
            {
                "type": "conversation.item.truncated",
                "item_id": iid,
                "content_index": idx,
                "audio_end_ms": end,
            }
        ]

    def _conversation_item_create(self, ev) -> list[dict]:
        item = wire.field(ev, "item", dict)
        kind = item.get("type")
        if kind == "function_call_output":
            text = item.get("output")
            if not isinstance(text, str):
                raise wire.WireError("invalid_value", "function_call_output: 'output'", ev.event_id)
        elif kind == "message" and item.get("role", "user") in ("user", "system"):
            parts = item.get("content")
            if not isinstance(parts, list):
                raise wire.WireError("invalid_value", "message: 'content' list", ev.event_id)
            text = " ".join(
                p.get("text", "")
                for p in parts
                if isinstance(p, dict) and p.get("type") == "input_text"
            )
        else:
            raise wire.WireError(
                "unsupported_item", f"item type {str(kind)[:40]!r} is not supported", ev.event_id
            )
        text = text[:2000]
        self.side.append(text)
        iid = item.get("id") if isinstance(item.get("id"), str) else self.turns._id("item")
        shown = {**item, "id": iid, "object": "realtime.item", "status": "completed"}
        return [
            {"type": "conversation.item.added", "item": shown},
            {"type": "conversation.item.done", "item": shown},
        ]

    def _microturn_input_video_frame_append(self, ev) -> list[dict]:
        """A JPEG (base64 'image') -> the model's next video frame (side x side RGB)."""
        import base64

        from PIL import Image

        try:
            raw = base64.b64decode(wire.field(ev, "image", str), validate=True)
            img = Image.open(io.BytesIO(raw))
            img.draft("RGB", (4 * self.grid.cfg.video_side,) * 2)
            side = self.grid.cfg.video_side
            img = img.convert("RGB").resize((side, side))
        except wire.WireError:
            raise
        except Exception:
            raise wire.WireError(
                "invalid_image", "'image' is not a base64 JPEG/PNG", ev.event_id
            ) from None
        self.frame = np.asarray(img, np.uint8)
        return []

    # --- between ticks ----------------------------------------------------------------------
    def next_chunk(self, tok) -> tuple[np.ndarray, bool] | None:
        """This tick's input chunk and whether it came late (silence filled in), or None
        when the session does not tick (its client is away, or the input has not yet filled
        the `prebuffer_s` cushion that absorbs network jitter). Also applies
        side text and a cancel's silence to the engine session."""
        n = self.grid.samples_per_chunk
        cushion = max(n, int(self.limits.prebuffer_s * self.grid.sample_rate))
        if self.ws is None or (not self.started and len(self.inbuf) < cushion):
            return None
        self.started = True
        x, late = self.inbuf[:n], len(self.inbuf) < n
        self.inbuf = self.inbuf[n:]
        if late:
            x = np.concatenate([x, np.zeros(n - len(x), np.float32)])
            self.counts["late"] += 1
        s = self.session
        for text in self.side:
            s.inject_text(text, tok)
        self.side = []
        s.script = self.silence if s.stream.chunk < self.turns.muted_until else None
        self.counts["ticks"] += 1
        return x, late

    def stats(self) -> dict:
        return {"late_total": self.counts["late"], "errors_total": self.counts["errors"]}

    def resumed(self, gap_s: float) -> list[dict]:
        self.counts["resumes"] += 1
        out = [self.created()]
        out += self.pending_on_resume
        self.pending_on_resume = []
        ev = {"type": "microturn.session.resumed", "session_id": self.id, "gap_s": round(gap_s, 3)}
        ev["chunk"] = self.session.stream.chunk if self.session is not None else 0
        return out + [ev]


def dumps(e: dict, n: int) -> str:
    return json.dumps({"event_id": f"evt_{n:08d}", **e}, separators=(",", ":"))
