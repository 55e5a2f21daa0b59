"""The Realtime wire: client events parsed and checked, server events built, pcm16 coded.

Client events arrive as JSON text frames `{"type": ..., "event_id"?: ..., ...}`; `parse`
returns a `ClientEvent` or raises `WireError`, which the server turns into an `error` event
(the connection goes on). Server events are plain dicts in the GA shapes of the `openai`
SDK's `openai/types/realtime/` models; the connection stamps their `event_id` when it sends
them. Audio on the wire is base64 pcm16 little-endian mono at `WIRE_RATE` (24 kHz).
Supported events and every deviation from the standard: docs/realtime.md.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

import numpy as np

WIRE_RATE = 24000  # audio/pcm, the only format the GA protocol gives a rate for

# what a client may send; anything else is an `unknown_event` error
CLIENT_EVENTS = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.clear",
    "input_audio_buffer.commit",
    "response.create",
    "response.cancel",
    "conversation.item.create",
    "conversation.item.truncate",
    "microturn.input_video_frame.append",
)


class ServeError(ValueError):
    """A server or client that cannot start or connect: a one-line message for the user."""


class WireError(ValueError):
    """A client event the server cannot take: becomes an `error` event, nothing else changes."""

    def __init__(self, code: str, message: str, event_id: str | None = None, param: str = ""):
        super().__init__(message)
        self.code, self.message, self.event_id, self.param = code, message, event_id, param


@dataclass(frozen=True)
class ClientEvent:
    type: str
    event_id: str | None
    body: dict


def parse(frame: str | bytes) -> ClientEvent:
    """One text frame -> a ClientEvent of a known type (its fields are checked by its handler)."""
    if isinstance(frame, bytes):
        raise WireError("invalid_frame", "binary frames are not supported: send JSON text")
    try:
        body = json.loads(frame)
    except (json.JSONDecodeError, RecursionError) as e:
        raise WireError("invalid_json", f"not JSON: {str(e)[:80]}") from None
    if not isinstance(body, dict):
        raise WireError("invalid_event", "an event is a JSON object with a 'type'")
    eid = body.get("event_id")
    eid = eid if isinstance(eid, str) else None
    kind = body.get("type")
    if not isinstance(kind, str):
        raise WireError("invalid_event", "an event needs a string 'type'", eid, "type")
    if kind not in CLIENT_EVENTS:
        raise WireError("unknown_event", f"unknown or unsupported event type {kind[:60]!r}", eid)
    return ClientEvent(kind, eid, body)


def field(ev: ClientEvent, name: str, kind: type | tuple, required: bool = True):
    """ev.body[name] if it is a `kind`, else a WireError naming the field."""
    v = ev.body.get(name)
    if v is None and not required:
        return None
    if not isinstance(v, kind) or isinstance(v, bool) and kind is not bool:
        want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise WireError("invalid_value", f"{ev.type}: '{name}' must be a {want}", ev.event_id, name)
    return v


def check_format(fmt, ev: ClientEvent, param: str) -> dict:
    """A session's audio format: only audio/pcm at 24 kHz (the model's own rate is inside)."""
    if fmt is None:
        return {"type": "audio/pcm", "rate": WIRE_RATE}
    if not isinstance(fmt, dict):
        raise WireError("invalid_value", f"{param} must be an object", ev.event_id, param)
    if fmt.get("type", "audio/pcm") != "audio/pcm" or fmt.get("rate", WIRE_RATE) != WIRE_RATE:
        raise WireError(
            "unsupported_format",
            f"{param}: only audio/pcm at {WIRE_RATE} Hz is supported, got {json.dumps(fmt)[:80]}",
            ev.event_id,
            param,
        )
    return {"type": "audio/pcm", "rate": WIRE_RATE}


# --- audio ---------------------------------------------------------------------------------
def decode_pcm16(b64, ev: ClientEvent) -> np.ndarray:
    """base64 pcm16 LE -> float32 (n,) in [-1, 1]."""
    if not isinstance(b64, str):
        raise WireError("invalid_value", "'audio' must be a base64 string", ev.event_id, "audio")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise WireError(
            "invalid_audio", "'audio' is not valid base64", ev.event_id, "audio"
        ) from None
    if len(raw) % 2:
        raise WireError(
            "invalid_audio", "pcm16 audio has an even number of bytes", ev.event_id, "audio"
        )
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0


def encode_pcm16(x: np.ndarray) -> str:
    """float32 (n,) -> base64 pcm16 LE (clipped)."""
    y = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype("<i2")
    return base64.b64encode(y.tobytes()).decode("ascii")


# --- server events -------------------------------------------------------------------------
def error(code: str, message: str, event_id: str | None = None, param: str = "") -> dict:
    kind = "invalid_request_error" if code != "server_error" else "server_error"
    e = {"type": kind, "code": code, "message": message, "event_id": event_id}
    if param:
        e["param"] = param
    return {"type": "error", "error": e}


def session_object(sid: str, model: str, conf: dict) -> dict:
    """The session as `session.created` / `session.updated` carry it."""
    fmt = {"type": "audio/pcm", "rate": WIRE_RATE}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": sid,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": conf.get("instructions", ""),
        "tools": conf.get("tools", []),
        "tool_choice": "auto",
        "audio": {
            "input": {"format": fmt, "turn_detection": None, "transcription": None},
            "output": {"format": fmt, "voice": "microturn"},
        },
    }


def response(rid: str, status: str, output: list, reason: str | None = None) -> dict:
    r = {
        "object": "realtime.response",
        "id": rid,
        "status": status,
        "output": output,
        "output_modalities": ["audio"],
        "conversation_id": "conv_default",
    }
    if status in ("cancelled", "incomplete"):
        r["status_details"] = {"type": status, "reason": reason}
    return r


def assistant_item(iid: str, status: str, transcript: str | None = None) -> dict:
    content = [] if transcript is None else [{"type": "output_audio", "transcript": transcript}]
    return {
        "id": iid,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def call_item(iid: str, call_id: str, name: str, args: str, status: str) -> dict:
    return {
        "id": iid,
        "object": "realtime.item",
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": args,
        "status": status,
    }
