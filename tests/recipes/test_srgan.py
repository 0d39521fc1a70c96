"""SRGAN: its recipe contract (with a content network), warm-up then adversarial training, pixel shuffle,
fully convolutional upscaling."""
import keras
import numpy as np
import pytest

from recipe_checks import run_recipe_test
from recipes import SRGAN
from recipes.srgan import PixelShuffle, downscale

TINY = {"image_shape": (8, 8, 1), "width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_stages": 1,
        "discriminator_dense": 8, "seed": 2}


def tiny_content_network(channels=1):
    images = keras.Input((None, None, channels))
    features = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="phi")(images)
    return keras.Model(images, features, name="tiny_features")


def high_resolution(count=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 8, 8, 1)).astype("float32")


def weights_of(network):
    return [w.numpy().copy() for w in network.trainable_weights]


def changed(network, before):
    return any(not np.allclose(w.numpy(), b) for w, b in zip(network.trainable_weights, before))


def test_srgan_recipe_contract():
    """Adversarial from the first step (the warm-up: below), with a frozen content network saved in the config
    (as a Keras object) and with the weights; norm="sync_batch", one normalisation across replicas (plain batch
    norm, the paper's and the default, normalises each replica's half: training warns, as for DCGAN's norms)."""
    config = {**TINY, "warmup_steps": 0, "norm": "sync_batch",
              "content_network": keras.saving.serialize_keras_object(tiny_content_network())}
    result = run_recipe_test(SRGAN, config, high_resolution(8))
    config = result.recipe.get_config()
    assert "latent_dim" not in config and config["content_network"]["class_name"] == "Functional"


def test_warmup_trains_the_generator_alone_then_the_discriminator_joins():
    model = SRGAN(warmup_steps=2, content_network=tiny_content_network(), **TINY)
    model.compile()
    d_before, phi_before = weights_of(model.discriminator), [w.numpy().copy() for w in model.content_network.weights]
    g_before = weights_of(model.generator)
    logs = model.fit(high_resolution(8), batch_size=4, epochs=1, verbose=0).history  # steps 0, 1: warm-up
    assert set(logs) == set(SRGAN.loss_names) and all(np.isfinite(v[-1]) for v in logs.values())
    assert changed(model.generator, g_before)
    assert not changed(model.discriminator, d_before), "the discriminator must not move during warm-up"
    assert logs["d_loss"][-1] == 0.0 and logs["g_loss"][-1] == pytest.approx(logs["pixel_mse"][-1])
    model.fit(high_resolution(4, seed=1), batch_size=4, epochs=1, verbose=0)  # step 2: adversarial
    assert changed(model.discriminator, d_before)
    for weight, before in zip(model.content_network.weights, phi_before):
        np.testing.assert_array_equal(weight.numpy(), before)  # frozen feature network


def test_pixel_shuffle_moves_channel_groups_to_sub_pixel_positions():
    # input[0, 0, (a·r + b)·c + k] must land at output[a, b, k] (r = 2, c = 3)
    values = np.arange(12, dtype="float32").reshape(1, 1, 1, 12)
    out = PixelShuffle(2)(values).numpy()
    assert out.shape == (1, 2, 2, 3)
    for a in range(2):
        for b in range(2):
            np.testing.assert_array_equal(out[0, a, b], values[0, 0, 0, (a * 2 + b) * 3 : (a * 2 + b + 1) * 3])


def test_upscale_is_fully_convolutional_beyond_the_training_size():
    model = SRGAN(**TINY)  # trained on 8×8 HR crops
    assert model.upscale(np.zeros((1, 5, 7, 1), "float32")).shape == (1, 20, 28, 1)
    assert model.upscale(np.zeros((2, 16, 16, 1), "float32")).shape == (2, 64, 64, 1)


def test_downscale_is_antialiased_bicubic():
    constant = np.full((1, 8, 8, 1), 0.3, "float32")
    np.testing.assert_allclose(downscale(constant, 4), np.full((1, 2, 2, 1), 0.3), atol=1e-6)
    stripes = np.tile(np.array([-1.0, 1.0], "float32"), 4)[None, None, :, None].repeat(8, axis=1)
    assert np.abs(downscale(stripes, 4)).max() < 0.2  # the 2-px stripes average out instead of aliasing


def test_invalid_arguments_say_what_is_accepted():
    with pytest.raises(ValueError, match="power of two.*Received: scale=3"):
        SRGAN(scale=3, **TINY)
    with pytest.raises(ValueError, match="divisible by scale=4.*10, 10, 1"):
        SRGAN(**{**TINY, "image_shape": (10, 10, 1)})
