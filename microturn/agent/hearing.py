"""The background agent hears the request: a recogniser on the user's own audio.

The context package's `request` is the interaction model's transcript head, which keeps the
rhythm of held-out voices but garbles their words ("can you starts a for twenty two minutes
please" for a timer), and a tool agent acting on such words fetches the wrong thing. A
background model has time the tick has not, so here it listens itself: `Hearing(agent)` runs
a speech recogniser (Whisper tiny.en, `eval/asr.py`) on the request's stretch of the user's
audio, which the session kept (`context.request_audio`), in the agent's worker thread, and
hands the agent a package whose `request` is what it heard (`heard_by` names the
recogniser). The recogniser is prompted with the tools' requests and the knowledge base's
names (`prompt`). Nothing of this runs in the tick.

The transcript's request stays the fallback: no audio kept, too little of it, a recogniser
that hears nothing or fails (logged on `microturn.agent`; the job goes on). It is not the
default (`--agent-hearing whisper`): the recogniser needs a core of its own, or it slows the
tick (docs/agent.md).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import lru_cache

import numpy as np

from microturn.agent.context import SAMPLE_RATE
from microturn.agent.job import Agent, Job

log = logging.getLogger("microturn.agent")

MIN_AUDIO_S = 0.3  # less user audio than this is no request to hear
RECOGNISER = "whisper-tiny.en"
# how requests to the tools are said: the first part of the recogniser's prompt (`prompt`)
REQUESTS = (
    "Calculate seventy seven times thirty one. Four hundred fifty divided by eighteen. Put a "
    "timer on for twenty minutes. How tall is it? How long is the river?"
)
NAMED = ("landmark:", "river:")  # the knowledge base's facts whose names the prompt says
PROMPT_TOKENS = 223  # Whisper reads at most this many tokens of a prompt (the last ones)
# the recogniser's beam: the likeliest of five running hypotheses, not greedy (T7 requests of
# scenarios 0-199 per split, dev and test: 177 of 400 answered right against 157 greedy;
# wrong results 43 against 40; docs/RESULTS.md §8)
BEAM = 5

_lock = threading.Lock()  # one recognition at a time: one recogniser process, on 1 thread
_pool: ProcessPoolExecutor | None = None
NICE = 19  # the recogniser's priority: the tick's threads come first


def _lowly() -> None:
    os.nice(NICE)


@lru_cache(maxsize=1)
def prompt() -> str:
    """What the recogniser reads as said before each request: how requests to the tools go
    and the names of the knowledge base's landmarks and rivers, so that it hears "the
    yangtze river" and not "the young to see me". T7 requests (Whisper tiny.en on the
    request's audio to 0.1 s after its end; right: the tool agent's answer holds the
    scripted result): dev, 100 scenarios, 41 right against 32 without it; test, 100
    held-out scenarios, 42 against 31 (67 with the true words; 33 ask the weather, which no
    tool here knows). docs/RESULTS.md §8."""
    from microturn.agent.knowledge import facts

    names = sorted({f["name"].removeprefix("the ") for f in facts() if f["id"].startswith(NAMED)})
    return f"{REQUESTS} {', '.join(names)}."


def _transcribe(audio: np.ndarray) -> str:
    from microturn.eval.asr import transcribe

    return transcribe(audio, SAMPLE_RATE, prompt=prompt(), beam_size=BEAM)


def whisper(audio: np.ndarray) -> str:
    """16 kHz float audio -> lower-case words (Whisper tiny.en, beam `BEAM`, int8), in a process of
    its own at the lowest priority: it shares no interpreter lock with the tick and takes
    only the CPU the tick leaves."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(1, multiprocessing.get_context("spawn"), _lowly)
    return _pool.submit(_transcribe, np.asarray(audio, np.float32)).result()


def warm() -> None:
    """Load the recogniser now (a server, a benchmark: not on the first request)."""
    whisper(np.zeros(SAMPLE_RATE // 2, np.float32))


class Hearing:
    """An agent that hears the request before `agent` acts on it."""

    hears = True

    def __init__(self, agent: Agent, recognise: Callable[[np.ndarray], str] = whisper):
        self.agent, self.recognise = agent, recognise
        self.name = agent.name

    def run(self, job: Job) -> str | None:
        ctx = job.context
        audio = ctx.audio
        if audio is not None and len(audio) >= MIN_AUDIO_S * SAMPLE_RATE:
            words = ""
            with _lock:  # a job cancelled while it waited here is not heard
                if not job.cancelled.is_set():
                    try:
                        words = self.recognise(audio).strip()
                    except Exception as e:  # the transcript's words are still there
                        log.error("job %s: the recogniser failed: %s: %s", job.id,
                                  type(e).__name__, e)  # fmt: skip
            if words and not job.cancelled.is_set():
                job.context = replace(ctx, request=words, heard_by=RECOGNISER)
        return self.agent.run(job)
