"""Kernel MMD with a Gaussian kernel (Gretton et al. 2012, https://jmlr.org/papers/v13/gretton12a.html), the
two-sample statistic the GAN-metric survey recommends (Xu et al. 2018, "An empirical study on evaluation metrics
of generative adversarial networks", https://arxiv.org/abs/1806.07755). Its unbiased estimate on real features
r₁…r_m and generated g₁…g_n:

    k(x, y) = exp(-‖x - y‖² / (2σ²))
    MMD²_u = Σ_{i≠j} k(rᵢ, rⱼ) / (m(m-1)) + Σ_{i≠j} k(gᵢ, gⱼ) / (n(n-1)) - 2 Σ_{i,j} k(rᵢ, gⱼ) / (mn)

(0 in expectation when both sets come from one distribution; it can come out slightly negative). Unless given,
σ is the median heuristic: the median Euclidean distance ‖zᵢ - zⱼ‖ over the pairs i < j of the pooled sample
z = r ∪ g — of all of it up to MEDIAN_POINTS points, beyond that of MEDIAN_POINTS pooled points drawn without
replacement by numpy's generator seeded with `seed`. KID (zoo.metrics.kernel) is the same estimator with a cubic
polynomial kernel instead. The kernel sums run over row blocks (manifold.BLOCK rows at a time), so memory stays
O(BLOCK · n): 10k × 10k features take ~80 MB at a time, not 800 MB.
"""
import numpy as np

from zoo.checks import real_number
from zoo.errors import UserError
from zoo.metrics import manifold
from zoo.metrics.samples import feature_sets

MEDIAN_POINTS = 2000  # the median heuristic reads all pairs of at most this many pooled points (~2M pairs)


def median_heuristic(pooled, seed):
    """σ = median of ‖zᵢ - zⱼ‖ over the pairs i < j of `pooled` (a seeded subset of MEDIAN_POINTS when larger)."""
    if len(pooled) > MEDIAN_POINTS:
        pooled = pooled[np.random.default_rng(seed).choice(len(pooled), MEDIAN_POINTS, replace=False)]
    upper = np.triu_indices(len(pooled), k=1)
    # the median of the distances, not √ of the squares' median: they differ for an even number of pairs
    return float(np.median(np.sqrt(manifold.squared_distances(pooled, pooled)[upper])))


def gaussian_kernel_sum(a, b, bandwidth, skip_diagonal=False):
    """Σᵢⱼ exp(-‖aᵢ - bⱼ‖² / (2σ²)) in row blocks; `skip_diagonal` leaves out i = j (a and b the same set)."""
    total = 0.0
    for start, end in manifold.row_blocks(len(a)):
        kernel = np.exp(-manifold.squared_distances(a[start:end], b) / (2.0 * bandwidth ** 2))
        if skip_diagonal:
            kernel[np.arange(end - start), np.arange(start, end)] = 0.0
        total += float(kernel.sum())
    return total


def kernel_mmd(real, fake, bandwidth=None, seed=0):
    """Unbiased MMD² between real and generated features [n, d] with a Gaussian kernel of bandwidth σ
    (`bandwidth`, or the median heuristic of the pooled sample); see the module docstring."""
    real, fake = feature_sets(real, fake, "kernel_mmd", min_samples=2)
    if bandwidth is None:
        bandwidth = median_heuristic(np.concatenate([real, fake]), seed)
        if bandwidth == 0:
            raise UserError("kernel_mmd's median heuristic gives σ = 0 (most pairs of points coincide); pass a "
                            "bandwidth > 0")
    if not real_number(bandwidth) or not 0 < bandwidth < np.inf:
        raise UserError(f"kernel_mmd needs a bandwidth σ > 0 (finite); received bandwidth={bandwidth!r}")
    m, n = len(real), len(fake)
    return (gaussian_kernel_sum(real, real, bandwidth, skip_diagonal=True) / (m * (m - 1))
            + gaussian_kernel_sum(fake, fake, bandwidth, skip_diagonal=True) / (n * (n - 1))
            - 2.0 * gaussian_kernel_sum(real, fake, bandwidth) / (m * n))
