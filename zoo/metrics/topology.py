"""Geometry Score (Khrulkov & Oseledets 2018, "Geometry Score: A Method For Comparing Generative Adversarial
Networks", https://arxiv.org/abs/1802.02664): how alike the 1-dimensional topology (the holes) of two point
clouds is, from the persistent homology of witness complexes, computed with GUDHI (https://gudhi.inria.fr), the
library the authors used.

For one set X of N points (their Algorithm 1, one repetition):
  1. L: L₀ = 64 landmarks drawn from X (without replacement; the authors' code draws with replacement);
  2. the witness complex of L with all of X as witnesses, filtered by the relaxation α ∈ [0, α_max] with
     α_max = γ · max_{x ∈ X, l ∈ L} ‖x - l‖ and γ = (1/128) · N / 5000; as in the authors' code the nearest-landmark
     table given to `gudhi.WitnessComplex` holds Euclidean distances (not squared ones), and the complex stops at
     dimension 2;
  3. the persistence intervals [b, d) of H₁ over Z/2 (an infinite d counts until α_max) give β₁(α), the number
     of holes alive at α, and the relative living times
         RLT(i) = |{α ∈ [0, α_max] : β₁(α) = i}| / α_max,   i = 0 … i_max - 1 (i_max = 100),
     which sum to 1 (unless β₁ reaches i_max).
MRLT(X) is the mean RLT over n repetitions (fresh landmarks each; numpy's generator seeded with `seed`), and
(their Algorithm 2)

    GS(X₁, X₂) = ‖MRLT(X₁) - MRLT(X₂)‖²₂ = Σᵢ (MRLT(i, X₁) - MRLT(i, X₂))²,

the squared L2 distance as in the paper and the authors' code (0 for one topology, at most 2).
"""
import numpy as np

from zoo.checks import whole_number
from zoo.metrics.samples import feature_sets

LANDMARKS = 64  # L₀
MAX_BETTI = 100  # i_max
REPETITIONS = 100  # n: the authors' code defaults to 1000; the spread of MRLT shrinks as 1/√n


def default_gamma(count):
    """γ = (1/128) · N / 5000, the authors' choice for a set of N points."""
    return count / (128 * 5000)


def relative_living_times(intervals, alpha_max, max_betti=MAX_BETTI):
    """RLT(i) for i < max_betti from H₁ persistence intervals [[birth, death], ...] on [0, α_max]: β₁ is constant
    between consecutive interval ends, so each stretch adds its length to the RLT of its β₁. α_max = 0 (every point
    the same: a fully collapsed sample) has no hole at any scale: RLT = (1, 0, …), the limit as α_max → 0."""
    if alpha_max == 0:
        return np.eye(max_betti)[0]
    intervals = np.minimum(np.asarray(intervals, np.float64).reshape(-1, 2), alpha_max)  # ∞ lives until α_max
    ends = np.unique(np.concatenate([intervals.ravel(), [0.0, alpha_max]]))
    middles = (ends[:-1] + ends[1:]) / 2
    betti = np.sum((intervals[:, 0] <= middles[:, None]) & (middles[:, None] < intervals[:, 1]), axis=1)
    return np.bincount(betti, weights=np.diff(ends), minlength=max_betti)[:max_betti] / alpha_max


def witness_intervals(distances, alpha_max):
    """H₁ persistence intervals, up to α_max, of the witness complex of landmarks j witnessed by points i, given
    their Euclidean distances [points, landmarks]."""
    import gudhi

    order = np.argsort(distances, axis=1)
    table = np.dstack([order, np.take_along_axis(distances, order, axis=1)])  # per witness: (landmark, distance)
    tree = gudhi.WitnessComplex(table).create_simplex_tree(max_alpha_square=alpha_max, limit_dimension=2)
    tree.persistence(homology_coeff_field=2)
    return tree.persistence_intervals_in_dimension(1)


def rlt(points, rng, landmarks=LANDMARKS, gamma=None, max_betti=MAX_BETTI):
    """One repetition of Algorithm 1: the RLT of `points` [N, d] for L₀ = `landmarks` landmarks drawn by `rng`
    (γ: the authors' default_gamma(N) unless given)."""
    from scipy.spatial.distance import cdist

    distances = cdist(points, points[rng.choice(len(points), landmarks, replace=False)])
    alpha_max = (default_gamma(len(points)) if gamma is None else gamma) * float(distances.max())
    if alpha_max == 0:  # every point the same: no hole at any scale, and no complex to build (seconds per draw)
        return relative_living_times(np.empty((0, 2)), alpha_max, max_betti)
    return relative_living_times(witness_intervals(distances, alpha_max), alpha_max, max_betti)


def mean_rlt(points, repetitions, seed, landmarks, gamma):
    """MRLT: the mean RLT over `repetitions` draws of landmarks by numpy's generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    return np.mean([rlt(points, rng, landmarks, gamma) for _ in range(repetitions)], axis=0)


def geometry_score(real, fake, repetitions=REPETITIONS, seed=0, landmarks=LANDMARKS, gamma=None):
    """GS = ‖MRLT(real) - MRLT(fake)‖²₂ between real and generated features [n, d] (see the module docstring);
    both sets draw their landmarks from the same seed, so identical sets score exactly 0. The authors' toy
    examples take L₀ = 32 and γ = 1/8 for 2-D point clouds."""
    real, fake = feature_sets(real, fake, "geometry_score", min_samples=landmarks)
    repetitions = whole_number("geometry_score's repetitions", repetitions, 1)
    return float(np.sum((mean_rlt(real, repetitions, seed, landmarks, gamma)
                         - mean_rlt(fake, repetitions, seed, landmarks, gamma)) ** 2))
