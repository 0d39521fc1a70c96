"""Fréchet distance between Gaussians fitted to features (FID: Heusel et al. 2017,
https://arxiv.org/abs/1706.08500), with TF-GAN's definition:

    FID = ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2 (Σ₁Σ₂)^½)

in float64, Σ the unbiased covariance, and Tr((Σ₁Σ₂)^½) = Tr((A Σ₂ A)^½) with A = Σ₁^½,
where both square roots are of symmetric matrices, taken by SVD with singular values
below 1e-10 left unrooted, which keeps rank-deficient covariances (n < d) stable.
"""
import numpy as np
import tensorflow as tf


class FeatureMoments:
    """Streaming mean and unbiased covariance of feature vectors, accumulated in float64
    (memory O(d²), independent of the number of samples)."""

    def __init__(self, dim):
        self.count = 0
        self.total = np.zeros(dim, np.float64)
        self.outer = np.zeros((dim, dim), np.float64)
        self.shift = None  # first batch's mean: accumulating around it avoids cancellation

    def update(self, features):
        features = np.asarray(features, np.float64)
        if features.ndim != 2 or features.shape[1] != self.total.shape[0]:
            raise ValueError(f"Expected features of shape [n, {self.total.shape[0]}]. Received: {features.shape}")
        if self.shift is None:
            self.shift = features.mean(axis=0)
        centred = features - self.shift
        self.count += len(features)
        self.total += centred.sum(axis=0)
        self.outer += centred.T @ centred
        return self

    @property
    def mean(self):
        return self.shift + self.total / self.count

    @property
    def covariance(self):
        """Unbiased: (Σ (x - x̄)(x - x̄)ᵀ) / (n - 1)."""
        if self.count < 2:
            raise ValueError(f"A covariance needs at least 2 samples. Received: {self.count}")
        centred_mean = self.total / self.count
        return (self.outer - self.count * np.outer(centred_mean, centred_mean)) / (self.count - 1)

    @classmethod
    def of(cls, features):
        features = np.asarray(features)
        return cls(features.shape[1]).update(features)


def symmetric_sqrt(matrix, eps=1e-10):
    """M^½ of a symmetric PSD matrix by SVD; singular values < eps are kept as they are."""
    s, u, v = tf.linalg.svd(tf.convert_to_tensor(matrix, tf.float64))
    roots = tf.where(s < eps, s, tf.sqrt(s))
    return tf.matmul(u * roots[None, :], v, transpose_b=True)


def trace_sqrt_product(sigma1, sigma2):
    """Tr((Σ₁Σ₂)^½) = Tr((A Σ₂ A)^½), A = Σ₁^½ (both factors symmetric)."""
    root = symmetric_sqrt(sigma1)
    return tf.linalg.trace(symmetric_sqrt(root @ tf.convert_to_tensor(sigma2, tf.float64) @ root))


def frechet_distance(mean1, sigma1, mean2, sigma2):
    """‖μ₁ - μ₂‖² + Tr(Σ₁) + Tr(Σ₂) - 2 Tr((Σ₁Σ₂)^½), in float64."""
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mean1.shape != mean2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mean1.shape * 2:
        raise ValueError(f"Expected two means of shape [d] and two covariances of shape [d, d], one d for all four. "
                         f"Received: means {mean1.shape} {mean2.shape}, covariances {sigma1.shape} {sigma2.shape}")
    covariance_term = np.trace(sigma1) + np.trace(sigma2) - 2.0 * float(trace_sqrt_product(sigma1, sigma2))
    return float(np.sum(np.square(mean1 - mean2)) + covariance_term)


def fid_from_moments(moments1, moments2):
    return frechet_distance(moments1.mean, moments1.covariance, moments2.mean, moments2.covariance)


def fid_from_activations(activations1, activations2):
    """FID of two [n, d] activation arrays (TF-GAN's `frechet_classifier_distance_from_activations`)."""
    return fid_from_moments(FeatureMoments.of(activations1), FeatureMoments.of(activations2))
