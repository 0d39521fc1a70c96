"""2-D mixtures of Gaussians for the mode-collapse laboratory (issue 33): their modes are known, so how many a
generator drops can be counted (zoo.metrics.modes.known_modes).

- `ring8`: 8 Gaussians of σ = 0.02 with means equally spaced on a circle of radius 2 (Metz et al. 2016, Unrolled
  GANs, https://arxiv.org/abs/1611.02163, appendix A: "mixture of 8 Gaussians ... standard deviation 0.02 ...
  circle of radius 2.0"). Means at angles 2πk/8 (the reference notebook's `np.linspace(0, 2π, 8)` repeats its
  first mean, which would leave 7 distinct modes).
- `grid25`: 25 Gaussians of σ = 0.05 with means on the 5×5 grid {-4, -2, 0, 2, 4}² (spacing 2; Srivastava et al.
  2017, VEEGAN, https://arxiv.org/abs/1705.07761, section 5.1 and their code's `grid_mog(std=0.05, space=2.0)`).

Each component is drawn with probability 1/K. The train split is an endless stream of fresh draws (a point is
never seen twice); its seed picks the stream. The test split is `TEST_SIZE` points of a fixed seed.

A point is a float32 [1, 1, 2] tensor, a 1×1 "image" whose two channels are (x, y) (`POINT_SHAPE`): zoo.train
and recipes.base take (H, W, C) data (zoo.train.build checks a height and a width, recipes.layers.check_image_shape
three dimensions), so this is the shape `datasets.load` gives; `as_points` turns any batch back into [N, 2].
"""
import dataclasses
import functools

import numpy as np
import tensorflow as tf

from zoo.errors import UserError

POINT_SHAPE = (1, 1, 2)
TEST_SIZE = 10000
TEST_SEED = 2**40  # never a training stream's seed (zoo.train's seeds are < 2**32)
CHUNK = 1024  # points drawn per stateless call of the endless train stream
SPLITS = ("train", "test")


@dataclasses.dataclass(frozen=True)
class Mixture:
    """A 2-D mixture of equally likely isotropic Gaussians: `centres` [K, 2] (the modes) and their σ."""

    name: str
    centres: np.ndarray
    sigma: float
    paper: str


def _ring(count, radius):
    angles = 2 * np.pi * np.arange(count) / count
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1).astype(np.float32)


def _grid(side, spacing):
    axis = spacing * (np.arange(side) - (side - 1) / 2)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2).astype(np.float32)


MIXTURES = {
    "ring8": Mixture("ring8", _ring(8, 2.0), 0.02, "Metz et al. 2016, https://arxiv.org/abs/1611.02163"),
    "grid25": Mixture("grid25", _grid(5, 2.0), 0.05, "Srivastava et al. 2017, https://arxiv.org/abs/1705.07761"),
}


def mixture(name):
    """The Mixture named `name`; a one-line UserError naming the known ones otherwise."""
    if name not in MIXTURES:
        raise UserError(f"unknown 2-D mixture {name!r}; accepted: {', '.join(MIXTURES)}")
    return MIXTURES[name]


def draw(name, count, seed):
    """`count` points [count, 2] (float32 tensor) of mixture `name` from the stateless seed `seed` (two integers):
    a component k ~ U{0..K-1}, then x = μ_k + σ·ε, ε ~ N(0, I₂); Philox, the same numbers on every device."""
    m = mixture(name)
    component_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2))
    component = tf.random.stateless_uniform([count], component_seed, 0, len(m.centres), tf.int32, alg="philox")
    noise = tf.random.stateless_normal([count, 2], noise_seed, alg="philox")
    return tf.gather(tf.constant(m.centres), component) + m.sigma * noise


@functools.cache
def _test_points(name):
    points = draw(name, TEST_SIZE, [TEST_SEED, 0]).numpy()
    points.flags.writeable = False
    return points


def test_points(name):
    """The fixed test split of mixture `name`: float32 [TEST_SIZE, 2], the same in every process."""
    return _test_points(mixture(name).name)


def check_split(name, split):
    """A one-line UserError unless `split` is one of SPLITS."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r} for {name}; accepted: {', '.join(SPLITS)}")


def reference_points(name, split):
    """A finite set of real points for evaluation: the test split, or for "train" `TEST_SIZE` fresh draws of a
    fixed seed (the endless train stream's stand-in: the same distribution, other points than the test's)."""
    check_split(name, split)
    if split == "test":
        return test_points(name)
    return draw(mixture(name).name, TEST_SIZE, [TEST_SEED, 1]).numpy()


def load(name, split="train", *, batch_size=None, seed=None, repeat=False, drop_remainder=True, prefetch=True):
    """tf.data of float32 points shaped `POINT_SHAPE`, no labels. "train": endless fresh draws, chunk c of the
    stream drawn from the stateless seed (seed or 0, c); "test": the `TEST_SIZE` test points in a fixed order,
    `repeat`ed if asked."""
    mixture(name)
    check_split(name, split)
    if split == "train":
        stream = int(seed or 0)
        ds = tf.data.Dataset.counter().map(lambda chunk: draw(name, CHUNK, tf.stack([tf.constant(stream, tf.int64),
                                                                                      chunk])))
        ds = ds.unbatch()
    else:
        ds = tf.data.Dataset.from_tensor_slices(test_points(name))
        ds = ds.repeat() if repeat else ds
    ds = ds.map(lambda point: tf.reshape(point, POINT_SHAPE))
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def as_points(batch):
    """Any array of points ([N, 2], or [N, 1, 1, 2] as datasets and generators give them) → float64 [N, 2]; a
    one-line UserError for anything else."""
    array = np.asarray(batch, np.float64)
    if array.ndim < 2 or array.shape[-1] != 2 or array.shape[1:-1] != (1,) * (array.ndim - 2):
        raise UserError(f"2-D points are [N, 2] or [N, 1, 1, 2]; received shape {list(array.shape)}")
    return array.reshape(len(array), 2)
