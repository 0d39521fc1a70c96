"""recipes.layers.BatchNormalization: Keras's batch norm whose training call runs TensorFlow's fused kernel
(issue 32: Keras 3's unfused batch norm was a quarter of the DCGAN step's compute). In training it gives Keras's
outputs, gradients and moving statistics to float rounding; everywhere else it is Keras's layer, bit for bit;
the shipped presets' weights load into it. The recipes' golden steps, mirrored steps and presets' golden pixels
are pinned by their own tests (test_golden_steps.py, test_recipes.py, tests/zoo/test_presets.py)."""
import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from recipe_checks import check_keras_reload, check_mixed_precision, check_training, compile_players, two_cpus
from recipes.layers import BatchNormalization, normalization
from zoo.presets import store

RTOL, ATOL = 1e-5, 1e-5  # float32: the kernels sum in other orders
UNFUSED = ("Mean", "SquaredDifference")  # what Keras's moments are made of


def layer_pair(shape, **kwargs):
    """(Keras's layer, ours) built for `shape` with the same non-trivial γ and β."""
    rng = np.random.default_rng(1)
    pair = keras.layers.BatchNormalization(**kwargs), BatchNormalization(**kwargs)
    channels = shape[kwargs.get("axis", -1)]
    gamma, beta = rng.normal(1, 0.2, channels), rng.normal(0, 0.2, channels)
    for layer in pair:
        layer.build(shape)
        if layer.scale:
            layer.gamma.assign(gamma)
        if layer.center:
            layer.beta.assign(beta)
    return pair


def inputs(shape, seed, dtype="float32"):
    return tf.cast(np.random.default_rng(seed).normal(2.0, 3.0, shape).astype("float32"), dtype)


def training_call(layer, jit_compile=False):
    """A traced training call: (outputs, [∂L/∂x, ∂L/∂γ, ∂L/∂β]) for L = Σ y·u with a fixed u."""
    @tf.function(jit_compile=jit_compile)
    def call(x, upstream):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") * upstream)
        weights = [w.value for w in (layer.gamma, layer.beta) if w is not None]
        return y, tape.gradient(loss, [x, *weights])
    return call


def op_types(function, *args):
    return {op.type for op in function.get_concrete_function(*args).graph.get_operations()}


@pytest.mark.parametrize("shape, kwargs", [
    ((8, 7, 7, 16), {}),  # the DCGAN preset's layers: a projection reshaped to 7×7, convolutions
    ((3, 5, 4, 6), {"axis": 3, "momentum": 0.9, "epsilon": 2e-5, "center": False}),
    ((2, 1, 1, 5), {"scale": False, "momentum": 0.5}),  # 2 values per channel: n/(n-1) = 2
])
def test_training_gives_keras_outputs_gradients_and_moving_statistics(shape, kwargs):
    keras_layer, fused = layer_pair(shape, **kwargs)
    calls = [training_call(layer) for layer in (keras_layer, fused)]
    for step in range(4):  # several steps on different batches: the moving statistics accumulate
        x, upstream = inputs(shape, step), inputs(shape, 10 + step)
        (expected, expected_grads), (outputs, grads) = (call(x, upstream) for call in calls)
        np.testing.assert_allclose(outputs, expected, rtol=RTOL, atol=ATOL)
        for grad, expected_grad, name in zip(grads, expected_grads, ["x", "first weight", "second weight"]):
            scale = max(1.0, float(tf.reduce_max(tf.abs(expected_grad))))  # ∂L/∂γ sums n products
            np.testing.assert_allclose(grad, expected_grad, rtol=RTOL, atol=ATOL * scale, err_msg=name)
        for name in ("moving_mean", "moving_variance"):
            np.testing.assert_allclose(getattr(fused, name), getattr(keras_layer, name), rtol=1e-6, atol=1e-7,
                                       err_msg=f"{name} after step {step + 1}")
    assert not np.allclose(fused.moving_variance, 1.0)  # the statistics did move
    x = inputs(shape, 0)
    assert {"FusedBatchNormV3", "FusedBatchNormGradV3"} <= op_types(calls[1], x, x)
    assert not set(UNFUSED) & op_types(calls[1], x, x)
    assert set(UNFUSED) <= op_types(calls[0], x, x)  # the test would tell the two apart


def test_eager_and_xla_training_calls_give_keras_numbers():
    """Eager (the recipe contract's train steps) and jit-compiled (the XLA training path: tf2xla's fused batch
    norm also returns the corrected variance)."""
    shape = (4, 6, 6, 8)
    keras_layer, eager, compiled = layer_pair(shape) + layer_pair(shape)[1:]
    xla_call = training_call(compiled, jit_compile=True)
    for step in range(3):
        x = inputs(shape, step)
        expected = keras_layer(x, training=True)
        np.testing.assert_allclose(eager(x, training=True), expected, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(xla_call(x, x)[0], expected, rtol=RTOL, atol=ATOL)
    for layer in (eager, compiled):
        np.testing.assert_allclose(layer.moving_mean, keras_layer.moving_mean, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(layer.moving_variance, keras_layer.moving_variance, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("policy, ulp", [("mixed_bfloat16", 2**-7), ("mixed_float16", 2**-10)])
def test_mixed_precision_runs_the_kernel_on_the_compute_dtype_without_casts(policy, ulp):
    """Under mixed_bfloat16 (and mixed_float16) the kernel takes and returns the compute dtype (its statistics in
    float32), where Keras casts the input up to float32 and the output back: the same outputs and gradients to
    the low precision's rounding (one unit in the last place), the same float32 moving statistics."""
    keras.config.set_dtype_policy(policy)
    shape = (8, 7, 7, 16)
    keras_layer, fused = layer_pair(shape)
    keras.config.set_dtype_policy("float32")
    low = tf.as_dtype(fused.compute_dtype)
    assert low != tf.float32 and fused.gamma.dtype == "float32"
    calls = [training_call(layer) for layer in (keras_layer, fused)]
    for step in range(3):
        x, upstream = inputs(shape, step, low), inputs(shape, 10 + step)
        (expected, expected_grads), (outputs, grads) = (call(x, upstream) for call in calls)
        assert outputs.dtype == expected.dtype == low and grads[0].dtype == low
        np.testing.assert_allclose(tf.cast(outputs, "float32"), tf.cast(expected, "float32"), rtol=ulp, atol=ulp)
        for grad, expected_grad in zip(grads, expected_grads):
            grad, expected_grad = tf.cast(grad, "float32"), tf.cast(expected_grad, "float32")
            scale = max(1.0, float(tf.reduce_max(tf.abs(expected_grad))))
            np.testing.assert_allclose(grad, expected_grad, rtol=ulp, atol=ulp * scale)
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(getattr(fused, name), getattr(keras_layer, name), rtol=1e-6, atol=1e-7)
    graph = calls[1].get_concrete_function(x, upstream).graph
    kernels = [op for op in graph.get_operations() if op.type.startswith("FusedBatchNorm")]
    assert {op.type for op in kernels} == {"FusedBatchNormV3", "FusedBatchNormGradV3"}
    assert all(op.get_attr("T") == low and op.get_attr("U") == tf.float32 for op in kernels)
    casts = [[op.name for op in function.get_concrete_function(x, upstream).graph.get_operations()
              if op.type == "Cast" and op.outputs[0].shape.rank == 4] for function in calls]
    assert casts[1] == ["Cast", "gradient_tape/Cast/Cast"], casts  # the test's cast of y for its loss, its gradient
    assert len(casts[0]) == 6, casts  # Keras: x up, y down, their gradients, and the test's two


def test_second_order_gradients_equal_keras():
    """A gradient penalty through the layer (DCGAN refuses batch norm with one, but the kernel's gradient has
    its own gradient): ∂/∂γ ‖∂L/∂x‖² as Keras's."""
    shape = (4, 3, 3, 5)
    x, upstream = inputs(shape, 0), inputs(shape, 1)
    penalties = []
    for layer in layer_pair(shape):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                loss = tf.reduce_sum(layer(x, training=True) * upstream)
            penalty = tf.reduce_sum(tf.square(inner.gradient(loss, x)))
        penalties.append((float(penalty), outer.gradient(penalty, layer.gamma.value).numpy()))
    (expected, expected_grad), (penalty, grad) = penalties
    assert penalty == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-4 * np.abs(expected_grad).max())


@pytest.mark.parametrize("shape, kwargs, training", [
    ((8, 7, 7, 16), {}, False),  # inference: the presets' sampling
    ((8, 7, 7, 16), {}, None),
    ((6, 16), {}, True),  # other ranks
    ((2, 3, 4, 4, 5), {}, True),
    ((4, 5, 5, 6), {"axis": 1}, True),  # channels first
    ((4, 5, 5, 6), {"epsilon": 1e-6}, True),  # below the kernel's floor
    ((4, 5, 5, 6), {"renorm": True}, True),
    ((4, 5, 5, 6), {"synchronized": True}, True),
])
def test_everything_but_a_fusable_training_call_is_keras_bit_for_bit(shape, kwargs, training):
    keras_layer, fused = layer_pair(shape, **kwargs)
    for layer in (keras_layer, fused):  # non-trivial moving statistics for inference
        layer.moving_mean.assign(np.linspace(-1, 1, layer.moving_mean.shape[0]))
        layer.moving_variance.assign(np.linspace(0.5, 2, layer.moving_variance.shape[0]))
    for step in range(2):
        x = inputs(shape, step)
        np.testing.assert_array_equal(fused(x, training=training), keras_layer(x, training=training))
    for expected, weight in zip(keras_layer.weights, fused.weights, strict=True):
        np.testing.assert_array_equal(weight, expected, err_msg=weight.path)


def test_a_frozen_layer_and_a_masked_call_are_keras():
    shape = (4, 5, 5, 6)
    frozen = layer_pair(shape)
    for layer in frozen:
        layer.trainable = False  # Keras: a frozen batch norm runs in inference mode
    masked = layer_pair(shape)
    x, mask = inputs(shape, 0), tf.constant(np.random.default_rng(2).uniform(size=shape[:-1]) > 0.3)
    np.testing.assert_array_equal(frozen[1](x, training=True), frozen[0](x, training=True))
    np.testing.assert_array_equal(masked[1](x, training=True, mask=mask), masked[0](x, training=True, mask=mask))
    np.testing.assert_array_equal(masked[1].moving_variance, masked[0].moving_variance)


def test_replicas_normalise_their_own_batch_as_keras_does():
    """Under MirroredStrategy (plain batch norm: each replica its own half of the batch) every replica's outputs
    and moving statistics are Keras's."""
    strategy = tf.distribute.MirroredStrategy(two_cpus())
    shape = (4, 5, 5, 6)
    with strategy.scope():
        pair = layer_pair(shape)
    x = inputs((8, *shape[1:]), 0) + tf.repeat([[[[0.0]]], [[[1.0]]]], 4, axis=0)  # the halves differ
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(x).unbatch().batch(8))
    batch = next(iter(dataset))
    results = [strategy.experimental_local_results(strategy.run(tf.function(lambda b, layer=layer: layer(
        b, training=True)), args=(batch,))) for layer in pair]
    for expected, outputs in zip(*results, strict=True):
        np.testing.assert_allclose(outputs, expected, rtol=RTOL, atol=ATOL)
    for name in ("moving_mean", "moving_variance"):
        copies = [strategy.experimental_local_results(getattr(layer, name).value) for layer in pair]
        for expected, actual in zip(*copies, strict=True):
            np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7, err_msg=name)


def test_the_batch_norm_setting_builds_it_and_sync_batch_stays_keras():
    assert type(normalization("batch", "norm")) is BatchNormalization
    synchronized = normalization("sync_batch", "norm")
    assert type(synchronized) is keras.layers.BatchNormalization and synchronized.synchronized
    layer = normalization("batch", "norm")
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == "gan_zoo>BatchNormalization"
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is BatchNormalization and restored.get_config() == layer.get_config()


@pytest.mark.parametrize("name", store.list_models())
def test_shipped_presets_weights_load_into_it(name):
    """Keras addresses a layer's weights in .weights.h5 by class name (`layers/batch_normalization_1`): the
    presets' files, saved from Keras's layer, load every γ, β and moving statistic into ours."""
    recipe = store.build_recipe(store.preset_path(name))
    directory, loaded = store.preset_path(name), 0
    for network_name, network in store.shipped_networks(recipe, ("g", "d")).items():  # not SRGAN's classifier
        layers = [layer for layer in network._flatten_layers(include_self=False)
                  if isinstance(layer, keras.layers.BatchNormalization)]
        assert all(type(layer) is BatchNormalization for layer in layers), network_name
        network.load_weights(f"{directory}/{store.weights_file(network_name)}")
        with h5py.File(f"{directory}/{store.weights_file(network_name)}") as saved:
            for index, layer in enumerate(layers):
                stored = saved[f"layers/batch_normalization{f'_{index}' if index else ''}/vars"]
                for position, weight in enumerate([layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance]):
                    np.testing.assert_array_equal(weight, stored[str(position)], err_msg=weight.path)
                loaded += 1
    if not loaded:
        pytest.skip(f"{name} has no batch norm")


def test_a_recipe_with_it_trains_reloads_from_keras_file_and_runs_in_bfloat16():
    """DCGAN with batch norm in both networks (16×16: the discriminator's second stage has one): the recipe
    contract's training, .keras round trip (weights, outputs, the next step) and mixed_bfloat16 checks."""
    settings = {"latent_dim": 8, "width": 4, "image_shape": (16, 16, 1), "seed": 3, "ema_decay": 0.9,
                "generator_norm": "batch", "discriminator_norm": "batch"}
    data = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype("float32"))
    recipe = recipes.DCGAN(**settings)
    norms = [layer for network in (recipe.generator, recipe.discriminator) for layer in network.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 3 and all(type(layer) is BatchNormalization for layer in norms)
    compile_players(recipe)
    check_training(recipe, data, steps=2)
    reloaded = check_keras_reload(recipe, data)
    assert type(reloaded.discriminator.get_layer("down1_norm")) is BatchNormalization
    check_mixed_precision(lambda: recipes.DCGAN(**settings), data, "mixed_bfloat16")
