"""CycleGAN: its recipe contract, the cycle loss and the networks' shapes (its exact step and image pool:
tests/recipes/test_golden_steps.py)."""
import numpy as np
import pytest
import tensorflow as tf

from recipe_checks import run_recipe_test
from recipes import CycleGAN
from recipes.cyclegan import build_patch_discriminator, build_resnet_generator, l1

# pool_size = the batch: the contract's first step fills the pools, the images passing through as on one device
# (once full, the replicas of a strategy draw from replica 0's pool, which one device does not: `ImagePool`)
TINY = {"image_shape": (8, 8, 1), "width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_layers": 1,
        "pool_size": 4, "seed": 1}


def unpaired(count=4, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1, 1, (2, count, 8, 8, 1)).astype("float32"))


def test_cyclegan_recipe_contract():
    """Four players (two generators on one loss, two discriminators), the pool saved and reloaded with them."""
    result = run_recipe_test(CycleGAN, TINY, unpaired())
    assert set(CycleGAN.players) == {"g_optimizer", "f_optimizer", "d_optimizer", "d_a_optimizer"}
    assert int(result.recipe.pool_a.count) == int(result.reloaded.pool_b.count) == 4  # the first batch filled them
    with pytest.raises(ValueError, match="direction"):
        result.recipe.translate(unpaired(2)[0], "sideways")


def test_cycle_loss_is_zero_for_identity_generators():
    images = tf.random.uniform((3, 8, 8, 1), -1, 1)
    identity = lambda x: x  # noqa: E731
    np.testing.assert_allclose(l1(identity(identity(images)), images).numpy(), 0.0)
    np.testing.assert_allclose(l1(images + 0.5, images).numpy(), 0.5, rtol=1e-6)


def test_network_shapes():
    generator = build_resnet_generator((28, 28, 1), width=8, num_blocks=2)
    assert generator.output_shape == (None, 28, 28, 1)
    assert build_patch_discriminator((28, 28, 1), width=8, num_layers=2).output_shape == (None, 7, 7, 1)
    with pytest.raises(ValueError, match="divisible by 4"):
        build_resnet_generator((30, 30, 1))
