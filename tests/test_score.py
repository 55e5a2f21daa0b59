"""The scorer on synthetic outputs with known onsets and offsets: exact expected metrics."""

import numpy as np
import pytest

from microturn.bench import vad
from microturn.bench.score import Output, mcnemar, score, summarize, wilson
from microturn.timeline import Expect, Timeline

SR = 16_000


def audio(spans, dur=10.0, level=0.1):
    """Tone bursts (440 Hz) at the given (on, off) seconds, silence elsewhere."""
    x = np.zeros(int(dur * SR), np.float32)
    for a, b in spans:
        t = np.arange(int(a * SR), int(b * SR))
        x[t] = level * np.sin(2 * np.pi * 440 * t / SR)
    return x


def out(spans, texts=(), events=(), dur=10.0):
    ev = [{"t": t, "kind": "model_text", "text": w} for t, w in texts] + list(events)
    return Output.read(audio(spans, dur), ev)


def tl(expect, act=True, family="turn"):
    return Timeline("x", family, "c", act, "test", 10.0, [], expect)


def test_vad_finds_exact_segments_merges_short_gaps_and_drops_blips():
    x = audio([(1.0, 1.5), (1.8, 2.4), (4.0, 4.03), (6.0, 7.0)])
    # 0.3 s gap merged (<= 0.35 s); a 30 ms blip dropped (< 60 ms)
    assert vad.segments(x) == [(1.0, 2.4), (6.0, 7.0)]
    assert vad.segments(audio([(1.0, 1.5), (1.9, 2.4)])) == [(1.0, 1.5), (1.9, 2.4)]
    assert vad.segments(np.zeros(SR, np.float32)) == []


def test_speak_onset_latency_is_signed_and_early_onsets_fail():
    want = [Expect("speak", 2.8, 4.5, "twenty four", {"ref": 3.0})]
    on_time = score(tl(want), out([(3.4, 4.4)], [(3.35, " twenty"), (3.6, " four")]))
    assert on_time["pass"] is True and on_time["latencies"] == [0.4]
    wrong = score(tl(want), out([(3.4, 4.4)], [(3.35, " twelve")]))
    assert wrong["timing_pass"] is True and wrong["pass"] is False  # right time, wrong words
    early = score(tl(want), out([(2.5, 3.6)]))
    assert early["pass"] is False and early["latencies"] == [-0.5]  # not clipped to 0
    late = score(tl(want), out([(4.8, 5.5)]))
    assert late["pass"] is False and late["latencies"] == [1.8]
    assert score(tl(want), out([]))["pass"] is False


def test_a_response_in_a_pause_fails_the_silent_window_and_so_the_scenario():
    want = [Expect("silent", 2.0, 3.2), Expect("speak", 4.8, 6.5, "", {"ref": 5.0})]
    good = score(tl(want, act=False), out([(5.3, 6.0)]))
    assert good["pass"] is True
    took = score(tl(want, act=False), out([(2.6, 3.5), (5.3, 6.0)]))
    # the takeover is the first onset after the turn began: the final reply is judged early
    assert [j["passed"] for j in took["judgements"]] == [False, False]
    assert took["pass"] is False
    # a backchannel in the pause is allowed
    bc = score(tl(want, act=False), out([(2.4, 2.8), (5.3, 6.0)], [(2.4, " yeah")]))
    assert bc["pass"] is True


def test_stop_continue_and_not_applicable():
    stop = [Expect("stop", 5.0, 5.5)]
    assert score(tl(stop), out([(2.0, 5.4)]))["pass"] is True
    assert score(tl(stop), out([(2.0, 5.7)]))["pass"] is False
    assert score(tl(stop), out([(2.0, 4.0)]))["pass"] is None  # not speaking at t_i
    cont = [Expect("continue", 5.0, 6.5)]
    assert score(tl(cont), out([(2.0, 7.0)]))["pass"] is True
    assert score(tl(cont), out([(2.0, 5.4), (6.0, 7.0)]))["pass"] is False  # a 0.6 s gap
    assert score(tl(cont), out([(2.0, 5.5)]))["pass"] is False  # stopped


def test_text_rules_delegate_count_and_values():
    d = [Expect("delegate", 3.0, 5.0, "calculator")]
    assert score(tl(d), out([], events=[{"t": 3.5, "kind": "delegation"}]))["pass"] is True
    assert score(tl(d), out([], events=[{"t": 5.5, "kind": "delegation"}]))["pass"] is False
    c = [Expect("count", 1.0, 8.0, "three")]
    spans = [(1.0, 1.5), (3.0, 3.5), (5.0, 5.5)]
    said = [(1.0, " one"), (3.0, " two"), (5.0, " three")]
    assert score(tl(c), out(spans, said))["pass"] is True
    assert score(tl(c), out(spans[:2], said[:2]))["pass"] is False
    v = [Expect("silent_value", 2.0, 6.0, "eight hundred")]
    assert score(tl(v), out([(3.0, 4.0)], [(3.0, " eight"), (3.2, " hundred")]))["pass"] is False
    assert score(tl(v), out([(3.0, 4.0)], [(3.0, " eight")]))["pass"] is True


def test_summary_balanced_accuracy_and_intervals():
    rs = [{"family": "turn", "act": True, "pass": p, "latencies": [0.3]} for p in (1, 1, 1, 0)]
    rs += [{"family": "turn", "act": False, "pass": p, "latencies": []} for p in (1, 0)]
    s = summarize(rs)["turn"]
    assert s["act"]["pass"] == 0.75 and s["hold"]["pass"] == 0.5 and s["balanced"] == 0.625
    assert s["act"]["n"] == 4 and s["latency_median"] == 0.3
    lo, hi = wilson(15, 20)
    assert lo == pytest.approx(0.5313, abs=1e-4) and hi == pytest.approx(0.8881, abs=1e-4)
    assert mcnemar([True] * 10, [True] * 10) == 1.0
    assert mcnemar([True] * 10, [False] * 10) == pytest.approx(2 / 2**10)


def test_an_expected_backchannel_reply_counts_as_taking_the_turn():
    want = [Expect("speak", 2.8, 4.5, "okay", {"ref": 3.0})]
    assert score(tl(want), out([(3.3, 3.7)], [(3.3, " okay")]))["pass"] is True
    # ... but a backchannel does not answer a question
    q = [Expect("speak", 2.8, 4.5, "twenty four", {"ref": 3.0})]
    assert score(tl(q), out([(3.3, 3.7)], [(3.3, " okay")]))["pass"] is False


def test_after_a_stop_the_next_reply_is_judged_from_the_stop_window_on():
    want = [Expect("stop", 5.0, 5.5), Expect("speak", 6.3, 8.0, "", {"ref": 6.5})]
    # it spoke from 2 s, stopped at 5.3, answered the interruption at 6.8
    r = score(tl(want), out([(2.0, 5.3), (6.8, 7.5)]))
    assert r["pass"] is True and r["latencies"] == [0.3]
    # talking straight through: the stop fails, and the reply has no new onset
    r = score(tl(want), out([(2.0, 7.5)]))
    assert [j["passed"] for j in r["judgements"]] == [False, False]


def test_each_reply_is_judged_once_in_order():
    """Overlapping windows (ticks, counts): each window takes the next onset after the one
    the previous window used; a text rule over the whole stretch does not move that."""
    ticks = [Expect("speak", t - 0.6, t + 0.6, "now", {"ref": t}) for t in (2.0, 2.8, 3.6)]
    ticks.append(Expect("count", 1.0, 5.0, "three"))  # sorted first: it starts first
    spans = [(2.1, 2.3), (2.9, 3.1), (3.65, 3.85)]
    said = [(2.1, " one"), (2.9, " two"), (3.65, " three")]
    r = score(tl(ticks), out(spans, said))
    assert [j["passed"] for j in r["judgements"]] == [True, True, True, True]
    assert r["latencies"] == [0.1, 0.1, 0.05]
    # the middle tick missed: the third reply is too late for the second window, and then
    # nothing is left for the third (the count rule reads only the final number said)
    r = score(tl(ticks), out(spans[:1] + spans[2:], said[:1] + said[2:]))
    assert [j["passed"] for j in r["judgements"]] == [True, True, False, False]


def test_nothing_to_count_means_no_number_and_backchannel_variants():
    zero = [Expect("count", 1.0, 5.0, "zero")]
    assert score(tl(zero), out([]))["pass"] is True
    assert score(tl(zero), out([(2.0, 2.5)], [(2.0, " one")]))["pass"] is False
    bc = [Expect("backchannel", 2.0, 3.0)]
    assert score(tl(bc), out([(2.2, 2.6)], [(2.2, " oh"), (2.3, " yeah")]))["pass"] is True
    assert score(tl(bc), out([(2.2, 2.6)], [(2.2, " mm-hmm")]))["pass"] is True
    # a reply whose words are not given is taken by a backchannel too
    any_reply = [Expect("speak", 2.0, 3.5, "", {"ref": 2.2})]
    assert score(tl(any_reply), out([(2.4, 2.8)], [(2.4, " yeah")]))["pass"] is True


def t7(woven_on=8.5):
    """A delegation scenario as the data engine writes it: request 1-3 s, ack, the scripted
    result at 8.0 s, the woven reply expected from `woven_on`."""
    from microturn.timeline import Event

    ev = [
        Event("user", "utterance", 1.0, 3.0, "what is three hundred twelve divided by six"),
        Event("tool", "delegate", 3.4, 3.4, "calculator"),
        Event("tool", "tool_result", 8.0, 8.0, "fifty two"),
        Event("side_text", "tool_result", 8.0, 8.0, "fifty two"),
    ]
    want = [
        Expect("delegate", 3.0, 5.0, "calculator"),
        Expect("silent_value", 3.0, 8.0, "fifty two"),
        Expect("speak", woven_on, 10.0, "it is fifty two", {"woven": True, "ref": 9.0}),
    ]
    return Timeline("x", "delegate", "delegate", True, "test", 12.0, ev, want)


def agent(t, text="fifty two", status="ok"):
    return [
        {"t": 3.4, "kind": "delegation"},
        {"t": 3.4, "kind": "agent_call", "job": "x-0", "agent": "tools", "request": "r"},
        {"t": t, "kind": "agent_result", "job": "x-0", "status": status, "text": text},
    ]


def test_t7_the_reference_passes_its_acknowledgement_is_not_the_reply():
    ack, reply = (3.5, 4.2), (9.0, 10.5)
    said = [(3.5, " one"), (3.8, " moment"), (9.0, " it"), (9.2, " is"), (9.4, " fifty"),
            (9.7, " two")]  # fmt: skip
    r = score(t7(), out([ack, reply], said, [{"t": 3.4, "kind": "delegation"}], dur=12.0))
    assert r["pass"] is True
    (w,) = [j for j in r["judgements"] if j["value"] is not None]
    assert w["onset"] == 9.0 and w["value"] is True and w["result_t"] == 8.0


def test_t7_with_a_real_agent_the_windows_follow_its_result():
    """The agent answered at 4.0 s: saying the result at 4.6 is right for it (the value after
    it existed, the woven window opened then), while a system on the scripted 8.0 s result
    would have hallucinated it and replied early."""
    said = [(3.5, " one"), (3.8, " moment"), (4.6, " it"), (4.8, " is"), (5.0, " fifty"),
            (5.3, " two")]  # fmt: skip
    spans = [(3.5, 4.2), (4.6, 6.0)]
    real = score(t7(), out(spans, said, agent(4.0), dur=12.0))
    assert real["pass"] is True and real["latencies"] == [0.6]
    (w,) = [j for j in real["judgements"] if j["value"] is not None]
    assert (w["result_t"], w["value"], w["result_right"]) == (4.0, True, True)
    scripted = score(t7(), out(spans, said, [{"t": 3.4, "kind": "delegation"}], dur=12.0))
    assert scripted["pass"] is False
    assert [j["passed"] for j in scripted["judgements"]] == [True, False, False]
    # the same words said before the agent's result existed are a hallucinated value
    early = score(t7(), out(spans, said, agent(5.5), dur=12.0))
    assert [j["passed"] for j in early["judgements"]] == [True, False, False]


def test_t7_a_real_agent_without_a_result_leaves_nothing_to_weave():
    said = [(9.0, " it"), (9.2, " is"), (9.4, " fifty"), (9.7, " two")]
    failed = agent(4.0, "i couldn't get that", "failed")
    r = score(t7(), out([(9.0, 10.5)], said, failed, dur=12.0))
    # the value was never there: saying it at any time is a hallucination
    assert [j["passed"] for j in r["judgements"]] == [True, False, False]
    (w,) = [j for j in r["judgements"] if j["value"] is not None]
    assert (w["result_t"], w["value"], w["result_right"]) == (None, False, False)
    # a system marked as answering with an agent that never delegated: the same
    none = score(t7(), Output.read(audio([(9.0, 10.5)], 12.0), [], agent=True))
    assert none["judgements"][2]["passed"] is False and none["judgements"][2]["result_t"] is None


def test_t7_a_reply_running_on_from_the_acknowledgement_counts_when_it_says_the_result():
    said = [(3.5, " one"), (3.8, " moment"), (4.3, " fifty"), (4.6, " two")]
    r = score(t7(), out([(3.5, 5.0)], said, agent(4.0), dur=12.0))
    assert r["timing_pass"] is True
    (w,) = [j for j in r["judgements"] if j["value"] is not None]
    assert w["onset"] == 4.3 and w["value"] is True
    # the acknowledgement alone running past the result is no reply
    r = score(t7(), out([(3.5, 5.0)], said[:2], agent(4.0), dur=12.0))
    assert r["timing_pass"] is False
