"""Many small optimisation problems solved as one batch: per-problem Adam on latent codes, shared by the
triangles benchmark's distances (zoo.data.triangles) and projection into a generator (zoo.projection).

The objective returns one loss per problem and Adam sees the gradient of their sum, so each problem's
codes move as if optimised alone (Adam's moments are per element)."""
import math

import numpy as np
import tensorflow as tf

BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-8


def adam_moments(params):
    """Zero first and second moments for `params` (a tensor or a list of tensors)."""
    zeros = tf.nest.map_structure(tf.zeros_like, params)
    return zeros, tf.nest.map_structure(tf.zeros_like, params)


def adam_step(objective, params, moments, step, steps, rate, final_rate, project=None):
    """One Adam step (β = 0.9, 0.999) at `step` of `steps` (0-based), the rate decaying geometrically from
    `rate` to `final_rate`: lr = rate · (final_rate / rate)^(step / steps). `objective(params, fraction)
    -> (loss, distance)`, both [batch]; `project` maps the params back after the step.
    Returns (params, moments, distance before the step)."""
    t = tf.cast(step + 1, tf.float32)
    # bias corrections 1 - β^t as -expm1(t·ln β): in float32, 1 - 0.999^t loses five digits to cancellation
    correction_1, correction_2 = -tf.math.expm1(t * math.log(BETA_1)), -tf.math.expm1(t * math.log(BETA_2))
    fraction = tf.cast(step, tf.float32) / tf.cast(steps, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss, distance = objective(params, fraction)
        total = tf.reduce_sum(loss)
    grads = tape.gradient(total, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    first, second = moments
    first = tf.nest.map_structure(lambda m, g: BETA_1 * m + (1 - BETA_1) * g, first, grads)
    second = tf.nest.map_structure(lambda s, g: BETA_2 * s + (1 - BETA_2) * g ** 2, second, grads)
    step_rate = rate * (final_rate / rate) ** fraction
    params = tf.nest.map_structure(
        lambda p, m, s: p - step_rate * (m / correction_1) / (tf.sqrt(s / correction_2) + EPSILON),
        params, first, second)
    if project is not None:
        params = project(params)
    return params, (first, second), distance


def adam(objective, params, steps, rate, final_rate, project=None, track_from=0.0):
    """`steps` of `adam_step` from `params`; the smallest distance seen from step fraction `track_from` on
    is returned with the last params. Run inside tf.function."""
    moments = adam_moments(params)
    best = tf.fill(tf.shape(tf.nest.flatten(params)[0])[:1], np.inf)
    for i in tf.range(steps):
        fraction = tf.cast(i, tf.float32) / tf.cast(steps, tf.float32)
        params, moments, distance = adam_step(objective, params, moments, i, steps, rate, final_rate, project)
        best = tf.where(fraction >= track_from, tf.minimum(best, distance), best)
    return best, params


def chunks(x, chunk):
    """(start, count, chunk, slice) for consecutive slices of `chunk` images (fewer if x is smaller),
    the last one padded with -1 images so that all have one shape (one trace)."""
    chunk = max(1, min(chunk, len(x)))
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        yield start, len(part), chunk, np.concatenate([part, -np.ones((chunk - len(part),) + x.shape[1:], x.dtype)])


def best_of(distances, restarts, count):
    """[restarts · chunk] → the smallest over restarts of the first `count` problems."""
    return np.asarray(distances).reshape(restarts, -1).min(axis=0)[:count]
