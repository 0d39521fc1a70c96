"""Kernel distance (KID: Bińkowski et al. 2018, https://arxiv.org/abs/1801.01401) with
TF-GAN's block estimator: an unbiased MMD² with the cubic polynomial kernel

    k(x, y) = (xᵀy / d + 1)³,
    MMD²_b = Σ_{i≠j} k(rᵢ, rⱼ) / (m(m-1)) + Σ_{i≠j} k(gᵢ, gⱼ) / (n(n-1)) - 2 mean k(rᵢ, gⱼ)

on each of B = ⌈max(N_r, N_g) / block_size⌉ contiguous blocks (sizes differing by at
most one); KID = mean_b MMD²_b, its standard error = std_b / √B (NaN for one block).
Samples must be in random order.
"""
import math

import numpy as np


def block_bounds(count, blocks):
    """Start/end of `blocks` contiguous blocks over `count` items; the last `count % blocks` get one more."""
    base, extra = divmod(count, blocks)
    sizes = [base] * (blocks - extra) + [base + 1] * extra
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return list(zip(edges[:-1], edges[1:]))


def polynomial_kernel(a, b):
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def unbiased_mmd2(real, fake):
    """One block's unbiased MMD² with the cubic polynomial kernel."""
    m, n = len(real), len(fake)
    k_rr, k_gg = polynomial_kernel(real, real), polynomial_kernel(fake, fake)
    within_real = (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
    within_fake = (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1))
    return within_real + within_fake - 2.0 * polynomial_kernel(real, fake).mean()


def kid_from_activations(real, fake, block_size=1024):
    """(KID, standard error) of two [n, d] activation arrays, in float64."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    blocks = math.ceil(max(len(real), len(fake)) / block_size)
    estimates = np.array([
        unbiased_mmd2(real[r0:r1], fake[g0:g1])
        for (r0, r1), (g0, g1) in zip(block_bounds(len(real), blocks), block_bounds(len(fake), blocks))
    ])
    mean = float(estimates.mean())
    if blocks <= 1:
        return mean, float("nan")
    return mean, float(np.sqrt(estimates.var(ddof=1) / blocks))
