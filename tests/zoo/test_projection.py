"""Projection (GAN inversion): the per-problem Adam it shares with the triangles benchmark, `g.project` on the
shipped presets (a generator's own images are found again; restarts keep the best start; labels and
noise handled as documented), bad input refused in one line, and `gan-zoo project`'s files."""
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import zoo
from zoo import cli, progress
from zoo.errors import UserError
from zoo.latent_search import adam, adam_moments, adam_step


def test_adam_moves_each_problem_alone_and_its_first_step_is_the_rate_times_the_gradients_sign():
    targets = tf.constant([[1.0, -2.0], [30.0, 0.5]])  # two problems on very different scales
    scale = tf.constant([[1.0], [1e-3]])

    def objective(params, fraction):
        loss = tf.reduce_sum(scale * (params - targets) ** 2, axis=1)
        return loss, loss

    start = tf.zeros([2, 2])
    moved, _, distance = adam_step(objective, start, adam_moments(start), 0, 10, 0.5, 0.05)
    gradient = 2 * scale.numpy() * (start.numpy() - targets.numpy())
    np.testing.assert_allclose(moved, -0.5 * gradient / (np.abs(gradient) + 1e-8), rtol=1e-6)  # m̂/(√v̂ + ε) at t = 1
    np.testing.assert_allclose(distance, [5.0, 1e-3 * (30.0**2 + 0.25)], rtol=1e-6)
    best, last = tf.function(lambda: adam(objective, start, tf.constant(400), 5.0, 0.01))()
    np.testing.assert_allclose(last, targets, atol=0.05)  # the small-gradient problem converges as well
    assert best.shape == (2,) and (best.numpy() < 0.01).all()


@pytest.fixture(scope="module")
def stylegan():
    return zoo.load("stylegan_lite_fashion_mnist_32")


def psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2, axis=(1, 2, 3)))


def test_a_stylegan_image_is_found_again_in_w_and_the_noise_stays_normalised(stylegan):
    own = stylegan.sample_seeds([3, 8])
    found = stylegan.project(own[:, 2:30, 2:30], steps=150, frames=3)  # 28×28: put on the canvas as in training
    assert found.frames.shape == (3, 2, 32, 32, 1) and found.images.dtype == np.uint8
    np.testing.assert_array_equal(found.frames[-1], found.images)
    frame = (slice(None), slice(2, 30), slice(2, 30))  # PSNR in the dataset's 28×28 frame
    start, end = psnr(found.frames[0][frame], own[frame]), psnr(found.images[frame], own[frame])
    assert (end > start + 5).all() and end.mean() > 20, (start, end)
    np.testing.assert_allclose(found.psnr, end, atol=0.2)  # float images vs their uint8 rounding
    assert found.codes["w"].shape == (2, 1, stylegan.recipe.w_dim)
    for index in range(stylegan.recipe.num_layers):
        noise = found.codes[f"noise{index}"]
        np.testing.assert_allclose(noise.mean(axis=(1, 2, 3)), 0.0, atol=1e-4)
        np.testing.assert_allclose(noise.std(axis=(1, 2, 3)), 1.0, atol=1e-3)
    plus = stylegan.project(own[:1], steps=1, space="w+")
    assert plus.codes["w+"].shape == (1, stylegan.recipe.num_layers, stylegan.recipe.w_dim)


def test_restarts_keep_each_images_best_start():
    g = zoo.load("dcgan_fashion_mnist_28")
    targets = g.sample_seeds([1, 2, 3])
    one, three = g.project(targets, steps=20), g.project(targets, steps=20, restarts=3)
    assert (three.loss <= one.loss + 1e-4).all()  # the first of the three starts is the single start
    assert (three.loss < one.loss - 1e-4).any()
    assert one.labels is None and one.codes["z"].shape == (3, g.latent_dim)


def test_a_conditional_projection_takes_the_evaluators_class_unless_told():
    from zoo.metrics import features

    g = zoo.load("cgan_fashion_mnist_28")
    targets = np.concatenate([g.sample_seeds([4], labels=label) for label in (1, 7)])
    predicted = np.argmax(features.fashion_mnist_evaluator()(targets.astype(np.float32) / 127.5 - 1)["logits"], axis=1)
    assert g.project(targets, steps=1).labels.tolist() == predicted.tolist()
    assert g.project(targets, steps=1, labels=[5, 6]).labels.tolist() == [5, 6]
    with pytest.raises(UserError, match=r"labels must be one class id in \[0, 10\) per image \(2\); received \[5\]"):
        g.project(targets, steps=1, labels=[5])


def test_projection_refuses_bad_input_in_one_line(stylegan):
    dcgan = zoo.load("dcgan_fashion_mnist_28")
    image = dcgan.sample_seeds([0])
    for call, message in [
        (lambda: dcgan.project(image, steps=0), r"steps must be an integer in \[1, 100000\]; received 0"),
        (lambda: dcgan.project(image, frames=1), "frames must be 0 .* or ≥ 2"),
        (lambda: dcgan.project(image, restarts=1.5), r"restarts must be an integer in \[1, 64\]; received 1.5"),
        (lambda: dcgan.project(image, space="w"), "space must be one of z for DCGAN; received 'w'"),
        (lambda: stylegan.project(np.zeros((1, 32, 32, 1), np.uint8), space="z"), "space must be one of w, w\\+"),
        (lambda: dcgan.project(np.zeros((1, 32, 32, 1), np.uint8)), r"must be \[n, 28, 28, 1\] for this generator"),
        (lambda: dcgan.project(image, labels=[1]), "unconditional: it takes no labels"),
        (lambda: dcgan.project(np.full((1, 28, 28, 1), 2.0)), r"integer pixels in \[0, 255\] or floats in \[-1, 1\]"),
        (lambda: zoo.load("srgan_fashion_mnist_x4").project(image), "project needs a sampling model"),
    ]:
        with pytest.raises(UserError, match=message):
            call()


def test_cli_writes_target_projection_steps_and_report(tmp_path, capsys, monkeypatch):
    picture = tmp_path / "shirt.png"
    Image.fromarray(zoo.load("dcgan_fashion_mnist_28").sample_seeds([5])[0, :, :, 0]).resize((56, 56)).save(picture)
    out = tmp_path / "proj"
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    assert cli.main(["project", "dcgan_fashion_mnist_28", str(picture), "--steps", "6", "--frames", "3",
                     "--out", str(out)]) == 0
    printed, errors = capsys.readouterr()
    assert "shirt: PSNR " in printed
    assert "3/6 search steps - " in errors  # a line between frames, none once the search is done
    assert np.asarray(Image.open(out / "shirt_target.png")).shape == (28, 28)  # resized to the model's size
    assert Image.open(out / "shirt_projection.png").size == (28, 28)
    assert Image.open(out / "shirt_steps.png").size == (2 + 4 * 30, 2 + 30)  # the target, then 3 frames
    assert Image.open(out / "shirt_steps.gif").n_frames == 3
    report = json.loads((out / "projection.json").read_text())
    assert report["search"]["space"] == "z" and report["search"]["steps"] == 6
    assert report["images"][0]["picture"].endswith("shirt.png") and report["images"][0]["psnr_db"] > 5
    assert np.load(out / "codes.npz")["z"].shape == (1, 100)
    assert cli.main(["project", "dcgan_fashion_mnist_28", str(tmp_path / "missing.png"), "--out",
                     str(tmp_path / "other")]) == 2
    assert "missing.png: no such file" in capsys.readouterr().err
