"""CycleGAN: training steps, serialization, and the cycle loss (its image pool: tests/recipes/test_golden_steps.py)."""
import numpy as np
import pytest
import tensorflow as tf

from recipe_checks import check_config_round_trip, check_keras_reload, check_mixed_precision_step
from recipes import CycleGAN
from recipes.cyclegan import build_patch_discriminator, build_resnet_generator, l1

TINY = {"image_shape": (8, 8, 1), "width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_layers": 1,
        "pool_size": 4, "seed": 1}


def unpaired(count=8, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (count, 8, 8, 1)).astype("float32")
    b = rng.uniform(-1, 1, (count, 8, 8, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((a, b)).batch(4, drop_remainder=True)


def test_cyclegan_fits_all_four_players_and_reloads_from_a_keras_file(tmp_path):
    """Keras's fit path (each player's exact step: tests/recipes/test_golden_steps.py), then save/load."""
    model = CycleGAN(**TINY)
    check_config_round_trip(model)
    model.compile()
    networks = [model.generator, model.generator_b2a, model.discriminator, model.discriminator_a]
    before = [[w.numpy().copy() for w in n.trainable_weights] for n in networks]
    logs = model.fit(unpaired(), epochs=1, verbose=0).history
    assert set(logs) == set(CycleGAN.loss_names) and all(np.isfinite(v[-1]) for v in logs.values())
    for network, weights in zip(networks, before):
        assert any(not np.allclose(w.numpy(), b) for w, b in zip(network.trainable_weights, weights)), network.name
    assert all(int(opt.iterations) == 2 for opt in model.player_optimizers.values())
    assert int(model.pool_a.count.numpy()) == 4  # two batches of 4 filled the pool of 4
    images = np.random.default_rng(3).uniform(-1, 1, (2, 8, 8, 1)).astype("float32")
    outputs = lambda m: [m.translate(images, "a2b"), m.translate(images, "b2a"), m.pool_b.images.numpy()]  # noqa: E731
    check_keras_reload(model, tmp_path / "cyclegan.keras", outputs)
    assert set(model.player_optimizers) == {"g_optimizer", "f_optimizer", "d_optimizer", "d_a_optimizer"}
    with pytest.raises(ValueError, match="direction"):
        model.translate(images, "sideways")


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


def test_one_mixed_bfloat16_step_is_finite_with_float32_outputs():
    a, b = next(iter(unpaired()))
    model = check_mixed_precision_step(lambda: CycleGAN(**TINY), lambda model: (a, b))
    assert model.generator(a).dtype == model.generator_b2a(b).dtype == tf.float32
