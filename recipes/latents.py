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


# --- BigGAN's truncation trick, deterministic in z ----------------------------------------------------------------
def truncated_normal(z, psi):
    """z ~ N(0, I) mapped coordinate-wise onto the normal truncated to [−τ, τ]: z' = √2·erfinv(ψ·erf(z/√2)), i.e.
    z' = Φ⁻¹(½ + ψ(Φ(z) − ½)), with ψ = P(|z| ≤ τ) = erf(τ/√2) the probability mass kept. z' has the distribution
    of BigGAN's truncation trick (Brock et al. 2018, https://arxiv.org/abs/1809.11096, section 3.1: values outside
    [−τ, τ] resampled until inside) but is a function of z, so a seed keeps its image and an exported model takes
    z: the paper's thresholds τ = 2, 1, 0.5, 0.04 are ψ = 0.954, 0.683, 0.383, 0.032. ψ ≥ 1: z unchanged (no
    truncation); ψ → 0: z' → 0. `psi` a number or one value per row ([batch]). Basic ops only (`_erf`, `_erfinv`:
    TFLite and ONNX have no Erfinv)."""
    z = tf.convert_to_tensor(z, tf.float32)
    psi = tf.convert_to_tensor(psi, tf.float32)
    if psi.shape.rank == 1:
        psi = psi[:, None]
    kept = tf.where(psi < 1.0, psi, 0.0) * _erf(z / np.sqrt(2.0))  # |kept| ≤ ψ < 1: erfinv stays finite
    return tf.where(psi >= 1.0, z, np.sqrt(2.0) * _erfinv(kept))


def _erf(x):
    """erf(x) to 1.5e-7 (Abramowitz & Stegun 1964, formula 7.1.26), odd in x."""
    t = 1.0 / (1.0 + 0.3275911 * tf.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return tf.sign(x) * (1.0 - poly * tf.exp(-x * x))


_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                   -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                0.00943887047, 1.00167406, 2.83297682)


def _erfinv(y):
    """erfinv(y) for |y| < 1 in single precision (Giles 2012, "Approximating the erfinv function", GPU Computing
    Gems Jade: w = −log(1 − y²), a polynomial in w − 2.5 for w < 5, else in √w − 3, times y)."""
    w = -tf.math.log((1.0 - y) * (1.0 + y))
    central, tail = w - 2.5, tf.sqrt(w) - 3.0
    p_central, p_tail = tf.zeros_like(y), tf.zeros_like(y)
    for a, b in zip(_ERFINV_CENTRAL, _ERFINV_TAIL):
        p_central, p_tail = p_central * central + a, p_tail * tail + b
    return tf.where(w < 5.0, p_central, p_tail) * y
