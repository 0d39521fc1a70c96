"""The DCGAN family's recipe contracts (`run_recipe_test`), and what every recipe shares: argument errors, loss
scaling, synchronized batch norm over replicas, XLA declarations, capabilities."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from recipe_checks import fit_under, run_recipe_test, two_cpus
from recipes.capabilities import SAMPLE, TRANSLATE

TINY = {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 3}
ALL_AUGMENTATIONS = "color,translation,cutout"
# the contract's configuration: an EMA generator, synchronized batch norm (plain batch norm normalises per replica:
# test_sync_batch_norm_on_two_replicas_equals_single_device_batch_norm) and a spectral discriminator, whose power
# iteration every replica must take alike
CONTRACT = {**TINY, "ema_decay": 0.9, "generator_norm": "sync_batch", "discriminator_norm": "spectral"}


def tiny_data(batch=8, n_critic=1, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch, n_critic, 8, 8, 1) if n_critic > 1 else (batch, 8, 8, 1)
    images = rng.uniform(-1, 1, shape).astype("float32")
    labels = rng.integers(0, 10, batch).astype("int32")
    return images, labels


def test_dcgan_recipe_contract():
    """With the hinge loss and DiffAugment's per-example draws."""
    run_recipe_test(recipes.DCGAN, {**CONTRACT, "loss": "hinge", "augment": ALL_AUGMENTATIONS}, tiny_data()[0])



@pytest.mark.parametrize("loss", ["relativistic_average_ls", "wasserstein"])
def test_dcgan_contract_with_batch_coupled_losses(loss):
    """Losses whose step reaches past the replica's examples: the relativistic average's E[C(x)] over the global
    batch (in D's and G's steps), and WGAN's weight clipping after the critic's update; two replicas must take
    the one-device step."""
    run_recipe_test(recipes.DCGAN, {**CONTRACT, "loss": loss}, tiny_data()[0])

def test_wgan_gp_recipe_contract():
    """Two critic steps, each on its own real batch ([batch, n_critic, H, W, C]), with DiffAugment."""
    run_recipe_test(recipes.WGANGP, {**CONTRACT, "n_critic": 2, "augment": ALL_AUGMENTATIONS},
                    tiny_data(n_critic=2)[0])


def test_lsgan_recipe_contract():
    run_recipe_test(recipes.LSGAN, {**CONTRACT, "a": -1.0, "b": 1.0, "c": 0.0}, tiny_data()[0])


def test_cgan_recipe_contract():
    run_recipe_test(recipes.CGAN, {**CONTRACT, "num_classes": 10}, tiny_data())


# SNGAN: two discriminator steps, each on its own real batch ([batch, n_dis, H, W, C]; labels [batch, n_dis])
SNGAN_CONTRACT = {"latent_dim": 8, "width": 4, "image_shape": (8, 8, 1), "seed": 3, "ema_decay": 0.9,
                  "generator_norm": "sync_batch", "n_dis": 2}


def test_sngan_recipe_contract():
    run_recipe_test(recipes.SNGAN, SNGAN_CONTRACT, tiny_data(n_critic=2)[0])


def test_conditional_sngan_recipe_contract():
    """Conditional batch norm in the generator, the projection discriminator, each step's labels."""
    images, _ = tiny_data(n_critic=2)
    labels = np.random.default_rng(1).integers(0, 10, (8, 2)).astype("int32")
    run_recipe_test(recipes.SNGAN, {**SNGAN_CONTRACT, "num_classes": 10}, (images, labels))


def test_invalid_arguments_say_what_is_accepted():
    with pytest.raises(ValueError, match="generator_norm.*Received: generator_norm='group'"):
        recipes.DCGAN(generator_norm="group", **TINY)
    with pytest.raises(ValueError, match="batch norm"):
        recipes.WGANGP(discriminator_norm="batch", **TINY)
    with pytest.raises(ValueError, match="image_shape=.*7, 7, 1"):
        recipes.DCGAN(latent_dim=8, image_shape=(7, 7, 1))


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_mixed_float16_wraps_every_optimizer_in_loss_scaling(name):
    cls = recipes.get_recipe(name)
    settings = TINY if SAMPLE in cls.capabilities else {"image_shape": (8, 8, 1)}
    keras.config.set_dtype_policy("mixed_float16")
    recipe = cls(**settings)
    recipe.compile()
    assert len(recipe.player_optimizers) == len(cls.players) >= 2
    assert all(isinstance(opt, keras.optimizers.LossScaleOptimizer) for opt in recipe.player_optimizers.values())
    keras.config.set_dtype_policy("float32")
    plain = cls(**settings)
    plain.compile()
    assert not any(isinstance(opt, keras.optimizers.LossScaleOptimizer) for opt in plain.player_optimizers.values())


@pytest.mark.parametrize("norm, equal", [("sync_batch", True), ("batch", False)])
def test_sync_batch_norm_on_two_replicas_equals_single_device_batch_norm(norm, equal):
    """DCGAN with batch norm, one step at a global batch of 8: with `sync_batch` two replicas
    (4 examples each) give the single-device weights and moving statistics; plain batch norm
    normalises each replica's 4 examples, and the replicas' moving statistics drift apart."""
    devices = two_cpus()
    images, _ = tiny_data(batch=8)
    images[4:] += 0.5  # the replicas' halves differ in mean, as batches of real data do
    initial = recipes.DCGAN(**TINY).get_weights()
    make = lambda: recipes.DCGAN(generator_norm=norm, discriminator_norm=norm, **TINY)  # noqa: E731
    dataset = tf.data.Dataset.from_tensors(images)
    single, _ = fit_under(tf.distribute.OneDeviceStrategy(devices[0]), make, initial, dataset)
    mirrored, _ = fit_under(tf.distribute.MirroredStrategy(devices), make, initial, dataset)
    moving = [v for v in mirrored.generator.non_trainable_variables if "moving_mean" in v.path]
    assert moving, "the generator has batch norm (at 8×8 the discriminator's one stage has none)"
    replicas = [r.numpy() for r in mirrored.distribute_strategy.experimental_local_results(moving[0].value)]
    difference = max(np.max(np.abs(a - b)) for a, b in zip(single.get_weights(), mirrored.get_weights()))
    assert (difference < 1e-5) == equal, difference
    assert np.allclose(replicas[0], replicas[1], atol=1e-6) == equal


def xla_step_inputs(name):
    """(recipe, one tiny batch) for any recipe: sampling recipes take images [+ labels], CycleGAN an
    unpaired (a, b) pair, SRGAN high-resolution images."""
    cls = recipes.get_recipe(name)
    images = tf.constant(tiny_data(4)[0])
    if SAMPLE in cls.capabilities:
        recipe = cls(**(TINY if name != "stylegan_lite" else {"image_shape": (8, 8, 1), "seed": 3}))
        return recipe, (images, tf.zeros(4, tf.int32)) if recipe.conditional else images
    small = {"image_shape": (8, 8, 1), "width": 4, "num_blocks": 1, "discriminator_width": 4}
    if TRANSLATE in cls.capabilities:
        return cls(**small, discriminator_layers=1, pool_size=4), (images, images[::-1])
    return cls(**small, discriminator_stages=1, discriminator_dense=8), images


@pytest.mark.parametrize("name", [*sorted(recipes.RECIPES), "dcgan-wasserstein_gp-spectral-diffaugment"])
def test_xla_compatible_declares_whether_the_train_step_compiles(name):
    """`xla_compatible` is what `zoo.train` reads to make XLA the default: it must be true exactly
    when the recipe's train step lowers to XLA (HLO; lowering fails on ops without an XLA kernel and
    is much cheaper than compiling, which tests/zoo/test_training.py does for DCGAN)."""
    if name.startswith("dcgan-"):
        recipe = recipes.DCGAN(loss="wasserstein_gp", discriminator_norm="spectral", augment=ALL_AUGMENTATIONS, **TINY)
        batch = tf.constant(tiny_data(4)[0])
    else:
        recipe, batch = xla_step_inputs(name)
    recipe.compile()
    lower = tf.function(recipe.train_step, jit_compile=True).experimental_get_compiler_ir(batch)
    if recipe.xla_compatible:
        assert "HloModule" in lower(stage="hlo")
    else:
        with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="unsupported operations"):
            lower(stage="hlo")


def test_capabilities_are_declared_once_and_match_what_each_recipe_does():
    """zoo/ and hub_export/ read `capabilities` instead of probing classes: the declaration must be true."""
    from recipes.capabilities import CONDITION, MIX_STYLES, SAMPLE, TRAIN, TRANSLATE, TRUNCATE, UPSCALE

    unconditional = {SAMPLE, TRAIN}
    expected = {"began": unconditional, "dcgan": unconditional, "ebgan": unconditional, "wgan_gp": unconditional,
                "lsgan": unconditional, "acgan": {SAMPLE, CONDITION, TRAIN},
                "cgan": {SAMPLE, CONDITION, TRAIN}, "stylegan_lite": {SAMPLE, TRUNCATE, MIX_STYLES, TRAIN},
                "cyclegan": {TRANSLATE, TRAIN}, "srgan": {UPSCALE, TRAIN},
                "sngan": unconditional,  # the class; an instance with num_classes adds CONDITION (test_sngan.py)
                "sagan": unconditional,  # likewise (test_sagan.py)
                "biggan_lite": {SAMPLE, CONDITION, TRUNCATE, TRAIN}}
    methods = {TRUNCATE: "generate_truncated", MIX_STYLES: "mix_styles", TRANSLATE: "translate", UPSCALE: "upscale"}
    tasks = {SAMPLE: "sampling", TRANSLATE: "translation", UPSCALE: "super_resolution"}
    for name, cls in recipes.RECIPES.items():
        assert cls.capabilities == expected[name], name
        for capability, method in methods.items():
            assert hasattr(cls, method) == (capability in cls.capabilities), (name, method)
        assert cls.conditional == (CONDITION in cls.capabilities)
        assert cls.task == next(task for capability, task in tasks.items() if capability in cls.capabilities)
