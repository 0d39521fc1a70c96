"""Data copying (memorization): the three-sample test of Meehan, Chaudhuri & Dasgupta 2020, "A
Non-Parametric Test to Detect Data-Copying in Generative Models" (AISTATS, https://arxiv.org/abs/2004.05675).

Let d(x) be the distance from x to its nearest training point. A generator that copies its training
set puts its samples closer to it than fresh data from the same distribution lies: d(Q) is then
stochastically smaller than d(P) for held-out real data P. A generator may copy in one region and
underfit in another, so the space is cut into cells (k-means on the training set) and each cell π
compares its m held-out and n generated points with the Mann-Whitney U test,

    U = #{(p, q): d(q) > d(p)} (ties count ½),   Z_U(π) = (U - mn/2) / sqrt(mn(m + n + 1)/12),

and C_T = Σ_π P(π)·Z_U(π) / Σ_π P(π) over the cells with enough points of both (P(π): the share of
held-out points in π). C_T ≪ 0 (the paper flags C_T < -3): samples sit closer to training images than
real unseen images do, i.e. copying; C_T ≈ 0: no more than held-out data; C_T ≫ 0: samples lie far from
the training data (underfitting). Real held-out images give C_T ≈ N(0, 1)-sized values.
"""
import numpy as np

CELLS = 20  # k of the k-means partition
MIN_PER_CELL = 20  # held-out and generated points a cell needs to enter C_T (U's normal approximation)


def nearest(points, reference, k=1, block_entries=2**24):
    """(distances [n, k], indices [n, k]) of each point's k nearest reference points (Euclidean), sorted.
    Points go in blocks of at most `block_entries` point-reference pairs (memory: 4 bytes each)."""
    points, reference = np.asarray(points, np.float32), np.asarray(reference, np.float32)
    squared_reference = np.sum(reference**2, axis=1)
    chunk = max(1, block_entries // len(reference))
    distances, indices = [], []
    for start in range(0, len(points), chunk):
        block = points[start:start + chunk]
        squared = np.sum(block**2, axis=1)[:, None] - 2.0 * block @ reference.T + squared_reference[None, :]
        candidates = np.argpartition(squared, k - 1, axis=1)[:, :k] if k < len(reference) else np.argsort(squared, 1)
        order = np.take_along_axis(squared, candidates, axis=1).argsort(axis=1)[:, :k]
        closest = np.take_along_axis(candidates, order, axis=1)
        distances.append(np.sqrt(np.maximum(np.take_along_axis(squared, closest, axis=1), 0.0)))
        indices.append(closest)
    return np.concatenate(distances), np.concatenate(indices)


def kmeans(points, k=CELLS, seed=0, iterations=25):
    """Centroids [k, dim] of Lloyd's k-means from k distinct points drawn with `seed`."""
    points = np.asarray(points, np.float64)
    centroids = points[np.random.default_rng(seed).choice(len(points), k, replace=False)]
    for _ in range(iterations):
        cells = nearest(points, centroids)[1][:, 0]
        moved = np.array([points[cells == c].mean(axis=0) if np.any(cells == c) else centroids[c] for c in range(k)])
        if np.allclose(moved, centroids):
            break
        centroids = moved
    return centroids


def mann_whitney_z(held_out, generated):
    """Z_U of the generated values against the held-out ones (U counts pairs with generated > held-out)."""
    m, n = len(held_out), len(generated)
    _, inverse, counts = np.unique(np.concatenate([held_out, generated]), return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]  # 1-based ranks, ties sharing their average
    u = ranks[m:].sum() - n * (n + 1) / 2.0
    return (u - m * n / 2.0) / np.sqrt(m * n * (m + n + 1) / 12.0)


class CopyingTest:
    """The training features' cells and the held-out points' distances, computed once; `score(generated)`
    is C_T of any number of generated sets against them (see the module docstring)."""

    def __init__(self, train, held_out, cells=CELLS, min_per_cell=MIN_PER_CELL, seed=0):
        self.train, self.cells, self.min_per_cell = train, cells, min_per_cell
        self.centroids = kmeans(train, cells, seed)
        self.held_distance = nearest(held_out, train)[0][:, 0]
        self.held_cell = nearest(held_out, self.centroids)[1][:, 0]

    def score(self, generated):
        """{"c_t", "cells_used", "cells"} of generated features."""
        generated_distance = nearest(generated, self.train)[0][:, 0]
        generated_cell = nearest(generated, self.centroids)[1][:, 0]
        weights, scores = [], []
        for cell in range(self.cells):
            p, q = self.held_distance[self.held_cell == cell], generated_distance[generated_cell == cell]
            if len(p) >= self.min_per_cell and len(q) >= self.min_per_cell:
                weights.append(len(p) / len(self.held_distance))
                scores.append(mann_whitney_z(p, q))
        if not weights:
            raise ValueError(f"no cell holds {self.min_per_cell} held-out and {self.min_per_cell} generated points: "
                             "use more samples or fewer cells")
        return {"c_t": float(np.dot(weights, scores) / np.sum(weights)), "cells_used": len(weights),
                "cells": self.cells}


def data_copying(train, held_out, generated, cells=CELLS, min_per_cell=MIN_PER_CELL, seed=0):
    """{"c_t", "cells_used", "cells"} of generated features against held-out ones, the training features
    being what copying would copy."""
    return CopyingTest(train, held_out, cells, min_per_cell, seed).score(generated)
