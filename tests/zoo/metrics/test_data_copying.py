"""The data-copying test's parts by definition (zoo/metrics/memorization.py): k-means cells and how C_T weighs
them. (Its Mann-Whitney Z, nearest neighbours and end-to-end behaviour: tests/zoo/test_memorization.py.)"""
import numpy as np
import pytest

from zoo.metrics import memorization


def cells_of(points, centroids):
    """Each point's nearest centroid, as `memorization.nearest` finds it (float32, pinned by its own test)."""
    return memorization.nearest(points, centroids)[1][:, 0]


def lloyd(points, k, seed, iterations):
    """Lloyd's k-means from k distinct points drawn by `seed`, stopping early once the centroids stay put."""
    centroids = points[np.random.default_rng(seed).choice(len(points), k, replace=False)]
    for _ in range(iterations):
        cells = cells_of(points, centroids)
        moved = np.array([points[cells == c].mean(axis=0) if np.any(cells == c) else centroids[c] for c in range(k)])
        if np.allclose(moved, centroids):
            break
        centroids = moved
    return centroids


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(2)
    clusters = [rng.normal(size=(40, 2)) * 0.1 + centre for centre in ([0, 0], [10, 0], [0, 10])]
    found = sorted(map(tuple, np.round(memorization.kmeans(np.concatenate(clusters), k=3, seed=4), 9)))
    assert found == sorted(tuple(np.round(c.mean(axis=0), 9)) for c in clusters)  # each cluster's mean


def test_kmeans_defaults_are_20_cells_seed_0_and_25_iterations():
    spread = np.random.default_rng(100).normal(size=(2000, 3))  # these points need 34 iterations to converge
    np.testing.assert_allclose(memorization.kmeans(spread), lloyd(spread, 20, 0, 25), rtol=1e-6)
    assert not np.allclose(memorization.kmeans(spread), lloyd(spread, 20, 0, 26))
    assert not np.allclose(memorization.kmeans(spread), memorization.kmeans(spread, seed=1))
    single = spread.astype(np.float32)  # the evaluator's features: averaged in float64
    np.testing.assert_allclose(memorization.kmeans(single), memorization.kmeans(single.astype(np.float64)), rtol=1e-12)


def test_kmeans_keeps_the_centroid_of_an_empty_cell():
    twins = np.array([[0.0, 0.0]] * 3 + [[5.0, 5.0]])  # k = 4 draws every point: three centroids coincide
    result = memorization.kmeans(twins, k=4, seed=0)
    assert sorted(result.tolist()) == sorted(twins.tolist())  # two of the three twin cells stay empty, unmoved


def test_c_t_weights_each_used_cell_by_its_share_of_held_out_points():
    """C_T = Σ P(π) Z_U(π) / Σ P(π) over the cells with ≥ min_per_cell held-out and generated points."""
    rng = np.random.default_rng(3)
    centres = ([0, 0], [20, 0], [0, 20])
    train = np.concatenate([rng.normal(size=(200, 2)) + centre for centre in centres])
    held_out = np.concatenate([rng.normal(size=(n, 2)) + c for n, c in zip((60, 30, 20), centres)])
    generated = np.concatenate([rng.normal(size=(n, 2)) * s + c for n, s, c in zip((50, 20, 20), (0.5, 1.5, 1), centres)])
    test = memorization.CopyingTest(train, held_out, cells=3)
    held_cell, generated_cell = cells_of(held_out, test.centroids), cells_of(generated, test.centroids)
    assert sorted(np.bincount(held_cell)) == [20, 30, 60] and sorted(np.bincount(generated_cell)) == [20, 20, 50]
    held_distance = memorization.nearest(held_out, train)[0][:, 0]
    generated_distance = memorization.nearest(generated, train)[0][:, 0]

    def c_t(min_per_cell):
        weights, scores = [], []
        for cell in range(3):
            p, q = held_distance[held_cell == cell], generated_distance[generated_cell == cell]
            if len(p) >= min_per_cell and len(q) >= min_per_cell:
                weights.append(len(p) / len(held_out))
                scores.append(memorization.mann_whitney_z(p, q))
        return np.dot(weights, scores) / np.sum(weights), len(weights)

    for min_per_cell, cells_used in ((20, 3), (21, 1)):  # exactly min_per_cell points of each kind are enough
        expected, used = c_t(min_per_cell)
        result = memorization.CopyingTest(train, held_out, cells=3, min_per_cell=min_per_cell).score(generated)
        assert used == cells_used and result["cells_used"] == cells_used and result["cells"] == 3
        assert result["c_t"] == pytest.approx(expected, rel=1e-6)


def test_copying_test_and_data_copying_draw_their_cells_with_seed_0_by_default():
    rng = np.random.default_rng(5)
    train, held_out, generated = rng.normal(size=(600, 3)), rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) * 1.2
    expected = memorization.CopyingTest(train, held_out, cells=6, seed=0).score(generated)
    assert memorization.CopyingTest(train, held_out, cells=6).score(generated) == expected
    assert memorization.data_copying(train, held_out, generated, cells=6) == expected
    assert memorization.data_copying(train, held_out, generated, cells=6, seed=1) != expected  # the seed matters here


def test_nearest_returns_the_k_nearest_sorted_for_every_k_up_to_all_reference_points():
    rng = np.random.default_rng(6)
    points, reference = rng.normal(size=(9, 3)), rng.normal(size=(5, 3))
    brute = np.linalg.norm(points[:, None] - reference[None], axis=2)
    for k in (1, 4, 5):  # argpartition below len(reference), a full sort at it
        distances, indices = memorization.nearest(points, reference, k=k, block_entries=10)
        np.testing.assert_array_equal(indices, np.argsort(brute, axis=1)[:, :k])
        np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :k], rtol=1e-5)
    distances, indices = memorization.nearest(points, reference, k=6)  # more than there are: all of them
    np.testing.assert_array_equal(indices, np.argsort(brute, axis=1))
    distances, indices = memorization.nearest(points, reference)
    assert distances.shape == indices.shape == (9, 1)  # k = 1 by default
    # float32 throughout (4 bytes a pair), whatever the inputs' dtype
    single = memorization.nearest(points.astype(np.float32), reference.astype(np.float32))[0]
    assert distances.dtype == np.float32 and np.array_equal(distances, single)


def test_c_t_says_which_cells_were_too_small_and_what_to_do():
    rng = np.random.default_rng(7)
    train, held_out = rng.normal(size=(200, 2)), rng.normal(size=(100, 2))
    with pytest.raises(ValueError, match="^no cell holds 20 held-out and 20 generated points: use more samples or "
                                         "fewer cells$"):
        memorization.CopyingTest(train, held_out, cells=2).score(rng.normal(size=(19, 2)))  # < 20 in any cell
