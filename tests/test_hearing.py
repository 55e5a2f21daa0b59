"""The agent hears the request: the package carries the request's stretch of the user's
audio, a real recogniser (Whisper tiny.en) hears it in the worker thread, and the tool agent
acts on what it heard, not on the transcript head's garbled words; a recogniser that fails
leaves the transcript's words, with a logged error."""

import logging

import numpy as np
import pytest

from microturn.agent import context
from microturn.agent.dispatcher import Dispatcher
from microturn.agent.hearing import RECOGNISER, Hearing
from microturn.agent.link import AgentLink
from microturn.agent.tool_agent import ToolAgent
from microturn.runtime.driver import Driver
from microturn.runtime.engine import Engine
from microturn.runtime.events import AgentCall, AgentResult, ModelText, UserText
from microturn.tokenizer import DELEGATE, PAD

SR = context.SAMPLE_RATE


def test_the_request_audio_starts_before_its_first_heard_word():
    lines = (
        context.Line("user", 0.4, 1.0, "hi"),
        context.Line("model", 1.4, 2.0, "hello"),
        context.Line("user", 3.0, 4.2, "what is two plus two"),
    )
    audio = np.arange(10 * SR, dtype=np.float32)  # kept from t = 1.0 s to 11.0 s
    t0, a = context.request_audio(lines, (3.0, 4.2), 5.0, 1.0, audio)
    assert t0 == 2.0 and a[0] == SR * 1.0 and len(a) == 9 * SR  # to the end of what was kept
    # no request heard: from the end of the model's last line
    t0, a = context.request_audio(lines[:2], (0.0, 0.0), 5.0, 1.0, audio)
    assert t0 == 2.0
    # never more than REQUEST_MAX_S before the delegation, never before what was kept
    t0, _ = context.request_audio((), (0.0, 0.0), 20.0, 1.0, audio)
    assert t0 == 20.0 - context.REQUEST_MAX_S
    t0, a = context.request_audio((), (0.0, 0.0), 5.0, 1.0, audio)
    assert t0 == 1.0 and len(a) == len(audio)


def test_the_package_json_leaves_the_audio_out():
    ev = [UserText(1.0, " what"), UserText(1.2, " time"), ModelText(3.0, " one moment")]
    ctx = context.build("s", ev, 3.2, heard=(0.0, np.zeros(4 * SR, np.float32)))
    assert ctx.audio is not None and ctx.audio_t0 == 0.0
    d = ctx.to_json()
    assert "audio" not in d and "audio_t0" not in d
    assert d["heard_by"] == "transcript" and d["request"] == "what time"


def spoken_session(model, words, garbled):
    """A session that hears `words` spoken by espeak-ng while its transcript holds `garbled`,
    and delegates at the tick after the speech ends."""
    from microturn.synth import Voice, synthesize

    speech = synthesize(words, Voice("espeak", "en-us", rate=0.9)).audio
    n = 3200
    audio = np.concatenate([np.zeros(n, np.float32), speech, np.zeros(6 * n, np.float32)])
    audio = np.pad(audio, (0, -len(audio) % n))
    end = (n + len(speech)) / SR
    engine = Engine(model, slots=1)
    d = Driver(engine)
    s = d.open(seed=0)
    tokens = [PAD] * 4000
    tokens[4 * (int(end / 0.2) + 2)] = DELEGATE
    s.script = {"tokens": tokens}
    s.events += [UserText(0.3 + 0.15 * i, " " + w) for i, w in enumerate(garbled.split())]
    return d, s, audio.reshape(-1, n)


def drive_until_result(d, s, link, chunks):
    for c in chunks:
        d.push(s, c)
        d.tick()
        link.dispatcher.settle(5.0)
        link.after_tick()
    for _ in range(50):
        if [e for e in s.events if isinstance(e, AgentResult)]:
            break
        d.push(s, np.zeros(3200, np.float32))
        d.tick()
        link.dispatcher.settle(5.0)
        link.after_tick()
    return [e for e in s.events if isinstance(e, AgentResult)]


def test_the_agent_hears_the_request_it_was_given_garbled(deaf_model):
    pytest.importorskip("faster_whisper")
    words = "what is thirty seven times twenty four"
    d, s, chunks = spoken_session(deaf_model, words, "what is dirty seven tines twenty for")
    link = AgentLink(Dispatcher(Hearing(ToolAgent())), s, d.engine.tok)
    assert s.heard is not None  # the session keeps what it hears for this agent
    (r,) = drive_until_result(d, s, link, chunks)
    (call,) = [e for e in s.events if isinstance(e, AgentCall)]
    assert call.request == "what is dirty seven tines twenty for"  # the transcript's
    assert (r.status, r.text) == ("ok", "eight hundred eighty eight"), r
    assert "thirty seven" in r.request and "twenty four" in r.request  # what it heard
    link.close()
    assert s.heard is None


def test_without_hearing_the_garbled_words_are_all_it_has(deaf_model):
    d, s, chunks = spoken_session(deaf_model, "what is thirty seven times twenty four",
                                  "what is dirty seven tines twenty for")  # fmt: skip
    link = AgentLink(Dispatcher(ToolAgent()), s, d.engine.tok)
    assert s.heard is None
    (r,) = drive_until_result(d, s, link, chunks)
    assert r.text != "eight hundred eighty eight" and r.request.startswith("what is dirty")


def test_a_failing_recogniser_leaves_the_transcript_and_logs(deaf_model, caplog):
    def broken(audio):
        raise RuntimeError("no recogniser here")

    d, s, chunks = spoken_session(deaf_model, "what is thirty seven times twenty four",
                                  "what is thirty seven times twenty four")  # fmt: skip
    link = AgentLink(Dispatcher(Hearing(ToolAgent(), recognise=broken)), s, d.engine.tok)
    with caplog.at_level(logging.ERROR, logger="microturn.agent"):
        (r,) = drive_until_result(d, s, link, chunks)
    assert (r.status, r.text) == ("ok", "eight hundred eighty eight")
    assert "the recogniser failed" in caplog.text and "no recogniser here" in caplog.text


def test_registry_hears_when_asked():
    pytest.importorskip("faster_whisper")
    from microturn.agent.registry import dispatcher

    assert not isinstance(dispatcher("tools").agent, Hearing)  # the default: the transcript
    assert isinstance(dispatcher("tools", hearing="whisper").agent, Hearing)
    with pytest.raises(ValueError, match="unknown hearing"):
        dispatcher("tools", hearing="telepathy")
    assert RECOGNISER.startswith("whisper")


def test_the_agent_hears_with_the_prompt_and_a_beam(monkeypatch):
    """The agent's ears: the prompt and a beam of `BEAM` (the judge of intelligibility
    decodes greedily, `eval/asr.py`)."""
    import microturn.eval.asr as asr
    from microturn.agent import hearing

    got = {}

    def spy(audio, sample_rate, prompt=None, beam_size=1):
        got.update(rate=sample_rate, prompt=prompt, beam=beam_size)
        return "two plus two"

    monkeypatch.setattr(asr, "transcribe", spy)
    assert hearing._transcribe(np.zeros(SR, np.float32)) == "two plus two"
    assert got == {"rate": SR, "prompt": hearing.prompt(), "beam": hearing.BEAM}
    assert hearing.BEAM > 1


def test_the_prompt_names_what_the_knowledge_base_knows_and_fits_the_recogniser():
    pytest.importorskip("faster_whisper")
    from microturn.agent.hearing import NAMED, PROMPT_TOKENS, prompt
    from microturn.agent.knowledge import facts
    from microturn.eval.asr import _whisper

    p = prompt()
    named = [f["name"] for f in facts() if f["id"].startswith(NAMED)]
    assert len(named) >= 40 and all(n.removeprefix("the ") in p for n in named)
    # Whisper keeps only a prompt's last tokens: the whole of it must be read
    assert len(_whisper().hf_tokenizer.encode(" " + p).ids) <= PROMPT_TOKENS
