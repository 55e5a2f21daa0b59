"""User-dMel augmentation: off at strength 0, silence stays silent, the mel-axis warp moves
a formant where its drawn alpha says, and the draw is reproducible."""

import numpy as np

from microturn.data.augment import LEVEL, TILT, WARP, augment_dmel


def voiced(n_frames=50, n=80, peak=40):
    """Frames 10-39 lit at level 5 with a peak of 12 at channel `peak`; the rest silent."""
    x = np.zeros((n_frames, n), np.uint8)
    x[10:40] = 5
    x[10:40, peak] = 12
    return x


def test_strength_zero_is_the_identity():
    x = voiced()
    assert augment_dmel(x, np.random.default_rng(0), 0.0) is x


def test_silence_stays_silent_and_codes_stay_in_range():
    x = voiced()
    for seed in range(50):
        y = augment_dmel(x, np.random.default_rng(seed), 1.0)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert not y[:10].any() and not y[40:].any()  # silent frames: never raised
        assert y.max() <= 15
    assert any((augment_dmel(x, np.random.default_rng(s), 1.0) != x).any() for s in range(5))


def test_the_warp_moves_the_peak_by_the_drawn_alpha():
    x = voiced(peak=40)
    moved = 0
    for seed in range(40):
        alpha = 1.0 + WARP * np.random.default_rng(seed).uniform(-1, 1)  # the first draw
        y = augment_dmel(x, np.random.default_rng(seed), 1.0)
        col = y[20].astype(int)
        if col.max() < 8:  # the band mask blanked the peak
            continue
        want = [c for c in range(80) if int(np.clip(np.rint(c / alpha), 0, 79)) == 40]
        got = np.nonzero(col == col.max())[0]
        assert set(got) <= set(want), (seed, alpha, got, want)
        moved += int(want != [40])
    assert moved > 20  # most draws move it off channel 40


def test_level_and_tilt_stay_within_their_ranges():
    x = np.zeros((4, 80), np.uint8)
    x[:] = 8
    bound = LEVEL + TILT + 0.5
    for seed in range(50):
        y = augment_dmel(x, np.random.default_rng(seed), 1.0).astype(int)
        lit = y > 0  # a band mask may blank some channels
        assert (np.abs(y[lit] - 8) <= bound).all()
        assert (y.std(0) == 0).all()  # one draw per sample: every frame the same


def test_the_same_generator_state_gives_the_same_augmentation():
    x = voiced()
    a = augment_dmel(x, np.random.default_rng([3, 1, 7, 1]), 1.0)
    b = augment_dmel(x, np.random.default_rng([3, 1, 7, 1]), 1.0)
    c = augment_dmel(x, np.random.default_rng([3, 2, 7, 1]), 1.0)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_own_noise_has_the_asked_size_in_log10_units():
    from microturn.data.augment import noisy_own

    codes = np.full((4000, 80), 8, np.uint8)
    rng = np.random.default_rng(0)
    assert noisy_own(codes, rng, 0.0, 0.35) is codes
    out = noisy_own(codes, rng, 0.35, 0.35, bins=16)
    assert out.dtype == np.uint8 and out.min() >= 0 and out.max() <= 15
    d = out.astype(np.float64) - 8
    assert 0.9 < d.std() < 1.15  # one bin of noise, rounded
    assert abs(d.mean()) < 0.02
    top = noisy_own(np.full((100, 80), 15, np.uint8), rng, 2.0, 0.35, bins=16)
    assert top.max() == 15  # clipped to the codebook
