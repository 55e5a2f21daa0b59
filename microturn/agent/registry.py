"""Agents by name: the `--agent tools|llm` choice of `microturn run` (and a server)."""

from __future__ import annotations

from microturn.agent.dispatcher import Dispatcher

AGENTS = ("tools", "llm")


def dispatcher(
    kind: str, url: str | None = None, model: str | None = None, timeout_s: float = 30.0
) -> Dispatcher:
    """A dispatcher running the named agent; ValueError for an unknown name or missing
    LLM settings."""
    if kind == "tools":
        from microturn.agent.tool_agent import ToolAgent

        return Dispatcher(ToolAgent(), timeout_s=timeout_s)
    if kind == "llm":
        from microturn.agent.llm_agent import LLMAgent, LLMConfig

        return Dispatcher(LLMAgent(LLMConfig(url or "", model or "")), timeout_s=timeout_s)
    raise ValueError(f"unknown agent {kind!r}; known: {', '.join(AGENTS)}")
