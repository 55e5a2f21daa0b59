"""Agents by name: the `--agent tools|llm` choice of `microturn run` (and a server), and how
they hear the request: `--agent-hearing whisper|transcript`."""

from __future__ import annotations

import importlib.util

from microturn.agent.dispatcher import Dispatcher

AGENTS = ("tools", "llm")
HEARINGS = ("transcript", "whisper")  # the first is the default (docs/agent.md: its cost)


def dispatcher(
    kind: str,
    url: str | None = None,
    model: str | None = None,
    timeout_s: float = 30.0,
    hearing: str = HEARINGS[0],
) -> Dispatcher:
    """A dispatcher running the named agent; `hearing` "whisper": it hears the request's
    audio itself (`hearing.py`), "transcript": it reads the model's transcript head.
    ValueError for an unknown name, missing LLM settings or a recogniser not installed."""
    if hearing not in HEARINGS:
        raise ValueError(f"unknown hearing {hearing!r}; known: {', '.join(HEARINGS)}")
    if kind == "tools":
        from microturn.agent.tool_agent import ToolAgent

        agent = ToolAgent()
    elif kind == "llm":
        from microturn.agent.llm_agent import LLMAgent, LLMConfig

        agent = LLMAgent(LLMConfig(url or "", model or ""))
    else:
        raise ValueError(f"unknown agent {kind!r}; known: {', '.join(AGENTS)}")
    if hearing == "whisper":
        if importlib.util.find_spec("faster_whisper") is None:
            raise ValueError("an agent that hears needs the recogniser: pip install -e .[agent]")
        from microturn.agent.hearing import Hearing

        agent = Hearing(agent)
    return Dispatcher(agent, timeout_s=timeout_s)
