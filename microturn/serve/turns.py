"""A session's ticks as Realtime events: who holds the floor, responses, the user's side.

There is no turn detector: the model decides when it speaks. A *response* is a span in which
the model holds the floor: it opens on the first tick in which the model says a word piece or
its audio rises above `speaking_db`, and ends after `release_ticks` ticks with neither. It is
`completed`, or `cancelled` when the user started speaking during it and still was as it
stopped (a barge-in), or the client sent `response.cancel`. The user's side comes from the
model's own transcript head: its first piece is `speech_started`, `user_release_ticks`
ticks without one `speech_stopped` plus the item's completed transcription. Every tick also
yields a `microturn.tick` with the tick's events in the `events.jsonl` form, which is what
`microturn talk` records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import count

import numpy as np

from microturn.audio import StreamResampler, db
from microturn.runtime.driver import Tick
from microturn.runtime.events import (
    AgentCall,
    AgentResult,
    Delegation,
    ModelText,
    ToolResult,
    UserText,
)
from microturn.serve import wire


@dataclass(frozen=True)
class TurnConfig:
    speaking_db: float = -45.0  # model audio above this holds the floor even without words
    release_ticks: int = 2  # ticks of neither words nor sound that end a response
    user_release_ticks: int = 4  # ticks without a transcript piece that end the user's speech
    cancel_ticks: int = 5  # after response.cancel, no new response for this many ticks


@dataclass
class _Response:
    id: str
    item: str
    outputs: list = field(default_factory=list)
    transcript: str = ""
    barged: bool = False  # the user started speaking while it held the floor


class Turns:
    def __init__(
        self,
        sample_rate: int,
        tools: list | None = None,
        cfg: TurnConfig | None = None,
        chunk_s: float = 0.2,
    ):
        self.cfg, self.chunk_s = cfg or TurnConfig(), chunk_s
        self.tools = tools or []
        self.up = StreamResampler(sample_rate, wire.WIRE_RATE)
        self._ids = count(1)
        self.resp: _Response | None = None
        self.quiet = 0  # ticks since the model last held the floor
        self.user_item: str | None = None
        self.user_text = ""
        self.user_quiet = 0
        self.muted_until = -1  # chunk before which no response opens (response.cancel)
        self.user_last_t = 0.0

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    # --- one tick ---------------------------------------------------------------------------
    def feed(self, tick: Tick, late: bool, stats: dict) -> list[dict]:
        """Server events for one tick of the session (`stats` goes into microturn.tick)."""
        out: list[dict] = []
        words = [e for e in tick.events if isinstance(e, ModelText)]
        heard = [e for e in tick.events if isinstance(e, UserText)]
        out += self._user(heard)
        audio24 = self.up(tick.audio)
        muted = tick.chunk < self.muted_until
        holding = not muted and (bool(words) or db(tick.audio) > self.cfg.speaking_db)
        if holding and self.resp is None:
            out += self._open()
        if self.resp is not None:
            out += self._speak(audio24, words)
            self.quiet = 0 if holding else self.quiet + 1
            if self.quiet >= self.cfg.release_ticks:
                barged = self.resp.barged and self.user_item is not None
                status = "cancelled" if barged else "completed"
                out += self._close(status, "turn_detected" if barged else None)
        for e in tick.events:
            if isinstance(e, Delegation):
                out += self._delegation(e.t)
            elif isinstance(e, ToolResult):
                out.append(
                    {"type": "microturn.card", "kind": "tool_result", "t": e.t, "text": e.text}
                )
            elif isinstance(e, AgentCall | AgentResult):
                out.append({"type": "microturn.card", **e.to_json()})
        out.insert(
            0,
            {
                "type": "microturn.tick",
                "chunk": tick.chunk,
                "t": round(tick.chunk * self.chunk_s, 3),
                "late": late,
                "model_speaking": self.resp is not None,
                "user_speaking": self.user_item is not None,
                "events": [e.to_json() for e in tick.events],
                **stats,
            },
        )
        return out

    def cancel(self, chunk: int) -> list[dict]:
        """response.cancel: the open response ends now, and none opens for `cancel_ticks`."""
        self.muted_until = chunk + self.cfg.cancel_ticks
        return self._close("cancelled", "client_cancelled") if self.resp else []

    def drop(self) -> list[dict]:
        """The client went away mid-response: what it is told when it comes back."""
        return self._close("incomplete", None) if self.resp else []

    # --- the model's side -------------------------------------------------------------------
    def _open(self) -> list[dict]:
        r = self.resp = _Response(self._id("resp"), self._id("item"))
        self.quiet = 0
        r.outputs.append(wire.assistant_item(r.item, "in_progress"))
        return [
            {"type": "response.created", "response": wire.response(r.id, "in_progress", [])},
            {
                "type": "response.output_item.added",
                "response_id": r.id,
                "output_index": 0,
                "item": wire.assistant_item(r.item, "in_progress"),
            },
            {
                "type": "response.content_part.added",
                "response_id": r.id,
                "item_id": r.item,
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "audio", "transcript": ""},
            },
        ]

    def _speak(self, audio24: np.ndarray, words: list) -> list[dict]:
        r = self.resp
        at = {"response_id": r.id, "item_id": r.item, "output_index": 0, "content_index": 0}
        out = [{"type": "response.output_audio.delta", **at, "delta": wire.encode_pcm16(audio24)}]
        for w in words:
            r.transcript += w.text
            out.append({"type": "response.output_audio_transcript.delta", **at, "delta": w.text})
        return out

    def _close(self, status: str, reason: str | None) -> list[dict]:
        r, self.resp = self.resp, None
        at = {"response_id": r.id, "item_id": r.item, "output_index": 0, "content_index": 0}
        item_status = "completed" if status == "completed" else "incomplete"
        item = wire.assistant_item(r.item, item_status, r.transcript)
        r.outputs[0] = item
        return [
            {"type": "response.output_audio.done", **at},
            {"type": "response.output_audio_transcript.done", **at, "transcript": r.transcript},
            {
                "type": "response.content_part.done",
                **at,
                "part": {"type": "audio", "transcript": r.transcript},
            },
            {
                "type": "response.output_item.done",
                "response_id": r.id,
                "output_index": 0,
                "item": item,
            },
            {"type": "response.done", "response": wire.response(r.id, status, r.outputs, reason)},
        ]

    def _delegation(self, t: float) -> list[dict]:
        """`<delegate>`: a card always; a function call when the client declared tools."""
        request = self.user_text.strip() or "(the user's last words)"
        out = [{"type": "microturn.card", "kind": "delegation", "t": t, "text": request}]
        if not self.tools:
            return out
        name = next(
            (x.get("name") for x in self.tools if x.get("name") == "delegate"),
            self.tools[0].get("name", "delegate"),
        )
        opened = self.resp is None
        if opened:  # a response of its own, holding only the call
            self.resp = _Response(self._id("resp"), self._id("item"))
            out.append(
                {
                    "type": "response.created",
                    "response": wire.response(self.resp.id, "in_progress", []),
                }
            )
        r, iid, call = self.resp, self._id("item"), self._id("call")
        args = json.dumps({"request": request, "t": t})
        idx = len(r.outputs) if not opened else 0
        at = {"response_id": r.id, "item_id": iid, "output_index": idx, "call_id": call}
        done = wire.call_item(iid, call, name, args, "completed")
        out += [
            {
                "type": "response.output_item.added",
                "response_id": r.id,
                "output_index": idx,
                "item": wire.call_item(iid, call, name, "", "in_progress"),
            },
            {"type": "response.function_call_arguments.delta", **at, "delta": args},
            {
                "type": "response.function_call_arguments.done",
                **at,
                "name": name,
                "arguments": args,
            },
            {
                "type": "response.output_item.done",
                "response_id": r.id,
                "output_index": idx,
                "item": done,
            },
        ]
        if opened:
            self.resp = None
            out.append(
                {"type": "response.done", "response": wire.response(r.id, "completed", [done])}
            )
        else:
            r.outputs.append(done)
        return out

    # --- the user's side --------------------------------------------------------------------
    def _user(self, heard: list) -> list[dict]:
        out = []
        if heard:
            if self.user_item is None:
                self.user_item, self.user_text = self._id("item"), ""
                if self.resp is not None:
                    self.resp.barged = True
                out.append(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(heard[0].t * 1000),
                        "item_id": self.user_item,
                    }
                )
            for e in heard:
                self.user_text += e.text
                self.user_last_t = e.t
                out.append(
                    {
                        "type": "conversation.item.input_audio_transcription.delta",
                        "item_id": self.user_item,
                        "content_index": 0,
                        "delta": e.text,
                    }
                )
            self.user_quiet = 0
        elif self.user_item is not None:
            self.user_quiet += 1
            if self.user_quiet >= self.cfg.user_release_ticks:
                iid, self.user_item = self.user_item, None
                end_ms = int((self.user_last_t + 0.3) * 1000)
                out += [
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": end_ms,
                        "item_id": iid,
                    },
                    {
                        "type": "conversation.item.input_audio_transcription.completed",
                        "item_id": iid,
                        "content_index": 0,
                        "transcript": self.user_text.strip(),
                        "usage": {"type": "duration", "seconds": round(self.user_last_t, 3)},
                    },
                ]
        return out
