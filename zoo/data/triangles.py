"""Gray triangles: the synthetic benchmark of Lucic et al. 2018 ("Are GANs Created Equal?",
https://arxiv.org/abs/1711.10337) on which precision, recall and F1 of a generator can be
measured, because the distance of any image to the data manifold can be computed.

Images are 28×28×1 in [-1, 1]: background -1, a filled triangle +1, edges anti-aliased. Vertices are
float32 [batch, 3, 2] in pixel units, (x, y) = (column, row), the image spanning [0, size]² and pixel
(i, j) centred at (j + 0.5, i + 0.5). The data manifold M is the set of renders of the triangles the
dataset draws from: vertices in [MARGIN, size - MARGIN]², area ≥ MIN_AREA_FRACTION · size².

    d(x)  = min_{v ∈ M} RMS(render(v) - x)        distance to the manifold (`manifold_distance`)
    d_G(x) = min_z RMS(G(z) - x)                  distance to the generator's range (`invert`)
    precision = P_z[d(G(z)) < δ],  recall = P_x~test[d_G(x) < δ],  F1 = 2PR / (P + R)

Both minimisations are non-convex and solved by Adam from a few starts, keeping the best: the
distances returned are upper bounds of the true ones, so precision and recall are lower bounds.
"""

import functools
import inspect
import os

import numpy as np
import tensorflow as tf

from zoo import files
from zoo.errors import UserError
from zoo.latent_search import adam, best_of, chunks

SIZE = 28
MARGIN = 2.0  # px between the image border and every vertex, so edges are never cut off
MIN_AREA_FRACTION = 0.1  # triangles smaller than this fraction of the image are rejected
SHARPNESS = 2.0  # 1 / τ: edges are sigmoid(distance / τ) with a softness τ = 0.5 px
SPLITS = {"train": (60000, 20180), "test": (10000, 20181)}  # split -> (count, seed)
THRESHOLD = 0.3  # δ, RMS in [-1, 1] units; see precision_recall_f1
MANIFOLD_RESTARTS, MANIFOLD_STEPS, MANIFOLD_RATES = 2, 100, (1.0, 0.05)  # Adam rates in px, first → last step
INVERT_RESTARTS, INVERT_STEPS, INVERT_RATES = 1, 100, (0.2, 0.02)  # Adam rates in z units
RENDER_CHUNK = 8192  # images rendered per call when building a split

_IMAGES_CACHE = {}  # (split, size) -> read-only uint8 array


# ---------------------------------------------------------------- rendering

def _check_vertices(vertices):
    vertices = tf.convert_to_tensor(vertices, tf.float32)
    if vertices.shape.rank != 3 or tuple(vertices.shape[1:]) != (3, 2):
        raise UserError(f"vertices must be [batch, 3, 2] (x, y) pixel coordinates; received: shape={vertices.shape}")
    return vertices


def signed_area(vertices):
    """S(v) = ½ · cross(v₁ - v₀, v₂ - v₀), [batch]; positive when the vertices turn from +x to +y."""
    e1, e2 = vertices[:, 1] - vertices[:, 0], vertices[:, 2] - vertices[:, 0]
    return 0.5 * (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


def render(vertices, size=SIZE, sharpness=SHARPNESS):
    """Triangles [batch, 3, 2] (pixel units) → images [batch, size, size, 1] in [-1, 1].

    pixel = 2 · Π_k σ(sharpness · d_k(p)) - 1, with d_k(p) the signed distance in pixels from the
    pixel centre p to edge k, positive inside whatever the winding (the sign of S(v) fixes it).
    Differentiable in the vertices."""
    v = _check_vertices(vertices)
    edge = tf.roll(v, -1, axis=1) - v  # edge k: v_k → v_{k+1}
    orientation = tf.where(signed_area(v) < 0, -1.0, 1.0)[:, None]
    scale = sharpness * orientation / tf.sqrt(tf.reduce_sum(edge ** 2, axis=-1) + 1e-12)
    # sharpness · d_k(x, y) = a_k·x + b_k·y + c_k, the cross product (v_{k+1} - v_k) × (p - v_k) scaled
    a, b = -edge[..., 1] * scale, edge[..., 0] * scale
    c = -(a * v[..., 0] + b * v[..., 1])
    centres = tf.range(size, dtype=tf.float32) + 0.5
    columns = (a[..., None] * centres + c[..., None])[:, :, None, :]  # [batch, 3, 1, size]
    rows = (b[..., None] * centres)[:, :, :, None]  # [batch, 3, size, 1]
    inside = tf.sigmoid(columns + rows)
    return (2.0 * inside[:, 0] * inside[:, 1] * inside[:, 2] - 1.0)[..., None]


# ---------------------------------------------------------------- the dataset

def min_area(size=SIZE):
    """The smallest area of a data triangle, in px²."""
    return MIN_AREA_FRACTION * size * size


def triangle_vertices(count, seed=0, size=SIZE):
    """`count` triangles [count, 3, 2] float32: vertices uniform in [MARGIN, size - MARGIN]²,
    triangles of area < MIN_AREA_FRACTION · size² redrawn. Deterministic for a seed."""
    if count < 0:
        raise UserError(f"count must be >= 0; received: count={count}")
    rng, kept, found = np.random.default_rng(seed), [], 0
    while found < count:
        draw = rng.uniform(MARGIN, size - MARGIN, (2 * (count - found) + 64, 3, 2))
        e1, e2 = draw[:, 1] - draw[:, 0], draw[:, 2] - draw[:, 0]
        good = draw[0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) >= min_area(size)]
        kept.append(good[:count - found])
        found += len(kept[-1])
    return np.concatenate(kept).astype(np.float32)


def triangle_images(split, size=SIZE):
    """The split's images, uint8 [N, size, size, 1], pixel = round(127.5 · (render + 1)): N = 60000
    for "train", 10000 for "test", each from its own fixed seed. Rendered once (the train split takes
    ~10 s) and kept in the on-disk cache (`files.CACHE_DIR`/triangles, checksummed) and per process."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r} for triangles; accepted: {', '.join(SPLITS)}")
    key = (split, int(size))
    if key not in _IMAGES_CACHE:
        count, seed = SPLITS[split]
        name = f"{split}-{count}-seed{seed}-{size}px-{_renderer_digest()}.npz"
        arrays, _ = files.cached_arrays(files.cache_path("triangles", name),
                                        lambda: {"images": _render_split(count, seed, size)})
        images = arrays["images"]
        images.flags.writeable = False
        _IMAGES_CACHE[key] = images
    return _IMAGES_CACHE[key]


@functools.cache
def _renderer_digest():
    """What the cached pixels depend on besides split and size: the code and constants that draw and render
    them, and the NumPy and TensorFlow versions; another renderer never reads old images."""
    code = "".join(_source(function) for function in (triangle_vertices, render, _render_split))
    constants = (MARGIN, MIN_AREA_FRACTION, SHARPNESS, np.__version__, tf.__version__)
    return files.sha256_of_bytes((code + repr(constants)).encode())[:16]


def _source(function):
    try:
        return inspect.getsource(function)
    except OSError:  # no source shipped: the bytecode stands for it
        return function.__code__.co_code.hex()


def _render_split(count, seed, size):
    """`count` triangles of `seed`, rendered in chunks, as uint8 pixels."""
    vertices = triangle_vertices(count, seed, size)
    chunks = [render(vertices[i:i + RENDER_CHUNK], size).numpy() for i in range(0, count, RENDER_CHUNK)]
    return np.round((np.concatenate(chunks) + 1.0) * 127.5).astype(np.uint8)


# ---------------------------------------------------------------- valid triangles

def _reference(size, orientation):
    """The equilateral triangle inscribed in the vertex box's incircle, wound like `orientation`."""
    angles = np.radians([-90.0, 30.0, 150.0])
    corners = size / 2 + (size / 2 - MARGIN) * np.stack([np.cos(angles), np.sin(angles)], -1)
    reference = tf.constant(corners[None], tf.float32)
    flipped = tf.gather(reference, [0, 2, 1], axis=1)
    return tf.where((orientation * signed_area(reference))[:, None, None] > 0, reference, flipped)


def _enlarge(v, size, iterations=24):
    """v + t·(r - v), r a large reference triangle wound like v, t ∈ [0, 1] found by bisection so the
    area reaches min_area(size) (t = 0 for valid triangles). The box is convex: v stays inside."""
    orientation = tf.where(signed_area(v) < 0, -1.0, 1.0)
    step = _reference(size, orientation) - v

    def valid(t, area):
        return orientation * signed_area(v + t[:, None, None] * step) >= area

    target = min_area(size) * 1.001  # the float32 error must not take it below the minimum
    def bisect(low, high):
        middle = (low + high) / 2
        ok = valid(middle, target)
        return tf.where(ok, low, middle), tf.where(ok, middle, high)

    low, high = tf.while_loop(lambda *_: True, bisect, (tf.zeros_like(orientation), tf.ones_like(orientation)),
                              maximum_iterations=iterations)
    t = tf.where(valid(tf.zeros_like(low), min_area(size)), 0.0, high)
    return v + tf.stop_gradient(t)[:, None, None] * step


def _heighten(v, size, move_base):
    """Raise a triangle to the minimum area along the normal of its longest edge: move the opposite
    vertex (the apex) away from that edge, or with `move_base` the edge away from the apex."""
    edge = tf.roll(v, -1, axis=1) - v  # edge k: v_k → v_{k+1}, opposite vertex k + 2
    length = tf.sqrt(tf.reduce_sum(edge ** 2, axis=-1) + 1e-12)
    longest = tf.argmax(length, axis=1, output_type=tf.int32)
    base_length = tf.gather(length, longest, batch_dims=1)
    direction = tf.gather(edge, longest, batch_dims=1) / base_length[:, None]
    normal = tf.stack([-direction[:, 1], direction[:, 0]], axis=-1)
    apex_mask = tf.one_hot((longest + 2) % 3, 3)[..., None]  # [batch, 3, 1]
    apex = tf.reduce_sum(apex_mask * v, axis=1)
    height = tf.reduce_sum((apex - tf.gather(v, longest, batch_dims=1)) * normal, axis=-1)  # signed
    wanted = 2.0 * min_area(size) * 1.001 / base_length
    apex_move = (tf.where(height < 0, -wanted, wanted) - height)[:, None] * normal
    move = -(1.0 - apex_mask) * apex_move[:, None] if move_base else apex_mask * apex_move[:, None]
    return v + tf.stop_gradient(move)


def project(vertices, size=SIZE):
    """Any triangles → valid ones (vertices in the box, area ≥ min_area): clip to the box; raise
    a too flat triangle (`_heighten`) by its apex, else by its base, clipping after each move; at
    last `_enlarge`. Valid triangles are unchanged, nearly valid ones move little; the moves carry
    no gradient."""
    low, high = MARGIN, size - MARGIN
    v = tf.clip_by_value(tf.convert_to_tensor(vertices, tf.float32), low, high)
    for move_base in (False, True):
        small = (tf.abs(signed_area(v)) < min_area(size))[:, None, None]
        v = tf.clip_by_value(tf.where(small, _heighten(v, size, move_base), v), low, high)
    return _enlarge(v, size)


# ---------------------------------------------------------------- optimisation

def _check_images(images, what="images"):
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[1:] != (SIZE, SIZE, 1):
        raise UserError(f"{what} must be [N, {SIZE}, {SIZE}, 1] in [-1, 1]; received: shape={images.shape}")
    return images


def _check_search(restarts, steps):
    """(restarts, steps) as ints >= 1."""
    if int(restarts) < 1 or int(steps) < 1:
        raise UserError(f"restarts and steps must be >= 1; received: restarts={restarts}, steps={steps}")
    return int(restarts), int(steps)


# ---------------------------------------------------------------- distance to the manifold

def _guess(x):
    """Triangles read off images [n, 28, 28, 1]: of the bright pixels (> 0), a is the farthest from
    their centroid, b the farthest from a, c the farthest from the line ab."""
    bright = x.reshape(len(x), -1) > 0
    centres = np.arange(SIZE, dtype=np.float32) + 0.5
    points = np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 2)  # (x, y) of pixel i·SIZE + j

    def farthest(score):
        return points[np.where(bright, score, -1.0).argmax(axis=1)]

    centroid = bright @ points / np.maximum(bright.sum(axis=1, keepdims=True), 1)
    a = farthest(((points[None] - centroid[:, None]) ** 2).sum(-1))
    b = farthest(((points[None] - a[:, None]) ** 2).sum(-1))
    ab, ap = (b - a)[:, None], points[None] - a[:, None]
    c = farthest(np.abs(ab[..., 0] * ap[..., 1] - ab[..., 1] * ap[..., 0]))
    return np.clip(np.stack([a, b, c], axis=1), MARGIN, SIZE - MARGIN)


def _mse(a, b):
    return tf.reduce_mean(tf.square(a - b), axis=[1, 2, 3])


@tf.function(reduce_retracing=True)
def _fit_triangles(x, vertices, steps):
    """Per problem, the smallest RMS(render(v), x) found by projected Adam (`project` after every
    step: every iterate is a valid triangle) from `vertices`. Edges start soft (τ = 2 px, wider
    basins) and reach SHARPNESS halfway; the distances count from there on."""
    def objective(v, fraction):
        error = _mse(render(v, sharpness=SHARPNESS * tf.minimum(0.25 + 1.5 * fraction, 1.0)), x)
        return error, error

    best, last = adam(objective, project(vertices), steps, *MANIFOLD_RATES, project, track_from=0.5)
    return tf.sqrt(tf.minimum(best, _mse(render(last), x)))


def manifold_distance(images, restarts=MANIFOLD_RESTARTS, steps=MANIFOLD_STEPS, seed=0, chunk=500):
    """d(x) = min_{v ∈ M} RMS(render(v) - x) for images [N, 28, 28, 1] in [-1, 1] → float32 [N].

    Projected Adam on the vertices (pixel units) from `restarts` starts: the triangle read off the
    bright pixels (`_guess`), then random data triangles; the best is kept; `chunk` images at a
    time. An upper bound of the true distance (non-convex problem): with the defaults, test
    triangles come out at ≤ 0.01."""
    x = _check_images(images)
    restarts, steps = _check_search(restarts, steps)
    distances = [np.zeros(0, np.float32)]
    for start, count, size, part in chunks(x, chunk):
        starts = [_guess(part)] + [triangle_vertices(size, [seed, start, r]) for r in range(1, restarts)]
        found = _fit_triangles(tf.constant(np.tile(part, (restarts, 1, 1, 1))), tf.constant(np.concatenate(starts)),
                               tf.constant(steps))
        distances.append(best_of(found, restarts, count))
    return np.concatenate(distances)


# ---------------------------------------------------------------- generator inversion

def _as_function(generator):
    """A Keras model runs in inference mode (batch norm statistics), other callables as they are."""
    import keras  # only for the isinstance check

    if isinstance(generator, keras.layers.Layer):
        return lambda z: generator(z, training=False)
    if not callable(generator):
        raise UserError(f"generator must be callable z [n, latent_dim] → images; received: {generator!r}")
    return generator


def _generated(call, z):
    images = tf.cast(call(z), tf.float32)
    if tuple(images.shape[1:]) != (SIZE, SIZE, 1):
        raise UserError(f"the generator must return [n, {SIZE}, {SIZE}, 1] images; received: shape={images.shape}")
    return images


def invert(generator, images, latent_dim, restarts=INVERT_RESTARTS, steps=INVERT_STEPS, seed=0, chunk=250):
    """d_G(x) = min_z RMS(G(z) - x) for images [N, 28, 28, 1] in [-1, 1] → float32 [N].

    Adam on z from `restarts` draws z ~ N(0, I), the best kept, `chunk` images at a time; z is not
    constrained to the prior's typical set. An upper bound of the true distance (non-convex
    problem). A Keras model runs with training=False."""
    x = _check_images(images)
    restarts, steps = _check_search(restarts, steps)
    if int(latent_dim) < 1:
        raise UserError(f"latent_dim must be >= 1; received: latent_dim={latent_dim}")
    call = _as_function(generator)
    _generated(call, tf.zeros([1, int(latent_dim)]))  # a wrong output shape is reported here, not in the trace

    @tf.function
    def fit(x, z):
        def objective(z, fraction):
            error = _mse(_generated(call, z), x)
            return error, error

        best, last = adam(objective, z, tf.constant(steps), *INVERT_RATES)
        return tf.sqrt(tf.minimum(best, _mse(_generated(call, last), x)))

    rng, distances = np.random.default_rng(seed), [np.zeros(0, np.float32)]
    for _, count, size, part in chunks(x, chunk):
        z = tf.constant(rng.standard_normal((restarts * size, int(latent_dim)), np.float32))
        distances.append(best_of(fit(tf.constant(np.tile(part, (restarts, 1, 1, 1))), z), restarts, count))
    return np.concatenate(distances)


# ---------------------------------------------------------------- precision, recall, F1

def data_generator(latent_dim=6, size=SIZE):
    """A differentiable generator whose range is the manifold M, for tests and as a reference:
    z [n, latent_dim ≥ 6] ~ N(0, I) → render(project(MARGIN + (size - 2·MARGIN) · Φ(z[:, :6]))),
    Φ the normal CDF (vertices uniform in the box before `project`); extra latent dimensions are
    ignored. Too small triangles are raised to the minimum area rather than redrawn, so its
    distribution is not the data's (most of its triangles have the minimum area)."""
    if int(latent_dim) < 6:
        raise UserError(f"the data generator needs latent_dim >= 6 (three vertices); received: latent_dim={latent_dim}")

    def generate(z):
        uniform = 0.5 * (1.0 + tf.math.erf(tf.cast(z[:, :6], tf.float32) / np.sqrt(2.0)))
        vertices = MARGIN + (size - 2 * MARGIN) * tf.reshape(uniform, [-1, 3, 2])
        return render(project(vertices, size), size)

    return generate


def _sample(call, latent_dim, count, seed, batch=500):
    z = np.random.default_rng(seed).standard_normal((count, int(latent_dim)), np.float32)
    return np.concatenate([np.zeros((0, SIZE, SIZE, 1), np.float32)] +
                          [_generated(call, tf.constant(z[i:i + batch])).numpy() for i in range(0, count, batch)])


def precision_recall_f1(generator, latent_dim, num_samples=1000, threshold=THRESHOLD, seed=0, *,
                        manifold_restarts=MANIFOLD_RESTARTS, manifold_steps=MANIFOLD_STEPS,
                        inversion_restarts=INVERT_RESTARTS, inversion_steps=INVERT_STEPS):
    """Precision, recall and F1 of a generator of triangles (Lucic et al. 2018):

        precision = mean_i [d(G(z_i)) < δ],  z_i ~ N(0, I)       (`manifold_distance`)
        recall    = mean_j [min_z RMS(G(z) - x_j) < δ]            (`invert`, the first test triangles)
        F1        = 2PR / (P + R)  (0 when P = R = 0)

    over `num_samples` samples and as many test triangles. The threshold δ = 0.3 (RMS, images in
    [-1, 1]) is about what moving every vertex by 1.5 px costs (median 0.21, 90th percentile 0.28;
    1 px: at most 0.25; 2 px: median 0.28), while data triangles lie at ≤ 0.01 and a blank image
    at 0.56, a gray one at 0.89, uniform noise at 1.0. Returns precision, recall, f1, the mean
    distances (manifold_distance of the samples, inversion_distance of the test triangles) and the
    protocol."""
    count = int(num_samples)
    if not 1 <= count <= SPLITS["test"][0]:
        raise UserError(f"num_samples must be in 1..{SPLITS['test'][0]} (the test split); received: {num_samples}")
    if not threshold > 0:
        raise UserError(f"threshold must be > 0; received: threshold={threshold}")
    call = _as_function(generator)
    samples = _sample(call, latent_dim, count, seed)
    sample_distance = manifold_distance(samples, manifold_restarts, manifold_steps, seed)
    test = triangle_images("test")[:count].astype(np.float32) / 127.5 - 1.0
    inversion_distance = invert(call, test, latent_dim, inversion_restarts, inversion_steps, seed + 1)
    precision = float(np.mean(sample_distance < threshold))
    recall = float(np.mean(inversion_distance < threshold))
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0,
            "manifold_distance": float(sample_distance.mean()), "inversion_distance": float(inversion_distance.mean()),
            "protocol": {"threshold": float(threshold), "num_samples": count, "seed": int(seed),
                         "manifold_restarts": int(manifold_restarts), "manifold_steps": int(manifold_steps),
                         "inversion_restarts": int(inversion_restarts), "inversion_steps": int(inversion_steps)}}
