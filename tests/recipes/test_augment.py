"""DiffAugment (Zhao et al. 2020): each policy against its formula, differentiability, and the
recipes feeding every discriminator input through it."""
import numpy as np
import pytest
import tensorflow as tf

import recipes
from recipes import augment

TINY = {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 3}


def fixed(*draws):
    """A `uniform(*shape)` that returns the given [batch, ...] arrays in order."""
    queue = [np.asarray(d, "float32") for d in draws]
    return lambda *shape: tf.constant(queue.pop(0))


def images(batch=2, size=8, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, channels)).astype("float32")


def test_translation_shifts_each_image_by_its_own_integers_filling_zeros():
    x = images()
    # size 8, ratio 1/8 → reach 1, shifts floor(u·3) - 1: u=0.99 → +1, u=0 → -1, u=0.5 → 0
    # first draw: the row shifts of images 0 and 1, second draw: their column shifts
    out = augment.translation(tf.constant(x), fixed([[0.99], [0.0]], [[0.5], [0.99]])).numpy()
    expected_0 = np.zeros_like(x[0])
    expected_0[1:, :] = x[0, :-1, :]  # down 1, no horizontal shift
    expected_1 = np.zeros_like(x[1])
    expected_1[:-1, 1:] = x[1, 1:, :-1]  # up 1, right 1
    np.testing.assert_array_equal(out[0], expected_0)
    np.testing.assert_array_equal(out[1], expected_1)


def test_cutout_zeroes_a_half_size_square_around_the_drawn_centre_clipped_at_the_border():
    x = images()
    out = augment.cutout(tf.constant(x), fixed([[0.5, 0.25], [0.0, 0.99]])).numpy()
    mask_0 = np.ones((8, 8, 1), "float32")
    mask_0[2:6, 0:4] = 0  # centre (4, 2), a 4×4 window [c-2, c+2)
    mask_1 = np.ones((8, 8, 1), "float32")
    mask_1[0:2, 5:8] = 0  # centre (0, 7): clipped
    np.testing.assert_array_equal(out[0], x[0] * mask_0)
    np.testing.assert_array_equal(out[1], x[1] * mask_1)


def test_color_is_brightness_then_saturation_then_contrast():
    x = images(channels=3)
    b, s, c = np.array([[0.2], [0.9]]), np.array([[0.3], [0.7]]), np.array([[0.1], [0.6]])
    out = augment.color(tf.constant(x), fixed(b, s, c)).numpy()
    y = x + (b - 0.5)[:, :, None, None]
    m = y.mean(axis=-1, keepdims=True)
    y = m + (y - m) * 2 * s[:, :, None, None]
    m = y.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, m + (y - m) * (c[:, :, None, None] + 0.5), rtol=1e-5, atol=1e-6)


def test_augmentations_are_differentiable_in_the_images():
    x = tf.constant(images())
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment.diff_augment(x, augment.POLICIES, lambda *shape: tf.fill([2, *shape], 0.3)))
    gradient = tape.gradient(total, x).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).sum() > 0
    with tf.GradientTape() as tape:  # without color's means, the pixels cut out or shifted out get no gradient
        tape.watch(x)
        total = tf.reduce_sum(augment.diff_augment(x, ("translation", "cutout"), lambda *shape: tf.fill([2, *shape], 0.9)))
    gradient = tape.gradient(total, x).numpy()
    assert set(np.unique(gradient)) == {0.0, 1.0} and (gradient == 0).sum() >= 2 * 16


def test_policies_are_validated_and_applied_in_canonical_order():
    assert augment.parse_policies("cutout, translation") == ("translation", "cutout")
    assert augment.parse_policies(None) == augment.parse_policies("") == ()
    with pytest.raises(ValueError, match=r"subset of \['color', 'translation', 'cutout'\]. Received: augment='flip'"):
        augment.parse_policies("flip")
    with pytest.raises(ValueError, match="Received: augment=True"):  # `--set augment=true` parses to a bool
        augment.parse_policies(True)
    with pytest.raises(ValueError, match="sampling recipes; this recipe does super_resolution"):
        recipes.SRGAN(augment="translation", image_shape=(8, 8, 1))


def test_augmentation_takes_a_batch_of_unknown_size():
    """StyleGAN-lite trains on batches whose size is only known at run time (found by review): the same
    augmentation as for a batch of known size, from the same seed."""
    recipe, known = (recipes.StyleGANLite(image_shape=(8, 8, 1), augment="color,translation,cutout", seed=3)
                     for _ in range(2))
    augmented = tf.function(recipe.augmented, input_signature=[tf.TensorSpec([None, 8, 8, 1])])
    batch = tf.constant(images(batch=3))
    np.testing.assert_allclose(augmented(batch), known.augmented(batch), atol=1e-6)


@pytest.mark.parametrize("name", sorted(n for n, cls in recipes.RECIPES.items() if cls.task == "sampling"))
def test_every_discriminator_input_is_augmented(name, monkeypatch):
    """With cutout, every batch D sees in an (eager) train step has a zeroed square (4×4, at least 2×2
    where clipped at the border) in each image,
    real and generated alike (neither has exact zeros otherwise), and the step still trains. Gradient
    penalties see interpolates of augmented images (WGAN-GP: of T(x) and T(G(z)), whose squares differ),
    so calls inside a penalty are not checked."""
    settings = TINY if name != "stylegan_lite" else {"image_shape": (8, 8, 1), "seed": 3}
    recipe = recipes.get_recipe(name)(augment="cutout", **settings)
    recipe.compile()
    real = np.sign(images(batch=4)) * (0.5 + 0.5 * np.abs(images(batch=4, seed=1)))  # no exact zeros
    data = (tf.constant(real), tf.zeros(4, tf.int32)) if recipe.conditional else tf.constant(real)
    discriminator, seen, in_penalty = recipe.discriminator, [], []
    call, penalty = type(discriminator).__call__, recipes.losses.squared_gradient_norm

    def spy(network, inputs, *args, **kwargs):
        if network is discriminator and not in_penalty:
            seen.append(np.asarray(inputs[0] if isinstance(inputs, list) else inputs))
        return call(network, inputs, *args, **kwargs)

    def marked_penalty(*args, **kwargs):
        in_penalty.append(True)
        try:
            return penalty(*args, **kwargs)
        finally:
            in_penalty.pop()

    monkeypatch.setattr(recipes.losses, "squared_gradient_norm", marked_penalty)
    type(discriminator).__call__ = spy
    try:
        logs = recipe.train_step(data)
    finally:
        type(discriminator).__call__ = call
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert len(seen) >= 3  # real and generated in D's step, generated in G's step
    for batch in seen:
        blocks = np.lib.stride_tricks.sliding_window_view(batch[..., 0], (2, 2), axis=(1, 2))
        assert (np.abs(blocks) < 1e-12).all(axis=(-1, -2)).any(axis=(1, 2)).all(), f"{name}: D saw an image without cutout"
