"""Latent interpolation: slerp's geometry, `Generator.interpolate` on the shipped presets (its ends are the
seeds' own images, as `sample_seeds` and the server give them), and `gan-zoo interpolate` (PNG, GIF)."""
import numpy as np
import pytest
from PIL import Image

import zoo
from recipes.latents import slerp
from zoo import cli
from zoo.errors import UserError


def test_slerp_keeps_to_the_sphere_between_its_ends():
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    path = slerp(a, b, [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-7)
    np.testing.assert_allclose(path[2], [2**-0.5, 2**-0.5, 0.0], atol=1e-6)  # lerp would give norm 0.71
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(path[1], [np.cos(np.pi / 8), np.sin(np.pi / 8), 0.0], atol=1e-6)  # equal angle steps
    np.testing.assert_allclose(slerp(a, 3 * a, [0.5]), [2 * a], atol=1e-6)  # parallel ends: linear


@pytest.mark.parametrize("name, options", [
    ("dcgan_fashion_mnist_28", {}),
    ("cgan_fashion_mnist_28", {"label": 4}),
    ("stylegan_lite_fashion_mnist_32", {"truncation": 0.7}),
])
def test_an_interpolation_runs_from_one_seeds_image_to_the_others(name, options):
    g = zoo.load(name)
    frames = g.interpolate(3, 7, steps=5, **options)
    ends = g.sample_seeds([3, 7], **({"labels": options["label"]} if "label" in options else {}),
                          truncation=options.get("truncation", 1.0))
    assert frames.shape == (5, *g.image_shape) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames[[0, -1]], ends)
    steps = np.abs(np.diff(frames.astype(int), axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0).all()  # every frame moves along the path


def test_stylegan_at_truncation_zero_stays_at_the_average_image():
    frames = zoo.load("stylegan_lite_fashion_mnist_32").interpolate(3, 7, steps=4, truncation=0.0)
    for frame in frames[1:]:
        np.testing.assert_array_equal(frame, frames[0])  # ψ = 0: every w is w̄


def test_interpolation_refuses_what_it_cannot_do_in_one_line():
    dcgan, cgan = zoo.load("dcgan_fashion_mnist_28"), zoo.load("cgan_fashion_mnist_28")
    with pytest.raises(UserError, match=r"steps must be an integer in \[2, 1024\]; received 1"):
        dcgan.interpolate(1, 2, steps=1)
    with pytest.raises(UserError, match=r"truncation needs a recipe with a truncation trick \(stylegan_lite, biggan_lite\)"):
        dcgan.interpolate(1, 2, truncation=0.5)
    with pytest.raises(UserError, match="unconditional: it takes no labels"):
        dcgan.interpolate(1, 2, label=3)
    with pytest.raises(UserError, match="keeps one class: pass one label; received 2"):
        cgan.interpolate(1, 2, label=[3, 4])
    with pytest.raises(UserError, match="needs a sampling model"):
        zoo.load("srgan_fashion_mnist_x4").interpolate(1, 2)


def test_truncation_beyond_a_recipes_range_is_refused_not_ignored():
    """BigGAN-lite's ψ is the share of z's mass kept (ψ ≥ 1 would silently be no truncation), so it stops at 1;
    StyleGAN-lite's extrapolates w up to 2."""
    import recipes
    from zoo.sampling import check_truncation

    biggan = recipes.BigGANLite(latent_dim=8, width=4, image_shape=(8, 8, 1), num_classes=3, embedding_dim=4)
    assert check_truncation(biggan, 1) == 1.0 and check_truncation(biggan, 0.5) == 0.5
    with pytest.raises(UserError, match=r"^truncation ψ of BigGANLite must be in \[0, 1\] \(1: none\); received 1.5$"):
        check_truncation(biggan, 1.5)
    assert check_truncation(zoo.load("stylegan_lite_fashion_mnist_32").recipe, 1.5) == 1.5


def test_cli_writes_a_strip_per_class_and_an_animation(tmp_path, capsys):
    strip, animation = tmp_path / "walk.png", tmp_path / "walk.gif"
    assert cli.main(["interpolate", "cgan_fashion_mnist_28", "--seeds", "3,7,12", "--steps", "4", "--labels", "1,5",
                     "--out", str(strip)]) == 0
    frames = 2 * 3 + 1  # two pairs of 4 frames, the shared middle frame once
    assert Image.open(strip).size == (2 + frames * 30, 2 + 2 * 30)  # 28-pixel images, 2-pixel padding; 2 rows
    assert cli.main(["interpolate", "dcgan_fashion_mnist_28", "--seeds", "3,7", "--steps", "6",
                     "--out", str(animation)]) == 0
    gif = Image.open(animation)
    assert gif.n_frames == 6 and gif.size == (32, 32)
    assert "6 frames × 1 row(s)" in capsys.readouterr().out
    for argv, message in [(["--seeds", "3", "--out", str(tmp_path / "a.png")], "--seeds needs two or more seeds"),
                          (["--seeds", "3,4", "--out", str(tmp_path / "a.jpg")], "accepted: a .png file"),
                          (["--seeds", "3,4", "--out", str(strip)], "exists")]:
        assert cli.main(["interpolate", "dcgan_fashion_mnist_28", *argv]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and "\n" not in error
