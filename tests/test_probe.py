import math

from microturn.probe import auc


def test_auc_is_mann_whitney():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.5], [0.5]) == 0.5  # ties count half
    assert auc([0.3, 0.7], [0.5]) == 0.5
    assert math.isnan(auc([], [0.1]))


def test_auc_interval_shrinks_with_n_and_brackets_the_estimate():
    from microturn.probe import auc_ci

    lo, hi = auc_ci(0.7, 200, 200)
    assert lo < 0.7 < hi and 0.08 < hi - lo < 0.12  # +-0.05 at n = 200 a side
    lo2, hi2 = auc_ci(0.7, 50, 50)
    assert hi2 - lo2 > hi - lo
