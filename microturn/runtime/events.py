"""What a session reports, on the conversation clock: typed events and their JSON lines.

Every event has `t`, seconds since the session started, and a `kind`; `to_json()` gives the
line written to `events.jsonl` (format: `docs/events.md`), the form the benchmark's scorer
reads from every system, ours or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True)
class _Timed:
    t: float
    kind: ClassVar[str]

    def to_json(self) -> dict:
        """{"t", "kind", then the event's own fields}: its `events.jsonl` line."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "t"}
        return {"t": self.t, "kind": self.kind, **own}


@dataclass(frozen=True)
class ModelText(_Timed):
    """A piece of the model's own text stream, at the time its voice says it (the text leads
    the audio by `TrainConfig.text_lead` slots)."""

    text: str
    kind: ClassVar[str] = "model_text"


@dataclass(frozen=True)
class UserText(_Timed):
    """A piece of the user's streaming transcript, at the time the user said it (the
    transcript head names a word `TrainConfig.transcript_lag` slots late)."""

    text: str
    kind: ClassVar[str] = "user_text"


@dataclass(frozen=True)
class Delegation(_Timed):
    """The model emitted `<delegate>`: it hands the request to a background agent."""

    kind: ClassVar[str] = "delegation"


@dataclass(frozen=True)
class ToolResult(_Timed):
    """Side text (a tool result, a typed note) entered the model's input text stream."""

    text: str
    kind: ClassVar[str] = "tool_result"


@dataclass(frozen=True)
class AgentCall(_Timed):
    """A delegation handed to a background agent (`microturn/agent/`): its job id, the
    agent's name and the user's words that asked for it (the context package's request)."""

    job: str
    agent: str
    request: str
    kind: ClassVar[str] = "agent_call"


@dataclass(frozen=True)
class AgentResult(_Timed):
    """A background agent's result entering the side text, at the tick it arrived: `status`
    ok | partial | later | failed | timeout | cancelled; a failure's `text` is the short
    failure result the model can say, its `error` what went wrong, `request` the words the
    agent acted on (the package's, or what an agent that hears heard: `agent/hearing.py`)."""

    job: str
    status: str
    text: str
    error: str = ""
    request: str = ""
    kind: ClassVar[str] = "agent_result"


Event = ModelText | UserText | Delegation | ToolResult | AgentCall | AgentResult


def write_jsonl(events: list[Event], path: str | Path) -> None:
    """Events in time order (stable), one JSON object per line."""
    lines = (json.dumps(e.to_json()) + "\n" for e in sorted(events, key=lambda e: e.t))
    Path(path).write_text("".join(lines))
