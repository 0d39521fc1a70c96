"""Every recipe trains, serializes and reloads; one MirroredStrategy step equals one single-device step."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes

TINY = {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 3}
# recipes that sample from z (translation and super-resolution recipes have tests of their own)
SAMPLING = sorted(name for name, cls in recipes.RECIPES.items() if cls.task == "sampling")


def tiny_data(batch=8, n_critic=1, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch, n_critic, 8, 8, 1) if n_critic > 1 else (batch, 8, 8, 1)
    images = rng.uniform(-1, 1, shape).astype("float32")
    labels = rng.integers(0, 10, batch).astype("int32")
    return images, labels


def generator_inputs(recipe, n=4):
    z = np.random.default_rng(1).normal(size=(n, recipe.latent_dim)).astype("float32")
    return [z, np.arange(n, dtype="int32")] if recipe.conditional else z


def fit_steps(recipe, steps=2, batch=8):
    images, labels = tiny_data(batch * steps, recipe.real_batches_per_step)
    y = labels if recipe.conditional else None
    return recipe.fit(images, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)


@pytest.mark.parametrize("name", SAMPLING)
def test_recipe_trains_with_finite_losses_and_changes_weights(name):
    recipe = recipes.get_recipe(name)(ema_decay=0.5, **TINY)
    recipe.compile()
    before_g = [w.numpy().copy() for w in recipe.generator.trainable_weights]
    before_d = [w.numpy().copy() for w in recipe.discriminator.trainable_weights]
    before_ema = [w.numpy().copy() for w in recipe.ema_generator.trainable_weights]
    history = fit_steps(recipe, steps=2)
    assert set(history.history) == set(recipe.loss_names)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(recipe.optimizer.iterations) == 2
    assert int(recipe.d_optimizer.iterations) == 2 * recipe.real_batches_per_step
    for weights, before in [(recipe.generator.trainable_weights, before_g),
                            (recipe.discriminator.trainable_weights, before_d),
                            (recipe.ema_generator.trainable_weights, before_ema)]:
        assert any(not np.allclose(w.numpy(), b) for w, b in zip(weights, before))


@pytest.mark.parametrize("name", SAMPLING)
def test_config_round_trip_and_keras_file_reload(name, tmp_path):
    cls = recipes.get_recipe(name)
    recipe = cls(ema_decay=0.9, **TINY)
    config = recipe.get_config()
    assert cls.from_config(config).get_config() == config
    recipe.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(3e-4))
    fit_steps(recipe, steps=1)
    path = tmp_path / f"{name}.keras"
    recipe.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is cls and reloaded.compiled
    assert int(reloaded.g_optimizer.iterations) == 1
    assert float(reloaded.d_optimizer.learning_rate) == pytest.approx(3e-4)
    inputs = generator_inputs(recipe)
    np.testing.assert_allclose(reloaded(inputs).numpy(), recipe(inputs).numpy(), atol=1e-6)
    np.testing.assert_allclose(reloaded.ema_generator(inputs).numpy(), recipe.ema_generator(inputs).numpy(), atol=1e-6)
    fit_steps(reloaded, steps=1)  # still trainable: optimizers restored and compiled
    assert int(reloaded.g_optimizer.iterations) == 2


def test_invalid_arguments_say_what_is_accepted():
    with pytest.raises(ValueError, match="generator_norm.*Received: generator_norm='group'"):
        recipes.DCGAN(generator_norm="group", **TINY)
    with pytest.raises(ValueError, match="batch norm"):
        recipes.WGANGP(discriminator_norm="batch", **TINY)
    with pytest.raises(ValueError, match="image_shape=.*7, 7, 1"):
        recipes.DCGAN(latent_dim=8, image_shape=(7, 7, 1))
    with pytest.raises(ValueError, match="Unknown recipe 'dcgan2'. Known recipes: cgan, cyclegan, dcgan"):
        recipes.get_recipe("dcgan2")


def one_wgan_gp_step(strategy, initial_weights, images):
    """One WGAN-GP train step (n_critic=2) under `strategy` on a global batch of 8."""
    with strategy.scope():
        recipe = recipes.WGANGP(n_critic=2, generator_norm="sync_batch", **TINY)
        recipe.set_weights(initial_weights)
        recipe.compile()
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(8, drop_remainder=True)
    logs = recipe.fit(dataset, epochs=1, verbose=0).history
    return recipe, {name: values[-1] for name, values in logs.items()}


def test_mirrored_step_equals_single_device_step():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    assert len(devices) == 2, "conftest configures two logical CPUs"
    images, _ = tiny_data(batch=8, n_critic=2)
    initial = recipes.WGANGP(n_critic=2, generator_norm="sync_batch", **TINY).get_weights()
    single, single_logs = one_wgan_gp_step(tf.distribute.OneDeviceStrategy(devices[0]), initial, images)
    mirrored, mirrored_logs = one_wgan_gp_step(tf.distribute.MirroredStrategy(devices), initial, images)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    moved = [not np.allclose(a, b) for a, b in zip(initial, single.get_weights())]
    assert sum(moved) > 4  # the step did update generator and critic
    for a, b in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-5)
    for name in single_logs:
        assert mirrored_logs[name] == pytest.approx(single_logs[name], rel=1e-4, abs=1e-5), name
