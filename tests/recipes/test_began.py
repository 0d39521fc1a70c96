"""BEGAN (recipes/began.py): the recipe contract, the equilibrium state k_t in checkpoints, and its refusals. Its
golden step (the losses, k_{t+1} and M_global written out from the paper) is in test_golden_steps.py."""
import re
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from recipe_checks import run_recipe_test
from recipes.began import BEGAN, reconstruction_l1

TINY = {"latent_dim": 8, "width": 8, "bottleneck": 8, "image_shape": (8, 8, 1), "seed": 3}


def images(batch=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, 8, 8, 1)).astype("float32")


def test_began_recipe_contract():
    """Two steps, so the second's discriminator loss has k_1 > 0 in it (γ = 1 and λ_k = 0.5 move k off 0), on both
    replicas alike: k_{t+1} comes from the global batch's means."""
    result = run_recipe_test(BEGAN, {**TINY, "ema_decay": 0.9, "generator_norm": "sync_batch", "gamma": 1.0,
                                     "lambda_k": 0.5}, images(), steps=2)
    assert 0 < result.logs["k"] < 1  # the mean of k_1 and k_2: the control moved (two replicas logged the same)


def test_k_is_saved_in_checkpoints_and_restored():
    """k_t is a variable of the recipe: a run resumed from a checkpoint continues with its k (zoo.train saves
    tf.train.Checkpoint(recipe=...))."""
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    saved, resumed = BEGAN(**TINY), BEGAN(**TINY)
    for recipe in (saved, resumed):
        recipe.compile()
    saved.k.assign(0.37)
    with tempfile.TemporaryDirectory() as run:
        checkpoint_manager(saved, run, True, 1)[1].save()
        restore_latest(checkpoint_manager(resumed, run, True, 1)[0], run)
    assert float(resumed.k) == pytest.approx(0.37)


@pytest.mark.parametrize("gamma", [0, -0.5, 1.5, float("nan"), True, "0.5"])
def test_gamma_outside_zero_one_is_refused(gamma):
    with pytest.raises(ValueError, match=r"^`gamma` \(BEGAN's diversity ratio\) must be in \(0, 1\]\. Received: "
                                         rf"gamma={re.escape(repr(gamma))}$"):
        BEGAN(gamma=gamma, **TINY)


def test_k_stays_in_zero_one():
    """The control's clip: a large λ_k drives k to a bound in one step and no further."""
    recipe = BEGAN(lambda_k=1e6, gamma=1.0, **TINY)
    recipe.compile()
    recipe.train_step(tf.constant(images()))
    assert float(recipe.k) in (0.0, 1.0)


def test_reconstruction_l1_is_each_examples_mean_absolute_pixel_error():
    """L(v) = |v − D(v)| averaged over each example's pixels and channels (3 examples of 4×2×2: batch ≠ height)."""
    rng = np.random.default_rng(4)
    v, reconstruction = rng.uniform(-1, 1, (2, 3, 4, 2, 2))
    expected = np.abs(v - reconstruction).reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(reconstruction_l1(v, reconstruction), expected, rtol=1e-6)
