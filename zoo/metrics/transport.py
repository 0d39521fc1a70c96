"""Wasserstein-1 distance between the real and generated feature sets as empirical distributions (uniform
weights 1/m on r₁…r_m, 1/n on g₁…g_n), the earth mover's distance of the GAN-metric survey (Borji 2019,
https://arxiv.org/abs/1802.03446; Xu et al. 2018, https://arxiv.org/abs/1806.07755):

    W₁ = min_{π ∈ Π(1/m, 1/n)} Σᵢⱼ πᵢⱼ ‖rᵢ - gⱼ‖₂,   Π: the m × n matrices ≥ 0 with row sums 1/m, column sums 1/n

- exact ("exact"), when the cost matrix has at most `max_pairs` entries m·n (EXACT_PAIRS = 5000²): the network
  simplex of Python Optimal Transport (`ot.emd2`, Flamary et al. 2021, https://jmlr.org/papers/v22/20-451.html) on the full
  Euclidean cost matrix. Its cost grows faster than n²: two sets of n Gaussian 64-d features on this project's
  2-core machine (shared, load ≈ 8) took 0.4 s at n = 1000, 5.7 s at 2000, 16 s at 4000, 51 s at 5000 (72 s
  for 128-d features), 78 s at 6000 and 308 s at 10000; the process peaked at 0.75, 0.87, 1.3, 1.7, 2.1 and
  4.6 GB; 10000 × 2500 128-d features (25 million pairs, as 5000²) 44 s and 1.7 GB;
- beyond, the sliced Wasserstein-1 distance ("sliced", Rabin et al. 2011; Bonneel et al. 2015,
  https://doi.org/10.1007/s10851-014-0506-3): SW₁ = E_θ W₁(θᵀr, θᵀg) over directions θ uniform on the sphere,
  estimated with SLICED_PROJECTIONS directions drawn with `seed` (`ot.sliced_wasserstein_distance`, p = 1).
  SW₁ ≤ W₁, and in many dimensions well below it: a different number, which the result names (`method`) and
  the registry reports in its own column, never as W₁.
"""
import typing

import numpy as np

from zoo.checks import whole_number
from zoo.metrics.samples import feature_sets

EXACT_PAIRS = 5000 * 5000  # cost-matrix entries m·n up to which W₁ is solved exactly (about a minute, 1.7 GB at 5000²)
SLICED_PROJECTIONS = 1000
MAX_SIMPLEX_ITERATIONS = 10 ** 9  # POT's default (1e5) stopped short of the optimum at n = 2000 (64-d) here


class Transport(typing.NamedTuple):
    distance: float
    method: str  # "exact" (W₁) or "sliced" (SW₁ with `projections` directions)
    projections: int = 0


def exact_wasserstein(real, fake):
    """W₁ by the network simplex on the Euclidean cost matrix (uniform weights)."""
    import ot  # imports its backends (TensorFlow among them): only when a distance is computed
    from scipy.spatial.distance import cdist

    cost = cdist(real, fake)  # ‖rᵢ - gⱼ‖ from the differences: √ of ‖r‖² + ‖g‖² - 2rᵀg loses digits near 0
    distance, log = ot.emd2(np.full(len(real), 1.0 / len(real)), np.full(len(fake), 1.0 / len(fake)), cost,
                            numItermax=MAX_SIMPLEX_ITERATIONS, log=True)
    if log["warning"] is not None:
        raise RuntimeError(f"exact optimal transport did not reach the optimum: {log['warning']}")
    return float(distance)


def sliced_wasserstein(real, fake, projections, seed):
    """SW₁ over `projections` random directions drawn with `seed`."""
    import ot

    return float(ot.sliced_wasserstein_distance(real, fake, n_projections=projections, p=1, seed=seed))


def wasserstein_distance(real, fake, max_pairs=EXACT_PAIRS, projections=SLICED_PROJECTIONS, seed=0):
    """Transport(distance, method, projections) between real and generated features [n, d]: exact W₁ when
    m·n ≤ `max_pairs`, else the sliced SW₁ (see the module docstring)."""
    real, fake = feature_sets(real, fake, "wasserstein_distance", min_samples=1)
    if len(real) * len(fake) <= max_pairs:
        return Transport(exact_wasserstein(real, fake), "exact")
    projections = whole_number("the sliced Wasserstein distance's projections", projections, 1)
    return Transport(sliced_wasserstein(real, fake, projections, seed), "sliced", projections)
