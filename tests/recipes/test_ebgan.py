"""EBGAN (recipes/ebgan.py): the recipe contract, the pulling-away term against its pairwise definition, and the
refusals. Its golden step is in test_golden_steps.py."""
import re

import numpy as np
import pytest
import tensorflow as tf

from recipe_checks import run_recipe_test
from recipes.ebgan import EBGAN, pulling_away, squared_error

TINY = {"latent_dim": 8, "width": 8, "bottleneck": 8, "image_shape": (8, 8, 1), "seed": 3}


def test_ebgan_recipe_contract():
    """λ_PT = 0.5: f_PT couples every pair of the global batch, across the two replicas too."""
    images = np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    result = run_recipe_test(EBGAN, {**TINY, "ema_decay": 0.9, "generator_norm": "sync_batch", "margin": 2.0,
                                     "pt_weight": 0.5}, images)
    assert result.logs["pulling_away"] > 0


def test_pulling_away_is_the_mean_squared_cosine_over_distinct_pairs():
    codes = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    cosines = [(codes[i] @ codes[j] / np.linalg.norm(codes[i]) / np.linalg.norm(codes[j])) ** 2
               for i in range(5) for j in range(5) if i != j]
    assert float(pulling_away(tf.constant(codes))) == pytest.approx(np.mean(cosines), rel=1e-5)
    assert float(pulling_away(tf.constant(np.eye(4, dtype="float32")))) == pytest.approx(0.0, abs=1e-7)  # orthogonal
    assert float(pulling_away(tf.constant(np.ones((4, 3), "float32")))) == pytest.approx(1.0, rel=1e-6)  # parallel


@pytest.mark.parametrize("name, value, message", [
    ("margin", 0, "`margin` (EBGAN's m) must be a finite number > 0"),
    ("margin", -1.0, "`margin` (EBGAN's m) must be a finite number > 0"),
    ("margin", float("inf"), "`margin` (EBGAN's m) must be a finite number > 0"),
    ("pt_weight", -0.1, "`pt_weight` (λ_PT) must be a finite number ≥ 0"),
    ("pt_weight", True, "`pt_weight` (λ_PT) must be a finite number ≥ 0"),
])
def test_bad_settings_are_refused(name, value, message):
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}\. Received: {name}={re.escape(repr(value))}$"):
        EBGAN(**{**TINY, name: value})


def test_energy_is_the_mean_squared_pixel_error_of_each_example():
    """D(v) = ‖Dec(Enc(v)) - v‖² averaged over the pixels of one example, on a batch whose size differs from every
    image side (3 examples of 5×4×2)."""
    rng = np.random.default_rng(0)
    images, reconstruction = rng.normal(size=(2, 3, 5, 4, 2)).astype(np.float32)
    expected = [np.mean((images[i] - reconstruction[i]) ** 2) for i in range(3)]
    np.testing.assert_allclose(squared_error(images, reconstruction).numpy(), expected, rtol=1e-6)
