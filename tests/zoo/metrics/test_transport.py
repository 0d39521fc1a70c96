"""Wasserstein-1 between feature sets: exact OT equals the optimal assignment (equal sizes, uniform weights) and
SciPy's 1-D distance, and a simplex stopped short is an error; beyond the exact limit the sliced distance is used,
seeded, and says so: the mean 1-D W₁ over its directions. Bad numbers of projections are refused in one line."""
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance as scipy_wasserstein_1d

from zoo.errors import UserError
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


def test_an_exact_solve_stopped_short_of_the_optimum_is_an_error_not_a_distance(monkeypatch):
    monkeypatch.setattr(transport, "MAX_SIMPLEX_ITERATIONS", 3)  # the limit the simplex is given
    with pytest.raises(RuntimeError) as stopped:
        transport.wasserstein_distance(samples(30, 2, 0), samples(30, 2, 1))
    assert str(stopped.value).startswith("exact optimal transport did not reach the optimum: numItermax reached")


def test_the_sliced_distance_is_the_mean_one_dimensional_w1_over_its_seeded_directions():
    """SW₁ = mean over the directions θ of W₁(θᵀr, θᵀg) (POT draws the directions; the mean is by hand); the
    exact solve runs up to m·n = max_pairs inclusive; seed 0 unless given."""
    from ot.sliced import get_random_projections

    real, fake = samples(20, 3, 4), samples(15, 3, 5, shift=0.5)
    assert transport.wasserstein_distance(real, fake, max_pairs=20 * 15).method == "exact"
    for projections, seed, given in ((5, 0, {}), (5, 3, {"seed": 3}), (1, 2, {"seed": 2})):
        directions = get_random_projections(3, projections, seed).T
        expected = np.mean([scipy_wasserstein_1d(real @ theta, fake @ theta) for theta in directions])
        result = transport.wasserstein_distance(real, fake, max_pairs=20 * 15 - 1, projections=projections, **given)
        assert (result.method, result.projections) == ("sliced", projections)
        assert result.distance == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("projections", [0, 2.5, True, "8", None])
def test_a_number_of_projections_that_is_not_a_whole_number_from_1_is_refused_in_one_line(projections):
    with pytest.raises(UserError) as refused:
        transport.wasserstein_distance(samples(4, 2, 0), samples(4, 2, 1), max_pairs=0, projections=projections)
    assert str(refused.value) == ("the sliced Wasserstein distance's projections must be an integer ≥ 1; received "
                                  f"{projections!r}")
