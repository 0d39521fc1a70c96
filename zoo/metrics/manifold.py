"""k-NN manifold metrics on feature vectors.

- Precision / recall (Kynkäänniemi et al. 2019, https://arxiv.org/abs/1904.06991): each
  set's manifold is the union of balls around its points with radius = distance to the
  point's k-th nearest neighbour in its own set (k = 3). Precision = share of generated
  points inside the real manifold; recall = share of real points inside the generated one.
- Density / coverage (Naeem et al. 2020, https://arxiv.org/abs/2002.09797), on the real
  balls only: density = (1 / kM) Σⱼ Σᵢ 1[gⱼ ∈ B(rᵢ)], coverage = (1 / N) Σᵢ 1[∃ j: gⱼ ∈ B(rᵢ)].
- 1-NN two-sample test accuracy (Lopez-Paz & Oquab 2017, https://arxiv.org/abs/1610.06545):
  leave-one-out 1-nearest-neighbour classification of the pooled sets; 0.5 is ideal,
  ≈1 means separable, < 0.5 hints at generated points copying real ones.
Distances are Euclidean, computed in row blocks so memory stays O(block · n).
"""
import numpy as np

BLOCK = 1024


def squared_distances(a, b):
    """‖aᵢ - bⱼ‖² for row blocks a [m, d] and b [n, d] (float64, clipped at 0)."""
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def row_blocks(count):
    return ((start, min(start + BLOCK, count)) for start in range(0, count, BLOCK))


def kth_neighbour_radii(features, k):
    """Squared distance from each point to its k-th nearest *other* point of the same set."""
    features = np.asarray(features, np.float64)
    if not 1 <= k < len(features):
        raise ValueError(f"`k` must be in [1, {len(features) - 1}] for {len(features)} points. Received: k={k}")
    radii = np.empty(len(features))
    for start, end in row_blocks(len(features)):
        distances = squared_distances(features[start:end], features)
        # the k+1-th smallest includes the point itself at distance 0
        radii[start:end] = np.partition(distances, k, axis=1)[:, k]
    return radii


def ball_counts(centres, radii, points):
    """For each point, how many balls B(centreᵢ, radiusᵢ) contain it; and for each ball whether it holds any point."""
    centres, points = np.asarray(centres, np.float64), np.asarray(points, np.float64)
    counts = np.zeros(len(points), np.int64)
    covered = np.zeros(len(centres), bool)
    for start, end in row_blocks(len(points)):
        inside = squared_distances(points[start:end], centres) <= radii[None, :]
        counts[start:end] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
    return counts, covered


def precision_recall(real, fake, k=3):
    """(precision, recall) of generated features `fake` against real features `real`."""
    real_counts, _ = ball_counts(real, kth_neighbour_radii(real, k), fake)
    fake_counts, _ = ball_counts(fake, kth_neighbour_radii(fake, k), real)
    return float(np.mean(real_counts > 0)), float(np.mean(fake_counts > 0))


def density_coverage(real, fake, k=3):
    """(density, coverage) of `fake` with respect to the k-NN balls of `real`."""
    counts, covered = ball_counts(real, kth_neighbour_radii(real, k), fake)
    return float(counts.sum() / (k * len(fake))), float(np.mean(covered))


def one_nn_accuracy(real, fake):
    """Leave-one-out 1-NN accuracy of telling real from generated in the pooled set (0.5 is ideal)."""
    pooled = np.concatenate([np.asarray(real, np.float64), np.asarray(fake, np.float64)])
    is_real = np.arange(len(pooled)) < len(real)
    correct = 0
    for start, end in row_blocks(len(pooled)):
        distances = squared_distances(pooled[start:end], pooled)
        distances[np.arange(end - start), np.arange(start, end)] = np.inf  # leave each point out
        correct += int(np.sum(is_real[distances.argmin(axis=1)] == is_real[start:end]))
    return correct / len(pooled)
