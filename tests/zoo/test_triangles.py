"""Tests for zoo.data.triangles: the renderer, the dataset behind datasets.load("triangles"), the
distance to the triangle manifold and precision / recall of generators."""

import numpy as np
import pytest
import tensorflow as tf

from zoo import files
from zoo.data import datasets, triangles
from zoo.errors import UserError

BIG = np.array([[[3.0, 3.0], [25.0, 4.0], [4.0, 25.0]]], np.float32)  # (x, y) pixel units


def test_render_fills_the_interior_and_leaves_the_background():
    image = triangles.render(BIG).numpy()[0, ..., 0]
    assert image.shape == (28, 28)
    assert image[8, 8] == pytest.approx(1.0, abs=0.01)  # row 8, column 8: deep inside
    assert image[24, 24] == pytest.approx(-1.0, abs=1e-4)  # beyond the hypotenuse
    assert image[0, 14] == pytest.approx(-1.0, abs=0.01)  # 3 px above the top edge
    assert -1.0 <= image.min() and image.max() <= 1.0


def test_render_is_independent_of_the_winding():
    vertices = np.concatenate([BIG, triangles.triangle_vertices(8, seed=1)])
    forward = triangles.render(vertices).numpy()
    assert np.allclose(triangles.render(vertices[:, ::-1]).numpy(), forward, atol=1e-5)
    assert np.allclose(triangles.render(np.roll(vertices, 1, axis=1)).numpy(), forward, atol=1e-5)


def test_render_rejects_bad_vertices():
    with pytest.raises(UserError, match=r"\[batch, 3, 2\]"):
        triangles.render(np.zeros((2, 4, 2), np.float32))


def test_triangle_vertices_are_valid_and_reproducible():
    vertices = triangles.triangle_vertices(500, seed=3)
    assert vertices.shape == (500, 3, 2) and vertices.dtype == np.float32
    assert vertices.min() >= triangles.MARGIN and vertices.max() <= 28 - triangles.MARGIN
    assert np.abs(triangles.signed_area(vertices)).min() >= triangles.min_area()
    assert np.array_equal(triangles.triangle_vertices(500, seed=3), vertices)


def test_load_triangles_is_deterministic_and_splits_differ():
    def first(split, count=16):
        return np.stack([image.numpy() for image in datasets.load("triangles", split).take(count)])

    train = first("train")
    assert train.dtype == np.float32 and train.shape == (16, 28, 28, 1)
    assert train.min() == -1.0 and train.max() == 1.0
    assert np.array_equal(first("train"), train)
    assert not np.array_equal(first("test"), train)
    assert len(triangles.triangle_images("train")) == 60000 and len(triangles.triangle_images("test")) == 10000
    batch = next(iter(datasets.load("triangles", batch_size=8, shuffle=True, seed=0, repeat=True)))
    assert batch.shape == (8, 28, 28, 1)
    with pytest.raises(UserError, match="accepted: train, test"):
        datasets.load("triangles", "validation")


def test_rendered_splits_are_kept_on_disk_with_a_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(triangles, "_IMAGES_CACHE", {})
    rendered = triangles.triangle_images("test")
    assert not rendered.flags.writeable
    [cache] = (tmp_path / "triangles").glob("test-*.npz")
    monkeypatch.setattr(triangles, "_IMAGES_CACHE", {})  # a new process: read from disk, not rendered
    monkeypatch.setattr(triangles, "render", lambda *args: pytest.fail("rendered again"))
    assert np.array_equal(triangles.triangle_images("test"), rendered)
    payload = bytearray(cache.read_bytes())
    payload[-100] ^= 0xFF  # a corrupt cache is rendered again
    cache.write_bytes(bytes(payload))
    monkeypatch.undo()
    monkeypatch.setattr(files, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(triangles, "_IMAGES_CACHE", {})
    assert np.array_equal(triangles.triangle_images("test"), rendered)
    assert files.read_cached_arrays(str(cache)) is not None


def test_data_lies_on_the_manifold_and_other_images_do_not():
    data = triangles.triangle_images("test")[:64].astype(np.float32) / 127.5 - 1.0
    noise = np.random.default_rng(0).uniform(-1.0, 1.0, (2, 28, 28, 1))
    others = np.concatenate([np.full((1, 28, 28, 1), -1.0), np.zeros((1, 28, 28, 1)), noise])
    distances = triangles.manifold_distance(np.concatenate([data, others]))
    assert distances[:64].max() < 0.05 < triangles.THRESHOLD
    assert distances[64:].min() > triangles.THRESHOLD  # blank, gray, noise
    with pytest.raises(UserError, match=r"\[N, 28, 28, 1\]"):
        triangles.manifold_distance(data[..., 0])


def test_precision_and_recall_of_the_data_generator_are_high():
    result = triangles.precision_recall_f1(triangles.data_generator(), 6, num_samples=48, inversion_restarts=4)
    assert result["precision"] >= 0.9 and result["recall"] >= 0.9
    assert result["f1"] == pytest.approx(2 * result["precision"] * result["recall"]
                                         / (result["precision"] + result["recall"]))
    assert result["protocol"]["num_samples"] == 48 and result["protocol"]["threshold"] == triangles.THRESHOLD


def test_a_blank_generator_has_no_precision_and_no_recall():
    def blank(z):
        return -tf.ones([tf.shape(z)[0], 28, 28, 1])

    result = triangles.precision_recall_f1(blank, 6, num_samples=32, manifold_steps=40, inversion_steps=5)
    assert result["precision"] == 0.0 and result["recall"] == 0.0 and result["f1"] == 0.0
    assert result["manifold_distance"] > triangles.THRESHOLD


def test_invert_runs_keras_generators_and_checks_their_output():
    import keras

    z = keras.Input((4,))
    model = keras.Model(z, keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="tanh")(z)))
    target = model(np.ones((2, 4), np.float32), training=False).numpy()
    assert triangles.invert(model, target, 4, steps=200).max() < 0.05
    with pytest.raises(UserError, match=r"\[n, 28, 28, 1\]"):
        triangles.invert(lambda z: tf.zeros([tf.shape(z)[0], 14, 14, 1]), target, 4, steps=1)
