"""Checks every recipe's tests call, one implementation each (KerasHub's `run_model_saving_test` style):
config round trip, `.keras` reload, a step in mixed precision, and a MirroredStrategy step that equals
the single-device step."""
import keras
import numpy as np
import pytest
import tensorflow as tf


def check_config_round_trip(recipe):
    """from_config(get_config()) rebuilds the same configuration."""
    config = recipe.get_config()
    assert type(recipe).from_config(config).get_config() == config
    return config


def check_keras_reload(recipe, path, outputs):
    """Save a compiled recipe to `path` and load it back: the same class, compiled, every player's optimizer
    at the same iteration and learning rate, and the same `outputs(model)` (a list of arrays: what the
    recipe computes from fixed inputs). Returns the reloaded recipe."""
    recipe.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is type(recipe) and reloaded.compiled
    assert set(reloaded.player_optimizers) == set(recipe.player_optimizers)
    for name, optimizer in recipe.player_optimizers.items():
        restored = reloaded.player_optimizers[name]
        assert int(restored.iterations) == int(optimizer.iterations), name
        assert float(restored.learning_rate) == pytest.approx(float(optimizer.learning_rate)), name
    for actual, expected in zip(outputs(reloaded), outputs(recipe), strict=True):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=1e-6)
    return reloaded


def computes_in(network, dtype):
    """True when some layer of `network` computes in `dtype` while every weight stays float32."""
    return any(layer.compute_dtype == dtype for layer in network.layers) and all(
        w.dtype == "float32" for w in network.weights)


def check_mixed_precision_step(make_recipe, batch_of, policy="mixed_bfloat16"):
    """Under `policy`: the networks compute in its low precision with float32 weights, and one train
    step on `batch_of(recipe)` gives finite float32 losses. Returns the recipe."""
    keras.config.set_dtype_policy(policy)
    recipe = make_recipe()
    recipe.compile()
    low = policy.split("_")[1]
    assert computes_in(recipe.generator, low) and computes_in(recipe.discriminator, low)
    logs = recipe.train_step(batch_of(recipe))
    assert all(value.dtype == tf.float32 and np.isfinite(float(value)) for value in logs.values()), logs
    return recipe


def two_cpus():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    assert len(devices) == 2, "conftest configures two logical CPUs"
    return devices


def fit_under(strategy, make_recipe, initial_weights, data, batch):
    """`fit` one epoch of `data` in global batches of `batch` under `strategy`; the recipe and its last logs."""
    with strategy.scope():
        recipe = make_recipe()
        recipe.set_weights(initial_weights)
        recipe.compile()
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(batch, drop_remainder=True)
    logs = recipe.fit(dataset, epochs=1, verbose=0).history
    return recipe, {name: values[-1] for name, values in logs.items()}


def check_mirrored_equals_single_device(make_recipe, data, batch=8, min_moved=4):
    """The train steps of `fit` over `data` (global batch `batch`) under MirroredStrategy on two logical
    CPUs give the weights, every replica's copy of the non-trainable variables (e.g. spectral norm's
    singular vectors) and the logs of the same steps on one device."""
    devices = two_cpus()
    initial = make_recipe().get_weights()
    single, single_logs = fit_under(tf.distribute.OneDeviceStrategy(devices[0]), make_recipe, initial, data, batch)
    mirrored, mirrored_logs = fit_under(tf.distribute.MirroredStrategy(devices), make_recipe, initial, data, batch)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    moved = [not np.allclose(a, b) for a, b in zip(initial, single.get_weights())]
    assert sum(moved) >= min_moved  # the steps did update the players
    for a, b in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-5)
    for variable in mirrored.discriminator.non_trainable_variables:
        copies = [c.numpy() for c in mirrored.distribute_strategy.experimental_local_results(variable.value)]
        np.testing.assert_allclose(copies[1], copies[0], atol=1e-6)
    for name in single_logs:
        assert mirrored_logs[name] == pytest.approx(single_logs[name], rel=1e-4, abs=1e-5), name
    return single, mirrored
