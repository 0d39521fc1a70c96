"""The recipe test contract (issue 31): `run_recipe_test`, the one call every recipe's tests make (KerasHub's
`run_backbone_test`), and the pieces it is made of.

A new recipe's tests are two things:

1. tests/recipes/test_<name>.py calls the contract once, on a tiny configuration and one batch::

       def test_sngan_recipe_contract():
           run_recipe_test(recipes.SNGAN, {"latent_dim": 8, "width": 4, "image_shape": (8, 8, 1), "seed": 3,
                                           "ema_decay": 0.9}, batch)

   `init_kwargs`: widths 4–8, 8×8 images, a fixed `seed` (the copies the contract builds must draw the same
   noise), `ema_decay` when the recipe keeps an EMA generator, and the options a mirrored step must handle
   (synchronized batch norm: `*_norm="sync_batch"`, not plain "batch", which normalises per replica);
   `batch`: what one `train_step` takes (images, (images, labels), (a, b), ...), 4 or 8 examples (half of them
   per replica). `steps`, `policies` and `xfail` (`run_recipe_test`) fit it to a recipe whose steps alternate,
   to more precisions, and to a known bug.
2. tests/recipes/test_golden_steps.py gets its golden step: one `train_step` of the recipe against its paper's
   objective written out in the test (tests/helpers/golden.py).

The file then holds only what the contract cannot know: the recipe's own layers, options and refusals.
"""
import dataclasses
import json
import os
import re
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

LR = 0.01  # the first player's SGD learning rate (`compile_players`)
RTOL, ATOL = 1e-5, 1e-6  # a mirrored step (graph, two replicas) against the eager one-device step


@dataclasses.dataclass
class RecipeTest:
    """What `run_recipe_test` built, for a recipe's own checks on top of the contract (no second build)."""
    recipe: keras.Model  # trained `steps` steps, saved, then one more step
    logs: dict  # {name: float} of its first `steps` steps
    reloaded: keras.Model  # its `.keras` reload, after the same one more step (None when that check is an xfail)
    mirrored: keras.Model  # `steps` steps under MirroredStrategy on two logical CPUs (None: xfail)
    mixed: dict  # {policy: (recipe, logs)} of the mixed-precision steps


def run_recipe_test(cls, init_kwargs, data, *, steps=1, policies=("mixed_bfloat16",), xfail=None):
    """The recipe test contract: every check a recipe must pass, on a tiny configuration (module docstring).

    - registration: `recipes.get_recipe(name) is cls`, Keras-serializable as gan_zoo>Class, its paper recorded;
      an unknown recipe name and an unknown preset refused with the registry's and the preset store's messages;
    - config: `get_config()` holds every argument of `init_kwargs` and only constructor arguments, and
      `from_config(get_config())` rebuilds the same configuration;
    - training: `steps` eager train steps on `data` (SGD per player, each at its own learning rate) give finite
      float32 logs named `loss_names`, count each player's steps (a discriminator's: `real_batches_per_step`
      per step; `recipe.optimizer` is the generator's), move every layer with trainable weights of every trained
      network and of the EMA generator, and leave fixed networks (SRGAN's content network) as they were;
    - mirrored: the same steps under MirroredStrategy on two logical CPUs (tests/conftest.py), through `fit`,
      give every network's weights and the logs of the one-device steps, and the replicas agree on every
      non-trainable variable (batch-norm statistics, spectral norm's singular vectors);
    - keras_reload: the recipe saved as .keras and loaded has the same class, config, weights and every network's
      outputs on fixed inputs; it is compiled with each player's optimizer as it was (config, iterations,
      slots), and its next step equals the original's;
    - mixed_precision, for each of `policies`: the trained networks compute in low precision with float32
      weights, one step gives finite float32 logs, and the generators output float32 (mixed_float16: every
      optimizer scales its loss).

    Args:
        cls: the recipe class.
        init_kwargs: its tiny configuration; `seed` must be fixed (the copies compared draw the same noise).
        data: one train_step's batch (images, (images, labels), (a, b), ...), of an even size (two replicas).
        steps: train steps the training and mirrored checks take on `data` (2 for StyleGAN-lite's lazy R1:
            an R1 step, then a plain one).
        policies: the mixed-precision policies to check.
        xfail: {check name ("mirrored", "keras_reload" or "mixed_precision"): the known bug}: that check must fail
            until the bug is fixed, when the test says to drop it (strict, as pytest's xfail).

    Returns:
        RecipeTest: the recipes it trained, for the recipe's own assertions.
    """
    xfail = dict(xfail or {})
    assert set(xfail) <= {"mirrored", "keras_reload", "mixed_precision"}, xfail
    assert "seed" in init_kwargs, "a fixed seed: the recipes the contract compares must draw the same noise"
    data = tf.nest.map_structure(tf.convert_to_tensor, data)
    assert tf.nest.flatten(data)[0].shape[0] % 2 == 0, "an even batch: it is split over two replicas"
    check_registered(cls)
    recipe = cls(**init_kwargs)
    check_config(recipe, init_kwargs)
    initial = recipe.get_weights()
    compile_players(recipe)
    logs = check_training(recipe, data, steps)

    def check(name, function, *args):
        if name not in xfail:
            return function(*args)
        try:
            function(*args)
        except AssertionError:
            return None
        pytest.fail(f"the {name} check passed, but xfail says it fails: {xfail[name]} Fixed? Drop it from xfail.")

    make = lambda: cls(**init_kwargs)  # noqa: E731
    mirrored = check("mirrored", check_mirrored_equals_single_device, make, initial, data, steps, recipe, logs)
    reloaded = check("keras_reload", check_keras_reload, recipe, data)
    mixed = {policy: check("mixed_precision", check_mixed_precision, make, data, policy) for policy in policies}
    return RecipeTest(recipe, logs, reloaded, mirrored, mixed)


# --- registration and configuration -----------------------------------------------------------------------------
def check_registered(cls):
    """`cls` is in the recipe registry under its name, with its paper; unknown names and presets are refused."""
    import recipes
    import zoo
    from zoo.errors import UserError

    name = cls.recipe_name
    assert recipes.get_recipe(name) is cls and recipes.RECIPES[name] is cls and name in zoo.list_recipes()
    assert keras.saving.get_registered_object(f"gan_zoo>{cls.__name__}") is cls
    assert "https://arxiv.org/abs/" in cls.paper, cls.paper
    known = re.escape(", ".join(sorted(recipes.RECIPES)))
    with pytest.raises(ValueError, match=rf"^Unknown recipe '{name}_unknown'\. Known recipes: {known}$"):
        recipes.get_recipe(f"{name}_unknown")
    with pytest.raises(UserError, match=rf"^Unknown model '{name}_unknown_preset'\..* Known models: "):
        zoo.load_recipe(f"{name}_unknown_preset")


def check_config(recipe, init_kwargs):
    """get_config holds the given arguments (plain values as given) and only constructor arguments;
    from_config(get_config()) rebuilds the same configuration."""
    cls, config = type(recipe), recipe.get_config()
    for key, value in init_kwargs.items():
        assert key in config, f"get_config() lacks the constructor argument {key!r}"
        if isinstance(value, (bool, int, float, str, tuple, list, type(None))):
            assert config[key] == (list(value) if isinstance(value, tuple) else value), key
    assert set(config) - {"name"} <= set(cls.constructor_arguments()), set(config) - set(cls.constructor_arguments())
    assert cls.from_config(config).get_config() == config


# --- the networks --------------------------------------------------------------------------------------------------
def networks_of(recipe):
    """{attribute: (role, network)}: role "trained" for the players' networks, "ema" for the EMA generator,
    "fixed" for any other network the recipe holds (SRGAN's content network)."""
    trained = {**recipe.networks("g"), **recipe.networks("d")}
    roles = {name: ("trained", network) for name, network in trained.items()}
    if recipe.ema_generator is not None:
        roles["ema_generator"] = ("ema", recipe.ema_generator)
    for name, value in vars(recipe).items():
        if isinstance(value, keras.Model) and not name.startswith("_") and name not in roles:
            roles[name] = ("fixed", value)
    return roles


def fixed_inputs(recipe, name, count=2):
    """Inputs of network `name` that do not change between calls: count examples of the shapes it sees in a
    step (`step_input_shapes`; sizes it leaves open: the recipe's image size), labels 0, 1, 0, ..."""
    inputs = []
    rng = np.random.default_rng(7)
    for tensor, shape in zip(getattr(recipe, name).inputs, recipe.step_input_shapes(name), strict=True):
        if "int" in str(tensor.dtype):
            inputs.append(np.arange(count, dtype=str(tensor.dtype)) % 2)
        else:
            shape = [recipe.image_shape[i] if d is None else d for i, d in enumerate(shape)]
            inputs.append(rng.uniform(-1, 1, (count, *shape)).astype("float32"))
    return inputs if len(inputs) > 1 else inputs[0]


def outputs_of(recipe, name):
    return [np.asarray(t) for t in tf.nest.flatten(getattr(recipe, name)(fixed_inputs(recipe, name)))]


def layers_with_weights(network):
    """(path, [its own trainable weights]) of every layer of `network` that has some, nested layers included."""
    layers = network._flatten_layers(include_self=False)
    return [(layer.path, own) for layer in layers if (own := getattr(layer, "_trainable_variables", None))]


# --- training ------------------------------------------------------------------------------------------------------
def compile_players(recipe):
    """One optimizer per player: SGD with momentum (its first step moves a weight by lr·gradient, so a step that
    differs shows, where Adam's first step, lr·sign(gradient), would hide it or amplify round-off), each with its
    own learning rate (a reload that swapped two players' optimizers shows)."""
    recipe.compile(**{name: keras.optimizers.SGD(LR * (1 + i / 2), momentum=0.5)
                      for i, name in enumerate(recipe.players)})


def float_logs(logs):
    """{name: float} of a step's logs, each a finite float32 scalar."""
    for name, value in logs.items():
        assert value.dtype == tf.float32 and np.isfinite(float(value)), (name, value)
    return {name: float(value) for name, value in logs.items()}


def check_training(recipe, data, steps):
    """`steps` eager train steps on `data`: finite float32 logs named `loss_names`; every player's optimizer
    took its steps (the discriminator's: `real_batches_per_step` per step), the generator's is
    `recipe.optimizer`; each layer with trainable weights of the trained and EMA networks moved, the fixed
    networks did not. Returns the logs."""
    networks = networks_of(recipe)
    fixed = {name: [np.array(w) for w in network.weights] for name, (role, network) in networks.items()
             if role == "fixed"}
    layers = {name: [[np.array(w) for w in weights] for _, weights in layers_with_weights(network)]
              for name, (role, network) in networks.items() if role != "fixed"}
    for _ in range(steps):
        logs = recipe.train_step(data)
    assert set(logs) == set(recipe.loss_names)
    logs = float_logs(logs)
    for name, (kind, _) in recipe.players.items():
        expected = steps * (1 if kind == "g" else recipe.real_batches_per_step)
        assert int(getattr(recipe, name).iterations) == expected, name
    assert recipe.optimizer is getattr(recipe, next(iter(recipe.players)))
    for name, values in fixed.items():
        for weight, value in zip(getattr(recipe, name).weights, values, strict=True):
            np.testing.assert_array_equal(weight, value, err_msg=f"fixed network {name} changed: {weight.path}")
    for name, before in layers.items():
        for (path, weights), values in zip(layers_with_weights(getattr(recipe, name)), before, strict=True):
            assert any(not np.array_equal(w, v) for w, v in zip(weights, values)), f"{name}: {path} did not move"
    return logs


# --- distribution --------------------------------------------------------------------------------------------------
def two_cpus():
    devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
    assert len(devices) == 2, "tests/conftest.py configures two logical CPUs"
    return devices


def fit_under(strategy, make_recipe, initial_weights, dataset, compile_recipe=lambda recipe: recipe.compile()):
    """`fit` one epoch of `dataset` (batched) under `strategy`, from `initial_weights`; the recipe and its last logs."""
    with strategy.scope():
        recipe = make_recipe()
        recipe.set_weights(initial_weights)
        compile_recipe(recipe)
    logs = recipe.fit(dataset, epochs=1, verbose=0).history
    return recipe, {name: values[-1] for name, values in logs.items()}


def check_mirrored_equals_single_device(make_recipe, initial_weights, data, steps, single, single_logs):
    """`fit` of `steps` × `data` under MirroredStrategy on two logical CPUs (half the batch each), from
    `initial_weights`, gives the weights of every network of `single` (the same steps on one device) and its
    logs; the replicas' copies of every non-trainable variable agree. Returns the mirrored recipe."""
    dataset = tf.data.Dataset.from_tensors(data).repeat(steps)
    mirrored, logs = fit_under(tf.distribute.MirroredStrategy(two_cpus()), make_recipe, initial_weights, dataset,
                               compile_players)
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    for name, (_, network) in networks_of(mirrored).items():
        for weight, expected in zip(network.weights, getattr(single, name).weights, strict=True):
            np.testing.assert_allclose(weight, expected, rtol=RTOL, atol=ATOL, err_msg=f"{name}: {weight.path}")
        for variable in network.non_trainable_variables:
            copies = [np.asarray(c) for c in mirrored.distribute_strategy.experimental_local_results(variable.value)]
            np.testing.assert_allclose(copies[1], copies[0], atol=1e-6, err_msg=f"replicas differ: {variable.path}")
    assert set(logs) == set(single_logs)
    for name, value in single_logs.items():
        assert logs[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
    return mirrored


# --- .keras --------------------------------------------------------------------------------------------------------
def check_keras_reload(recipe, data):
    """Save the trained, compiled `recipe` as .keras and load it: the same class, config and weights, every
    network's outputs on fixed inputs, each player's optimizer restored (config, iterations, slot variables)
    and the next step on `data` equal to the original's. Returns the reloaded recipe."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, f"{recipe.recipe_name}.keras")
        recipe.save(path)
        reloaded = keras.models.load_model(path)
    assert type(reloaded) is type(recipe) and as_saved(reloaded.get_config()) == as_saved(recipe.get_config())
    for weight, expected in zip(reloaded.weights, recipe.weights, strict=True):
        np.testing.assert_array_equal(weight, expected, err_msg=weight.path)
    for name in networks_of(recipe):
        for actual, expected in zip(outputs_of(reloaded, name), outputs_of(recipe, name), strict=True):
            np.testing.assert_allclose(actual, expected, atol=1e-6, err_msg=name)
    assert reloaded.compiled and reloaded.optimizer is getattr(reloaded, next(iter(recipe.players)))
    assert set(reloaded.player_optimizers) == set(recipe.player_optimizers)
    for name, optimizer in recipe.player_optimizers.items():
        restored = reloaded.player_optimizers[name]
        assert restored.get_config() == optimizer.get_config(), name
        for variable, expected in zip(restored.variables, optimizer.variables, strict=True):
            np.testing.assert_array_equal(variable, expected, err_msg=f"{name}: {variable.path}")
    # a .keras file does not hold the SeedGenerator's state (training resumes from checkpoints that do:
    # zoo.train.run_directory); with the same noise the reloaded recipe trains on as the original does
    reloaded.seed_generator.state.assign(recipe.seed_generator.state)
    for tracker in recipe.metrics:
        tracker.reset_state()
    logs = [float_logs(model.train_step(data)) for model in (recipe, reloaded)]
    assert logs[1] == pytest.approx(logs[0], rel=1e-6, abs=1e-7)
    for weight, expected in zip(reloaded.weights, recipe.weights, strict=True):
        np.testing.assert_allclose(weight, expected, rtol=1e-6, atol=1e-7, err_msg=weight.path)
    return reloaded


def as_saved(config):
    """`config` as the .keras file holds it (JSON: tuples are lists)."""
    return json.loads(json.dumps(config))


# --- mixed precision -----------------------------------------------------------------------------------------------
def computes_in(network, dtype):
    """True when some layer of `network` computes in `dtype` while every weight stays float32."""
    return any(layer.compute_dtype == dtype for layer in network.layers) and all(
        w.dtype == "float32" for w in network.weights)


def check_mixed_precision(make_recipe, data, policy):
    """Under `policy`: the trained networks compute in its low precision with float32 weights, one train step on
    `data` gives finite float32 logs, and the generators output float32. Returns (recipe, logs)."""
    keras.config.set_dtype_policy(policy)
    try:
        recipe = make_recipe()
        recipe.compile()
    finally:
        keras.config.set_dtype_policy("float32")
    low = policy.split("_")[1]
    networks = networks_of(recipe)
    for name, (role, network) in networks.items():
        assert role == "fixed" or computes_in(network, low), (name, policy)
    if policy == "mixed_float16":
        assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in recipe.player_optimizers.values())
    logs = float_logs(recipe.train_step(data))
    assert all(w.dtype not in ("float16", "bfloat16") for w in recipe.weights)
    for name in [*recipe.networks("g"), *(["ema_generator"] if "ema_generator" in networks else [])]:
        assert all(output.dtype == np.float32 for output in outputs_of(recipe, name)), (name, policy)
    return recipe, logs
