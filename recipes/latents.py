"""Seed → latent z: the one definition every runtime uses (Python API, evaluation, training previews,
the SavedModel `sample` signature, the server, and the z handed to TFLite and ONNX files).

Sample `index` of seed `seed` has z = tf.random.stateless_normal([latent_dim], seed=(seed, index),
alg="philox"). Philox is counter-based: each z is drawn without the ones before it, so chunking
does not matter, and CPU, GPU and TPU agree (the algorithm is explicit). A seed's stream is
indices 0, 1, 2, ...; "seed s" on its own means index 0 of stream s, so `g.sample(1, seed=s)`,
`g.sample_seeds([s])` and a served `{"seed": s}` are the same image.
"""
import functools

import numpy as np
import tensorflow as tf

MAX_SEED = 2**63 - 1  # seeds and indices are int64
STREAM = "tf.random.stateless_normal, philox, key (seed, sample index)"  # recorded in evaluation protocols


def latents(seeds, indices, latent_dim):
    """z [batch, latent_dim] ~ N(0, I): row i from the Philox key (seeds[i], indices[i]). Traceable
    (the SavedModel's `sample` signature calls it in its graph)."""
    keys = tf.stack([tf.cast(seeds, tf.int64), tf.cast(indices, tf.int64)], axis=1)
    return tf.map_fn(lambda key: tf.random.stateless_normal([latent_dim], seed=key, alg="philox"), keys,
                     fn_output_signature=tf.float32)


def first_latents(seeds, latent_dim):
    """z of each seed's first sample (index 0): "seed s" on its own. Traceable."""
    return latents(seeds, tf.zeros_like(seeds), latent_dim)


@functools.lru_cache(maxsize=None)
def _compiled(latent_dim):
    spec = tf.TensorSpec([None], tf.int64)
    return tf.function(lambda seeds, indices: latents(seeds, indices, latent_dim), input_signature=[spec, spec])


def slerp(z_a, z_b, fractions):
    """Spherical interpolation from z_a to z_b ([latent_dim] each) at `fractions` in [0, 1]: rows
    sin((1-t)Ω)/sin Ω · z_a + sin(tΩ)/sin Ω · z_b, Ω the angle between them (White 2016,
    https://arxiv.org/abs/1609.04468: Gaussian z lies near a sphere, and the straight line between two
    draws passes through the improbable region near the origin). Linear when the two are parallel."""
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    t = np.asarray(fractions, np.float64)[:, None]
    cosine = np.dot(z_a, z_b) / max(np.linalg.norm(z_a) * np.linalg.norm(z_b), 1e-12)
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return ((1 - t) * z_a + t * z_b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * z_a + np.sin(t * omega) * z_b) / np.sin(omega)).astype(np.float32)


def stream_latents(seed, start, count, latent_dim):
    """z of samples [start, start + count) of seed `seed`, as float32 numpy: what `g.sample(n, seed)`
    draws and `gan-zoo evaluate` scores for that seed."""
    indices = np.arange(start, start + count, dtype=np.int64)
    return _compiled(int(latent_dim))(np.full(count, seed, np.int64), indices).numpy()


def seed_latents(seeds, latent_dim):
    """`first_latents` as float32 numpy: one z per seed."""
    return _compiled_first(int(latent_dim))(np.asarray(seeds, np.int64).reshape(-1)).numpy()


@functools.lru_cache(maxsize=None)
def _compiled_first(latent_dim):
    spec = tf.TensorSpec([None], tf.int64)
    return tf.function(lambda seeds: first_latents(seeds, latent_dim), input_signature=[spec])
