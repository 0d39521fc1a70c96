"""Geometry Score: relative living times against their definition integrated on a fine grid, a circle's one
hole and a blob's none found by the witness complexes (H₁ over Z/2, the landmarks distinct points), the score
between them, and a number of repetitions that is not a whole number from 1 refused in one line."""
import numpy as np
import pytest

from zoo.errors import UserError
from zoo.metrics import topology

TOY = {"landmarks": 32, "gamma": 1 / 8}  # the authors' setting for 2-D point clouds


def by_grid(intervals, alpha_max, max_betti, steps=200000):
    """RLT(i) = |{α ∈ [0, α_max]: β₁(α) = i}| / α_max with β₁(α) = #{[b, d): b ≤ α < d}, on a grid of α."""
    alphas = (np.arange(steps) + 0.5) * alpha_max / steps
    betti = [sum(birth <= alpha < death for birth, death in intervals) for alpha in alphas]
    return np.bincount(betti, minlength=max_betti)[:max_betti] / steps


def circle(n, seed, noise=0.05):
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(angles), np.sin(angles)], 1) + rng.normal(scale=noise, size=(n, 2))


def blob(n, seed):
    return np.random.default_rng(seed).normal(scale=0.5, size=(n, 2))


def test_relative_living_times_are_the_share_of_the_filtration_with_i_holes():
    intervals = [[0.0, 0.3], [0.1, 0.5], [0.2, np.inf], [0.45, 0.46], [0.7, 0.9]]  # ∞: alive until α_max = 1
    rlt = topology.relative_living_times(intervals, 1.0, max_betti=6)
    np.testing.assert_allclose(rlt, by_grid(intervals, 1.0, 6), atol=2e-5)  # the grid's resolution
    np.testing.assert_allclose(rlt, [0.0, 0.4, 0.49, 0.11, 0.0, 0.0], atol=1e-12)  # worked by hand
    assert rlt.sum() == pytest.approx(1.0)
    assert topology.relative_living_times([], 2.0, max_betti=3).tolist() == [1.0, 0.0, 0.0]  # no hole ever
    assert topology.relative_living_times(intervals, 1.0, max_betti=2).sum() == pytest.approx(0.4)  # β₁ ≥ 2 cut


def test_a_circle_has_one_hole_and_a_blob_none():
    for points, holes in ((circle(400, 1), 1), (blob(400, 2), 0)):
        rng = np.random.default_rng(0)
        rlts = np.array([topology.rlt(points, rng, **TOY) for _ in range(5)])
        np.testing.assert_allclose(rlts.sum(axis=1), 1.0, rtol=1e-12)
        assert np.argmax(rlts.mean(axis=0)) == holes


def test_a_fully_collapsed_sample_has_no_hole_and_is_scored_against_a_ring():
    """Every sample the same point: α_max = γ·max distance = 0, a filtration of one point, RLT = (1, 0, …) (before:
    0/0, a NaN score)."""
    assert topology.relative_living_times([], 0.0, max_betti=3).tolist() == [1.0, 0.0, 0.0]
    collapsed = np.repeat(circle(400, 1)[:1], 400, axis=0)
    assert topology.rlt(collapsed, np.random.default_rng(0), **TOY).tolist() == np.eye(topology.MAX_BETTI)[0].tolist()
    ring = circle(400, 1)
    score = topology.geometry_score(ring, collapsed, repetitions=5, **TOY)
    assert np.isfinite(score) and score > 0.5  # the ring's hole against none, as a blob's (test below: 1.16-1.45)


def test_a_fully_collapsed_draw_builds_no_witness_complex(monkeypatch):
    """α_max = 0 decides the RLT alone, so its complex is not built (it took 6.4 s per repetition for 200 identical
    128-d points on the shared 2-core machine, 100 repetitions per score); the landmarks are still drawn, so the
    next repetitions draw what they drew before."""
    def no_complex(distances, alpha_max):
        raise AssertionError("a witness complex was built for a draw of one point")

    monkeypatch.setattr(topology, "witness_intervals", no_complex)
    rng, expected = np.random.default_rng(0), np.random.default_rng(0)
    collapsed = np.repeat(circle(400, 1)[:1], 400, axis=0)
    assert topology.rlt(collapsed, rng, **TOY).tolist() == np.eye(topology.MAX_BETTI)[0].tolist()
    expected.choice(400, TOY["landmarks"], replace=False)
    assert rng.bit_generator.state == expected.bit_generator.state


def test_geometry_score_separates_topologies_and_is_seeded():
    ring, other_ring, disc = circle(400, 1), circle(400, 3), blob(400, 2)
    assert topology.geometry_score(ring, ring.copy(), repetitions=10, **TOY) == 0.0
    alike = topology.geometry_score(ring, other_ring, repetitions=10, **TOY)
    unlike = topology.geometry_score(ring, disc, repetitions=10, **TOY)
    # measured over seeds 0-4 (10 repetitions): two circles 0.0001-0.0037, a circle and a blob 1.16-1.45
    assert alike < 0.02 and unlike > 0.5
    assert topology.geometry_score(ring, disc, repetitions=5, seed=4, **TOY) == pytest.approx(
        topology.geometry_score(ring, disc, repetitions=5, seed=4, **TOY), abs=0)


def test_the_authors_gamma_scales_with_the_number_of_points():
    assert topology.default_gamma(5000) == 1 / 128
    assert topology.default_gamma(10000) == 1 / 64


def test_holes_are_counted_over_z2_as_the_authors_do():
    """Ten witnesses, each at distance 1 from the three landmarks of one triangle of the 6-vertex projective plane
    and 10 from the rest, witness exactly that complex (up to α = 1): H₁ over Z/2 is one class, born at 0 and
    never dying (over Z/3 it is 0: the plane's one hole is torsion)."""
    triangles = [(0, 1, 2), (0, 2, 3), (0, 3, 4), (0, 4, 5), (0, 5, 1), (1, 2, 4), (2, 3, 5), (3, 4, 1), (4, 5, 2),
                 (5, 1, 3)]
    distances = np.full((10, 6), 10.0)
    for witness, triangle in enumerate(triangles):
        distances[witness, list(triangle)] = 1.0
    assert np.asarray(topology.witness_intervals(distances, 1.0)).tolist() == [[0.0, np.inf]]


def test_with_as_many_landmarks_as_points_every_point_is_one_whatever_the_draw():
    """Landmarks are drawn without replacement: L₀ = N takes the whole set, so the generator's state cannot matter."""
    points = circle(40, 5)
    first, second = (topology.rlt(points, np.random.default_rng(seed), landmarks=40, gamma=1 / 2) for seed in (0, 1))
    assert first.tolist() == second.tolist() and first[1] > 0.5  # the circle's hole lives over half the filtration


def test_one_repetition_scores_the_two_rlts_drawn_with_the_seed_0_unless_given():
    ring, disc = circle(100, 1), blob(100, 2)
    for seed, given in ((0, {}), (3, {"seed": 3})):
        expected = np.sum((topology.rlt(ring, np.random.default_rng(seed), **TOY)
                           - topology.rlt(disc, np.random.default_rng(seed), **TOY)) ** 2)
        assert topology.geometry_score(ring, disc, repetitions=1, **TOY, **given) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("repetitions", [0, 2.5, True, "3"])
def test_a_number_of_repetitions_that_is_not_a_whole_number_from_1_is_refused_in_one_line(repetitions):
    with pytest.raises(UserError) as refused:
        topology.geometry_score(circle(40, 1), circle(40, 2), repetitions=repetitions, **TOY)
    assert str(refused.value) == f"geometry_score's repetitions must be an integer ≥ 1; received {repetitions!r}"
