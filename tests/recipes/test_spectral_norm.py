"""Spectral normalization (Miyato et al. 2018) as a discriminator norm: σ(W) by power iteration, the
gradient through σ, and every named loss training with it (its serialization and its replicas: the DCGAN
family's recipe contracts in tests/recipes/test_recipes.py)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from recipes.layers import SpectralConv2D, SpectralDense

TINY = {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 3}


def converged(layer, x, iterations=40):
    for _ in range(iterations):  # each training call advances the power iteration once
        layer(x, training=True)
    return layer


def largest_singular_value(kernel):
    return np.linalg.svd(np.reshape(kernel, (-1, kernel.shape[-1])), compute_uv=False)[0]


def test_conv_computes_with_the_kernel_divided_by_its_largest_singular_value():
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32")
    seeded = keras.initializers.GlorotUniform(seed=0)  # unseeded, the top two singular values were sometimes so
    # close that 40 power iterations left σ about 1e-4 off (a flaky failure)
    layer = converged(SpectralConv2D(8, 3, padding="same", kernel_initializer=seeded), x)
    kernel = layer.kernel.numpy()
    expected = tf.nn.conv2d(x, kernel / largest_singular_value(kernel), 1, "SAME").numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)  # W itself is never overwritten


def test_inference_does_not_advance_the_power_iteration():
    x = np.ones((1, 5), "float32")
    layer = SpectralDense(3)
    layer(x, training=True)
    u = layer.singular_vector.numpy().copy()
    layer(x)
    np.testing.assert_array_equal(layer.singular_vector.numpy(), u)
    layer(x, training=True)
    assert not np.array_equal(layer.singular_vector.numpy(), u)


def test_gradient_flows_through_sigma_as_through_the_exact_spectral_norm():
    """At a converged u, ∂/∂W of f(W/σ̂(W)) equals ∂/∂W of f(W/σ(W)) with σ from an exact SVD."""
    x = np.random.default_rng(1).normal(size=(4, 5)).astype("float32")
    target = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    layer = converged(SpectralDense(3, use_bias=False), x, iterations=200)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(x) - target))
    ours = tape.gradient(loss, layer.kernel)
    kernel = tf.Variable(layer.kernel.numpy().astype("float64"))
    with tf.GradientTape() as tape:
        sigma = tf.linalg.svd(kernel, compute_uv=False)[0]
        exact = tf.reduce_sum(tf.square(x.astype("float64") @ (kernel / sigma) - target))
    np.testing.assert_allclose(ours.numpy(), tape.gradient(exact, kernel).numpy(), rtol=1e-3, atol=1e-5)
    with tf.GradientTape() as tape:  # σ held constant: a different gradient, so the test can tell
        sigma = tf.stop_gradient(tf.linalg.svd(kernel, compute_uv=False)[0])
        constant_sigma = tf.reduce_sum(tf.square(x.astype("float64") @ (kernel / sigma) - target))
    assert np.abs(ours.numpy() - tape.gradient(constant_sigma, kernel).numpy()).max() > 1e-2


@pytest.mark.parametrize("loss", sorted(recipes.losses.LOSSES))
def test_every_named_loss_trains_with_a_spectral_discriminator(loss):
    recipe = recipes.DCGAN(loss=loss, discriminator_norm="spectral", **TINY)
    recipe.compile()
    u = [v.numpy().copy() for v in recipe.discriminator.non_trainable_weights]
    assert len(u) == 2  # one singular vector per conv (one stage at 8×8) and one for the logit layer
    images = np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32")
    history = recipe.fit(images, batch_size=8, epochs=1, verbose=0, shuffle=False).history
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert all(not np.array_equal(v.numpy(), before) for v, before in zip(recipe.discriminator.non_trainable_weights, u))


def test_spectral_is_a_discriminator_norm_only():
    with pytest.raises(ValueError, match="generator_norm.*Received: generator_norm='spectral'"):
        recipes.DCGAN(generator_norm="spectral", **TINY)
    with pytest.raises(ValueError, match="discriminator_norm.*'spectral'.*Received: discriminator_norm='weight'"):
        recipes.DCGAN(discriminator_norm="weight", **TINY)
