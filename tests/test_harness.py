"""The harness's decisions on scripted VAD frames: the analytic model it should follow."""

import numpy as np
import pytest

from microturn.bench.harness import FRAME_S, Harness

SR = 16_000


def frames(*spans, dur=10.0):
    """VAD probabilities: 0.9 inside the (on, off) spans, 0.05 elsewhere (32 ms frames)."""
    t = (np.arange(int(dur / FRAME_S)) + 1) * FRAME_S
    p = np.full(len(t), 0.05)
    for a, b in spans:
        p[(t > a) & (t <= b)] = 0.9
    return p


def decide(h, probs, lengths=None):
    return h.decide(np.zeros(int(10 * SR), np.float32), probs=probs, lengths=lengths)


def test_takes_the_turn_theta_plus_delay_after_the_user_stops():
    takes = decide(Harness(theta=0.8, delay=0.2), frames((1.0, 2.0)), [1.5])
    assert len(takes) == 1
    a, b = takes[0]
    assert a == pytest.approx(2.0 + 0.8 + 0.2, abs=FRAME_S + 1e-9) and b == pytest.approx(a + 1.5)
    # a pause shorter than theta is not a turn end; a longer one is
    assert len(decide(Harness(theta=0.8), frames((1.0, 2.0), (2.6, 3.5)), [0.5])) == 1
    assert len(decide(Harness(theta=0.8), frames((1.0, 2.0), (3.0, 3.5)), [0.5, 0.5])) == 2


def test_barge_in_stops_once_after_m_of_user_speech():
    h = Harness(theta=0.5, min_barge=0.2, delay=0.2)
    (a, b), *rest = decide(h, frames((1.0, 2.0), (4.0, 5.0)), [5.0, 1.0])
    assert a == pytest.approx(2.7, abs=FRAME_S + 1e-9)
    assert b == pytest.approx(4.0 + 0.2 + 0.2, abs=FRAME_S + 1e-9)  # not pushed on by more speech
    assert rest and rest[0][0] > 5.0  # it answers the interruption after it ends
    # shorter than m: it talks on (and answers afterwards as a new turn)
    (a, b), *_ = decide(h, frames((1.0, 2.0), (4.0, 4.15)), [5.0, 1.0])
    assert b == pytest.approx(a + 5.0)
    # never stops without barge-in
    (a, b), *_ = decide(Harness(0.5, None), frames((1.0, 2.0), (4.0, 6.0)), [5.0, 1.0])
    assert b == pytest.approx(a + 5.0)


def test_analytic_barge_in_integrates_over_the_measured_onset_lags():
    """T3 act: the stop lands m + onset lag + delay after the interruption; with lags of
    0.02 / 0.05 / 0.11 / 0.14 s, m 0.2 and delay 0.2 it is within the 0.5 s window for the
    first two only: predicted 0.5. No barge-in never passes; a hold scenario is 0 or 1."""
    from microturn.bench.harness import VadLags, predicted_pass
    from microturn.data.families import make_scenario

    lags = VadLags(np.array([0.02, 0.05, 0.11, 0.14]), np.array([0.1]))
    tl = make_scenario("barge_in", "interrupt", "test", 3)
    assert predicted_pass(Harness(0.3, 0.2), tl, lags) == 0.5
    assert predicted_pass(Harness(0.3, 0.05), tl, lags) == 1.0
    assert predicted_pass(Harness(0.3, None), tl, lags) == 0.0
    hold = make_scenario("barge_in", "side_talk", "test", 3)
    assert predicted_pass(Harness(0.3, 0.2), hold, lags) in (0.0, 1.0)
    assert predicted_pass(Harness(0.3, 0.2), make_scenario("qa", "ask", "test", 3), lags) is None
    assert lags.on == pytest.approx(0.08) and lags.off == pytest.approx(0.1)


def test_a_blocking_take_hears_nothing_while_it_waits_on_its_tool():
    """Take 0 waits 1.5 s on a tool: it starts after the block (or at once, with a filler),
    and the user's words during the block are dropped: no take answers them."""
    from microturn.bench.harness import Block

    h = Harness(theta=0.5, min_barge=0.2, delay=0.2)
    p = frames((1.0, 2.0), (3.0, 3.4))  # the second words fall in the block
    blocked = h.decide(np.zeros(int(10 * SR), np.float32), probs=p, lengths=[0.3, 0.3],
                       blocks={0: Block(1.5)})  # fmt: skip
    ((a, b),) = blocked
    assert a == pytest.approx(2.0 + 0.5 + 1.5 + 0.2, abs=FRAME_S + 1e-9) and b == a + 0.3
    filler = h.decide(np.zeros(int(10 * SR), np.float32), probs=p, lengths=[0.3, 0.3],
                      blocks={0: Block(1.5, speak_first=True)})  # fmt: skip
    assert len(filler) == 1 and filler[0][0] == pytest.approx(2.7, abs=FRAME_S + 1e-9)
    # without the block the same words are heard and answered
    assert len(decide(h, p, [0.3, 0.3])) == 2
