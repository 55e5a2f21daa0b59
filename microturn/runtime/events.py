"""What a session reports, on the conversation clock: typed events and their JSON lines.

Every event has `t`, seconds since the session started, and a `kind`; `to_json()` gives the
line written to `events.jsonl` (format: `docs/events.md`), the form the benchmark's scorer
reads from every system, ours or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True)
class ModelText:
    """A piece of the model's own text stream, at the time its voice says it (the text leads
    the audio by `TrainConfig.text_lead` slots)."""

    t: float
    text: str
    kind: ClassVar[str] = "model_text"

    def to_json(self) -> dict:
        return {"t": self.t, "kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class UserText:
    """A piece of the user's streaming transcript, at the time the user said it (the
    transcript head names a word `TrainConfig.transcript_lag` slots late)."""

    t: float
    text: str
    kind: ClassVar[str] = "user_text"

    def to_json(self) -> dict:
        return {"t": self.t, "kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class Delegation:
    """The model emitted `<delegate>`: it hands the request to a background agent."""

    t: float
    kind: ClassVar[str] = "delegation"

    def to_json(self) -> dict:
        return {"t": self.t, "kind": self.kind}


@dataclass(frozen=True)
class ToolResult:
    """Side text (a tool result, a typed note) entered the model's input text stream."""

    t: float
    text: str
    kind: ClassVar[str] = "tool_result"

    def to_json(self) -> dict:
        return {"t": self.t, "kind": self.kind, "text": self.text}


Event = ModelText | UserText | Delegation | ToolResult


def write_jsonl(events: list[Event], path: str | Path) -> None:
    """Events in time order (stable), one JSON object per line."""
    lines = (json.dumps(e.to_json()) + "\n" for e in sorted(events, key=lambda e: e.t))
    Path(path).write_text("".join(lines))
