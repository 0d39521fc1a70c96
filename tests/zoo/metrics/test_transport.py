"""Wasserstein-1 between feature sets: exact OT equals the optimal assignment (equal sizes, uniform weights) and
SciPy's 1-D distance; beyond the exact limit the sliced distance is used, seeded, and says so."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance as scipy_wasserstein_1d

from zoo.metrics import transport


def samples(n, d, seed, shift=0.0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


@pytest.mark.parametrize("n, d", [(30, 5), (80, 16), (7, 2)])
def test_exact_w1_is_the_optimal_assignment_of_equal_sized_sets(n, d):
    """With n points of weight 1/n on each side an optimal plan is a permutation (Birkhoff): W₁ = min mean cost."""
    real, fake = samples(n, d, 0), samples(n, d, 1, shift=0.4)
    cost = cdist(real, fake)
    rows, columns = linear_sum_assignment(cost)
    result = transport.wasserstein_distance(real, fake)
    assert result.method == "exact"
    assert result.distance == pytest.approx(cost[rows, columns].mean(), rel=1e-9)


@pytest.mark.parametrize("m, n", [(40, 40), (33, 57)])
def test_exact_w1_in_one_dimension_is_scipys(m, n):
    real, fake = samples(m, 1, 2), samples(n, 1, 3, shift=0.7)
    expected = scipy_wasserstein_1d(real[:, 0], fake[:, 0])
    assert transport.wasserstein_distance(real, fake).distance == pytest.approx(expected, rel=1e-9)


def test_beyond_the_exact_limit_the_sliced_distance_is_reported_as_such():
    real, fake = samples(60, 1, 4), samples(50, 1, 5, shift=1.0)
    sliced = transport.wasserstein_distance(real, fake, max_pairs=60 * 50 - 1, projections=8, seed=3)
    assert (sliced.method, sliced.projections) == ("sliced", 8)
    # in 1-D every direction is ±1: SW₁ is W₁ itself
    assert sliced.distance == pytest.approx(scipy_wasserstein_1d(real[:, 0], fake[:, 0]), rel=1e-9)
    wide_real, wide_fake = samples(60, 16, 4), samples(50, 16, 5, shift=0.5)
    exact = transport.wasserstein_distance(wide_real, wide_fake).distance
    first, again, other_seed = (transport.wasserstein_distance(wide_real, wide_fake, max_pairs=60 * 50 - 1, seed=seed)
                                for seed in (7, 7, 8))
    assert first == again != other_seed  # seeded directions
    assert first.distance < exact / 2  # SW₁ ≤ W₁, and well below it in 16-d: not a W₁ value


def test_identical_sets_are_at_distance_zero_and_a_shift_adds_up():
    real = samples(50, 3, 6)
    assert transport.wasserstein_distance(real, real.copy()).distance == pytest.approx(0.0, abs=1e-12)
    # translating every point by v moves each unit of mass by ‖v‖ and no plan does better: W₁ = ‖v‖
    assert transport.wasserstein_distance(real, real + [3.0, 4.0, 0.0]).distance == pytest.approx(5.0, rel=1e-9)
    # one generated point takes all the mass: W₁ is the mean distance to it
    point = np.array([[1.0, -2.0, 0.5]])
    assert transport.wasserstein_distance(real, point).distance == pytest.approx(cdist(real, point).mean(), rel=1e-9)
