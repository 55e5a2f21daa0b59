"""The LLM agent: any OpenAI-compatible chat-completions endpoint, through the official
`openai` client, with the tools of `tools.py` offered as function tools.

    microturn run IN.wav --agent llm --agent-url http://127.0.0.1:8080/v1 --agent-model NAME

The key comes from `$MICROTURN_AGENT_KEY` (else `$OPENAI_API_KEY`, else a placeholder, which
local servers accept). A job sends the context package and the request, streams the answer
and says it sentence by sentence as it arrives (`job.say`), runs the tool calls the model
makes (arguments checked against each tool's schema; a refused call goes back to the model as
an error message) for up to `max_rounds` rounds (when the model adds nothing to a tool's
result, that result is the answer), and retries a connection failure, timeout,
rate limit or server error with exponential backoff before anything of that round was said.
Each request has its own timeout; the dispatcher's timeout bounds the whole job.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass

from microturn.agent import tools
from microturn.agent.job import Job
from microturn.agent.speech import speakable

log = logging.getLogger("microturn.agent")

SYSTEM = (
    "You are the background model of a spoken assistant. The interaction model talking with "
    "the user handed you the request below, with the conversation so far as JSON. Use the "
    "tools for arithmetic, the time, timers, unit conversion and facts. Answer in one or two "
    "short plain sentences that can be read aloud: no lists, no markdown."
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class LLMConfig:
    url: str
    model: str
    timeout_s: float = 20.0  # one request
    retries: int = 2
    backoff_s: float = 0.5  # the first retry's wait; doubled each time
    max_tokens: int = 160
    max_rounds: int = 3  # model turns (tool calls, then the answer)
    temperature: float = 0.2
    # "auto", "none", "required" (where the server supports it), or a tool's name: that tool
    # is called in the first round (later rounds are "auto")
    tool_choice: str = "auto"

    def __post_init__(self) -> None:
        if not self.url or not self.model:
            raise ValueError("the LLM agent needs --agent-url and --agent-model")
        if self.timeout_s <= 0 or self.retries < 0 or self.backoff_s < 0 or self.max_rounds < 1:
            raise ValueError(f"bad LLM agent settings: {self}")


class Cancelled(Exception):
    """The job was cancelled while the endpoint was streaming."""


class LLMAgent:
    name = "llm"

    def __init__(self, cfg: LLMConfig, toolbox: dict[str, tools.Tool] | None = None):
        from openai import OpenAI

        key = os.environ.get("MICROTURN_AGENT_KEY") or os.environ.get("OPENAI_API_KEY") or "none"
        # retries are ours (backoff that a cancel interrupts), not the client's
        self.client = OpenAI(base_url=cfg.url, api_key=key, timeout=cfg.timeout_s, max_retries=0)
        self.cfg = cfg
        self.toolbox = toolbox if toolbox is not None else tools.TOOLS

    def messages(self, job: Job) -> list[dict]:
        ctx = job.context
        user = (
            f"Conversation so far (JSON): {json.dumps(ctx.to_json())}\n\n"
            f"Request: {ctx.request or '(no words heard)'}"
        )
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

    def run(self, job: Job) -> str | None:
        msgs = self.messages(job)
        specs = [t.openai() for t in self.toolbox.values()]
        tool_said = ""  # the last tool result: the answer if the model adds nothing to it
        for i in range(self.cfg.max_rounds):
            text, calls = self._round(job, msgs, specs, self._choice(i))
            if not calls:
                return text or (tool_said if not job.said else "")
            # content "" rather than None: some servers' schemas want a string
            msgs.append({"role": "assistant", "content": "", "tool_calls": calls})
            for c in calls:
                said = self._call(job, c)
                tool_said = tool_said if said.startswith("error:") else said
                msgs.append({"role": "tool", "tool_call_id": c["id"], "content": said})
        raise RuntimeError(f"no answer after {self.cfg.max_rounds} rounds of tool calls")

    def _choice(self, round: int) -> str | dict:
        c = self.cfg.tool_choice
        if c in ("auto", "none", "required"):
            return c
        return {"type": "function", "function": {"name": c}} if round == 0 else "auto"

    def _call(self, job: Job, c: dict) -> str:
        """Run one tool call; its result (or why it was refused) as the tool message."""
        name = c["function"]["name"]
        try:
            args = json.loads(c["function"]["arguments"] or "{}")
            out = tools.call(name, args, self.toolbox)
        except (json.JSONDecodeError, tools.ToolError) as e:
            log.warning("job %s: tool call %s refused: %s", job.id, name, e)
            return f"error: {e}"
        log.info("job %s: tool %s(%s) -> %s", job.id, name, json.dumps(args), out.text)
        for later in out.later:
            job.later(later.delay_s, later.text)
        return out.text

    def _round(
        self, job: Job, msgs: list[dict], specs: list[dict], choice: str | dict
    ) -> tuple[str, list[dict]]:
        """One streamed completion, retried with backoff until something was said; returns
        (its text not yet said, its tool calls)."""
        import openai

        transient = (
            openai.APIConnectionError,  # includes APITimeoutError
            openai.RateLimitError,
            openai.InternalServerError,
        )
        for attempt in range(self.cfg.retries + 1):
            said = [0]
            try:
                return self._stream(job, msgs, specs, choice, said)
            except transient as e:
                if said[0] or attempt == self.cfg.retries:
                    raise
                wait = self.cfg.backoff_s * 2**attempt
                log.warning("job %s: %s; retry %d in %.2f s", job.id, type(e).__name__,
                            attempt + 1, wait)  # fmt: skip
                if job.cancelled.wait(wait):
                    raise Cancelled() from None
        raise AssertionError("unreachable")

    def _stream(self, job: Job, msgs, specs, choice, said: list[int]):
        kw = {"tools": specs, "tool_choice": choice} if specs else {}
        stream = self.client.chat.completions.create(
            model=self.cfg.model,
            messages=msgs,
            stream=True,
            max_tokens=self.cfg.max_tokens,
            temperature=self.cfg.temperature,
            **kw,
        )
        text, calls = "", {}
        with stream:
            for chunk in stream:
                if job.cancelled.is_set():
                    raise Cancelled()
                if not chunk.choices:
                    continue
                d = chunk.choices[0].delta
                for tc in d.tool_calls or []:
                    fresh = {"name": "", "arguments": ""}
                    c = calls.setdefault(
                        tc.index, {"id": "", "type": "function", "function": fresh}
                    )
                    c["id"] = tc.id or c["id"] or f"call_{tc.index}"
                    if tc.function is not None:
                        f, name = c["function"], tc.function.name or ""
                        # names may come in pieces, or whole in every chunk (llama.cpp's server)
                        f["name"] += "" if name == f["name"] else name
                        f["arguments"] += tc.function.arguments or ""
                text += d.content or ""
                if not calls:  # an answer: say each sentence as it completes
                    *done, text = _SENTENCE_END.split(text)
                    for sentence in done:
                        job.say(speakable(sentence))
                        said[0] += 1
        return speakable(text), [calls[i] for i in sorted(calls)]
