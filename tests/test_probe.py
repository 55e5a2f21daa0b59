import math

from microturn.probe import auc


def test_auc_is_mann_whitney():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.5], [0.5]) == 0.5  # ties count half
    assert auc([0.3, 0.7], [0.5]) == 0.5
    assert math.isnan(auc([], [0.1]))
