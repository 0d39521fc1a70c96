"""Kernel MMD with a Gaussian kernel: the unbiased estimator written out pair by pair, the median heuristic
from scipy's pairwise distances (on the subset the seed draws), the same value over several row blocks, the
two-sample behaviour, and a bandwidth that is not a positive number refused in one line."""
import itertools
import math

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from zoo.errors import UserError
from zoo.metrics import manifold, mmd


def by_definition(real, fake, sigma):
    """MMD²_u with k(x, y) = exp(-‖x - y‖² / (2σ²)), one pair at a time."""
    def k(x, y):
        return math.exp(-sum((a - b) ** 2 for a, b in zip(x, y)) / (2 * sigma ** 2))

    m, n = len(real), len(fake)
    within_real = sum(k(real[i], real[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    within_fake = sum(k(fake[i], fake[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    across = sum(k(r, g) for r in real for g in fake) / (m * n)
    return within_real + within_fake - 2 * across


def samples(n, d, seed, shift=0.0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


@pytest.mark.parametrize("m, n, d", [(12, 15, 3), (9, 9, 1), (20, 7, 5)])
def test_kernel_mmd_is_the_unbiased_estimator_with_the_median_bandwidth(m, n, d):
    real, fake = samples(m, d, 0), samples(n, d, 1, shift=0.5)
    sigma = float(np.median(pdist(np.concatenate([real, fake]))))  # all pairs i < j of the pooled sample
    assert mmd.median_heuristic(np.concatenate([real, fake]), seed=0) == pytest.approx(sigma, rel=1e-12)
    assert mmd.kernel_mmd(real, fake) == pytest.approx(by_definition(real.tolist(), fake.tolist(), sigma), rel=1e-10)
    assert mmd.kernel_mmd(real, fake, bandwidth=0.7) == pytest.approx(
        by_definition(real.tolist(), fake.tolist(), 0.7), rel=1e-10)


def test_kernel_mmd_is_the_same_over_several_row_blocks(monkeypatch):
    real, fake = samples(70, 4, 2), samples(53, 4, 3, shift=0.2)
    whole = mmd.kernel_mmd(real, fake)
    monkeypatch.setattr(manifold, "BLOCK", 16)  # 5 and 4 blocks of rows, the last ones short
    assert mmd.kernel_mmd(real, fake) == pytest.approx(whole, rel=1e-12)


def test_the_median_of_a_large_pooled_sample_is_read_on_a_seeded_subset(monkeypatch):
    monkeypatch.setattr(mmd, "MEDIAN_POINTS", 50)
    pooled = samples(120, 3, 4)
    subset = pooled[np.random.default_rng(9).choice(120, 50, replace=False)]
    assert mmd.median_heuristic(pooled, seed=9) == pytest.approx(float(np.median(pdist(subset))), rel=1e-12)


def test_kernel_mmd_reads_the_median_on_the_subset_its_seed_draws_by_default_seed_0(monkeypatch):
    monkeypatch.setattr(mmd, "MEDIAN_POINTS", 20)
    real, fake = samples(15, 2, 10), samples(12, 2, 11, shift=0.3)
    for seed in (0, 9):
        subset = np.concatenate([real, fake])[np.random.default_rng(seed).choice(27, 20, replace=False)]
        expected = by_definition(real.tolist(), fake.tolist(), float(np.median(pdist(subset))))
        assert mmd.kernel_mmd(real, fake, seed=seed) == pytest.approx(expected, rel=1e-10)
    assert mmd.kernel_mmd(real, fake) == mmd.kernel_mmd(real, fake, seed=0)


def test_kernel_mmd_takes_two_samples_per_set():
    real, fake = np.array([[0.0], [1.0]]), np.array([[0.0], [3.0]])  # σ = median of 1, 0, 3, 1, 2, 3 = 1.5
    assert mmd.kernel_mmd(real, fake) == pytest.approx(by_definition(real.tolist(), fake.tolist(), 1.5), rel=1e-12)


@pytest.mark.parametrize("bandwidth", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_a_bandwidth_that_is_not_a_positive_number_is_refused_in_one_line(bandwidth):
    with pytest.raises(UserError) as refused:
        mmd.kernel_mmd(samples(5, 2, 0), samples(5, 2, 1), bandwidth=bandwidth)
    assert str(refused.value) == f"kernel_mmd needs a bandwidth σ > 0 (finite); received bandwidth={bandwidth!r}"


def test_a_median_bandwidth_of_zero_is_refused_naming_the_heuristic():
    mostly_one_point = np.concatenate([np.zeros((7, 2)), [[1.0, 1.0]]])  # 55 of the 66 pooled pairs are 0
    with pytest.raises(UserError) as refused:
        mmd.kernel_mmd(mostly_one_point, np.zeros((4, 2)))
    assert str(refused.value) == ("kernel_mmd's median heuristic gives σ = 0 (most pairs of points coincide); pass a "
                                  "bandwidth > 0")


def test_kernel_mmd_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    real = samples(400, 8, 5)
    same = [mmd.kernel_mmd(real, samples(400, 8, seed)) for seed in (6, 7, 8)]
    shifted = [mmd.kernel_mmd(real, samples(400, 8, 6, shift=shift), bandwidth=4.0) for shift in (0.25, 0.5, 1.0)]
    assert max(abs(value) for value in same) < 0.005  # measured |MMD²| ≤ 0.002 for these seeds
    assert 0.005 < shifted[0] < shifted[1] < shifted[2]
