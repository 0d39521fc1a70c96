"""StyleGAN-lite: its recipe contract, lazy R1, the generator's parts, the layers' arithmetic, truncation and
style mixing."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from recipe_checks import run_recipe_test
from recipes import losses
from recipes.latents import stream_latents
from recipes.stylegan_lite import (EqualizedConv2D, EqualizedDense, MinibatchStddev, ModulatedConv2D, StyleGANLite,
                                   StyleGenerator, broadcast, num_style_layers, synthesize, w_avg_of)

TINY = {"latent_dim": 8, "w_dim": 8, "width": 8, "mapping_layers": 2, "image_shape": (8, 8, 1), "seed": 3}


def images(count=16, size=8, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, 1)).astype("float32")


def train_eagerly(recipe, steps=2, batch=8):
    """`steps` train steps without tracing a graph (fast for tiny models; `fit` is tested elsewhere)."""
    data = images(batch * steps)
    return [recipe.train_step(tf.constant(data[i * batch:(i + 1) * batch])) for i in range(steps)]


def trained(steps=2, **overrides):
    recipe = StyleGANLite(**{**TINY, "ema_decay": 0.5, **overrides})
    recipe.compile()
    train_eagerly(recipe, steps)
    return recipe


def test_stylegan_lite_recipe_contract():
    """Two steps, an R1 step then a plain one, at a global batch of 8. Per replica: 4 examples, one
    minibatch-stddev group of 4 (the single device has two groups of 4: the same ones), noise, latents and
    mixing drawn for the global batch (`replica_random`). Mixed float16 too: R1's input gradient under loss
    scaling."""
    z = stream_latents(2, 0, 4, 8)
    result = run_recipe_test(StyleGANLite, {**TINY, "ema_decay": 0.9, "r1_interval": 2, "r1_gamma": 1.0}, images(8),
                             steps=2, policies=("mixed_bfloat16", "mixed_float16"))
    assert result.logs["r1_penalty"] > 0
    for recipe in (result.recipe, result.mirrored):
        w_avg = recipe.w_avg.numpy()
        assert np.abs(w_avg).max() > 0  # moved from its zero initialisation
        np.testing.assert_array_equal(w_avg_of(recipe.ema_generator).mean.numpy(), w_avg)  # copied to the EMA
    reloaded = result.reloaded
    np.testing.assert_allclose(reloaded.sample(3, 7, truncation=0.5), result.recipe.sample(3, 7, truncation=0.5),
                               atol=1e-6)
    for name in ("generator", "ema_generator"):  # the parts are attributes after a .keras reload
        check_parts(getattr(reloaded, name), z)
        np.testing.assert_array_equal(getattr(reloaded, name).w_avg.mean, getattr(result.recipe, name).w_avg.mean)
    float16, logs = result.mixed["mixed_float16"]
    assert logs["r1_penalty"] > 0
    assert float16.discriminator(images(2)).dtype == tf.float32
    assert float16.sample(2, 0, truncation=0.7).dtype == np.float32


def test_lazy_r1_enters_the_discriminator_step_only_every_interval():
    """Two recipes differing only in γ take identical steps unless the step is an R1 step."""
    pair = [StyleGANLite(**{**TINY, "r1_interval": 2, "r1_gamma": gamma}) for gamma in (100.0, 0.0)]
    pair[1].set_weights(pair[0].get_weights())
    batch = tf.constant(images(8))
    for recipe in pair:
        recipe.compile()
        recipe.d_optimizer.iterations.assign(1)  # D step 1: no R1
        assert float(recipe.train_step(batch)["r1_penalty"]) == 0  # and none logged
    for a, b in zip(pair[0].discriminator.weights, pair[1].discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    logs = [recipe.train_step(batch) for recipe in pair]  # D step 2: R1 with weight γ/2 · 2
    assert any(not np.allclose(a.numpy(), b.numpy(), atol=1e-6)
               for a, b in zip(pair[0].discriminator.weights, pair[1].discriminator.weights))
    assert float(logs[0]["r1_penalty"]) > 0


def test_r1_term_weight_is_half_gamma_times_interval():
    recipe = StyleGANLite(**{**TINY, "r1_interval": 4, "r1_gamma": 3.0})
    real, fake = tf.constant(images(4)), recipe.fake(4)
    on = recipe.discriminator_terms(real, fake, tf.constant(True))
    off = recipe.discriminator_terms(real, fake, tf.constant(False))
    expected_r1 = losses.r1_penalty(lambda x: recipe.discriminator(x, training=True), real)
    np.testing.assert_allclose(on["r1"], expected_r1, rtol=1e-5)
    np.testing.assert_allclose(on["loss"] - on["adversarial"], 0.5 * 3.0 * 4 * expected_r1, rtol=1e-5)
    np.testing.assert_array_equal(off["r1"], 0.0)
    np.testing.assert_array_equal(off["loss"], off["adversarial"])


def check_parts(generator, z):
    """`generator`'s attributes are the parts of its own graph, and synthesize(broadcast(mapping(z))) is G(z)."""
    assert isinstance(generator, StyleGenerator)
    assert generator.mapping is generator.get_layer("mapping") and generator.synthesis is generator.get_layer("synthesis")
    assert generator.w_avg is generator.mapping.get_layer("w_avg") is generator.mapping.w_avg
    assert list(generator.fixed_noise) == [generator.get_layer(f"const_noise{i}") for i in range(generator.num_layers)]
    ws = broadcast(generator.mapping(z), generator.num_layers)
    np.testing.assert_allclose(generator.synthesize(ws), generator(z), atol=1e-6)


def test_the_generators_parts_are_attributes_of_the_ema_copy_and_of_a_generator_reloaded_alone(tmp_path):
    """mapping, synthesis, w_avg and fixed_noise of the generator, of its EMA copy (its own parts), and of a
    generator saved and reloaded alone (config: its constructor's); after a .keras reload of the recipe: its
    contract test."""
    recipe = trained(steps=1)
    z = stream_latents(2, 0, 4, 8)
    for generator in (recipe.generator, recipe.ema_generator):
        check_parts(generator, z)
    assert recipe.ema_generator.w_avg is not recipe.generator.w_avg
    assert recipe.ema_generator.weights[0] is not recipe.generator.weights[0]
    recipe.ema_generator.save(tmp_path / "generator.keras")
    alone = keras.models.load_model(tmp_path / "generator.keras")
    check_parts(alone, z)
    assert alone.get_config() == recipe.ema_generator.get_config()
    np.testing.assert_allclose(alone(z), recipe.ema_generator(z), atol=1e-6)


def test_invalid_arguments_say_what_is_accepted():
    with pytest.raises(ValueError, match=r"power of two.*Received: image_shape=\(28, 28, 1\)"):
        StyleGANLite(**{**TINY, "image_shape": (28, 28, 1)})
    with pytest.raises(ValueError, match="Received: r1_interval=0"):
        StyleGANLite(**{**TINY, "r1_interval": 0})
    with pytest.raises(ValueError, match="Received: style_mixing_prob=1.5"):
        StyleGANLite(**{**TINY, "style_mixing_prob": 1.5})
    with pytest.raises(ValueError, match=r"crossover.*\[0, 3\]. Received: crossover=4"):
        StyleGANLite(**TINY).mix_styles(0, 1, 4)


def test_demodulation_gives_unit_variance_for_unit_variance_inputs():
    """y = Σ w''·x over a 3×3×8 window with Σ w''² = 1 after demodulation, so for iid N(0, 1) inputs
    every interior output is N(0, 1): E[y²] = 1, Var[y²] = 2. Positions 3 apart read disjoint
    windows, so each of the 9 interleaved sub-grids has 16·10·10 = 1600 independent positions; even
    if the 16 channels of a position were perfectly correlated, a sub-grid's mean of y² has standard
    error ≤ √(2/1600) ≈ 0.035, and the mean over all sub-grids no more. The tolerance 0.15 is > 4
    such standard errors. Without demodulation the styles (|s|² ≈ 10 here) scale the output."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((16, 32, 32, 8)), tf.float32)
    w = tf.constant(3.0 * rng.standard_normal((16, 8)), tf.float32)  # large styles: s = A·w + 1
    demodulated = ModulatedConv2D(16, 3)
    plain = ModulatedConv2D(16, 3, demodulate=False)
    y = demodulated([x, w]).numpy()[:, 1:-1, 1:-1]
    plain.build([x.shape, w.shape])
    plain.set_weights(demodulated.get_weights())
    y_plain = plain([x, w]).numpy()[:, 1:-1, 1:-1]
    assert np.mean(y**2) == pytest.approx(1.0, abs=0.15)
    assert np.mean(y_plain**2) > 3.0
    # the layer equals a convolution with per-example weights w'' = c·s·W / σ of unit norm
    styles = demodulated.styles(w).numpy()
    kernel = demodulated.kernel.numpy() * demodulated.weight_scale
    for b in (0, 5):
        modulated = kernel * styles[b][None, None, :, None]
        per_example = modulated / np.sqrt(np.sum(modulated**2, axis=(0, 1, 2)) + 1e-8)
        np.testing.assert_allclose(np.sum(per_example**2, axis=(0, 1, 2)), 1.0, rtol=1e-5)
        expected = tf.nn.conv2d(x[b:b + 1], per_example, 1, "SAME").numpy()[0, 1:-1, 1:-1]
        np.testing.assert_allclose(y[b], expected, atol=1e-4)


def test_equalized_learning_rate_scales_weights_at_run_time():
    dense = EqualizedDense(64, lr_multiplier=0.01)
    dense.build((None, 256))
    assert dense.weight_scale == pytest.approx(0.01 / 16)  # m / √fan_in
    assert np.std(dense.kernel.numpy()) == pytest.approx(100.0, rel=0.05)  # stored N(0, 1/m²)
    dense.bias.assign(np.linspace(-50, 50, 64))
    x = np.random.default_rng(0).standard_normal((3, 256)).astype("float32")
    expected = x @ (dense.kernel.numpy() * 0.01 / 16) + dense.bias.numpy() * 0.01
    np.testing.assert_allclose(dense(x), expected, rtol=1e-4, atol=1e-5)

    conv = EqualizedConv2D(4, 3, activation="lrelu")
    images_ = np.random.default_rng(1).standard_normal((1, 5, 5, 6)).astype("float32")
    conv.build(images_.shape)
    assert conv.weight_scale == pytest.approx(1 / math.sqrt(3 * 3 * 6))
    conv.bias.assign([0.1, -0.2, 0.3, -5.0])
    window = images_[0, 1:4, 1:4, :]  # the receptive field of output pixel (2, 2)
    linear = np.einsum("ijc,ijco->o", window, conv.kernel.numpy()) / math.sqrt(54) + conv.bias.numpy()
    expected = math.sqrt(2) * np.where(linear > 0, linear, 0.2 * linear)
    np.testing.assert_allclose(conv(images_).numpy()[0, 2, 2], expected, rtol=1e-4, atol=1e-5)

    mapping_layer = StyleGANLite(**TINY).mapping.get_layer("dense0")
    assert mapping_layer.lr_multiplier == 0.01
    assert mapping_layer.weight_scale == pytest.approx(0.01 / math.sqrt(8))


def test_truncation_at_zero_gives_the_mean_w_image():
    recipe = trained()
    w_avg = w_avg_of(recipe.ema_generator).mean
    mean_image = synthesize(recipe.ema_generator, broadcast(w_avg.numpy()[None], recipe.num_layers)).numpy()[0]
    for seed in (0, 1):
        samples = recipe.sample(4, seed, truncation=0.0)
        for image in samples:
            np.testing.assert_allclose(image, mean_image, atol=1e-6)
    assert not np.allclose(recipe.sample(4, 0, truncation=0.5), recipe.sample(4, 0, truncation=1.0), atol=1e-4)


def test_sampling_is_deterministic_and_style_mixing_takes_layers_from_each_seed():
    recipe = trained(steps=1)
    first = recipe.sample(3, 5)
    np.testing.assert_array_equal(recipe.sample(3, 5), first)
    assert not np.allclose(recipe.sample(3, 6), first, atol=1e-4)
    # ψ = 1 is the sampling generator itself (EMA weights, fixed noise) on the seed's z
    np.testing.assert_allclose(first, recipe.sampling_generator(stream_latents(5, 0, 3, 8)), atol=1e-5)
    layers = recipe.num_layers
    assert layers == num_style_layers(8) == 3
    np.testing.assert_allclose(recipe.mix_styles(5, 9, 0)[0], recipe.sample(1, 9)[0], atol=1e-5)
    np.testing.assert_allclose(recipe.mix_styles(5, 9, layers)[0], recipe.sample(1, 5)[0], atol=1e-5)
    middle = recipe.mix_styles(5, 9, 1)[0]
    assert not np.allclose(middle, recipe.sample(1, 5)[0], atol=1e-4)
    assert not np.allclose(middle, recipe.sample(1, 9)[0], atol=1e-4)
    grid = recipe.mix_styles([1, 2], [3, 4, 5], 2)  # row-major: image i·3 + j mixes a[i] with b[j]
    assert grid.shape == (6, 8, 8, 1)
    np.testing.assert_allclose(grid[1 * 3 + 2], recipe.mix_styles(2, 5, 2)[0], atol=1e-5)


def test_minibatch_stddev_groups_consecutive_examples():
    base = np.random.default_rng(0).standard_normal((1, 2, 2, 3)).astype("float32")
    x = np.concatenate([base + offset for offset in (0.0, 0.0, 0.0, 1.0, 2.0, 3.0)])
    stddev = MinibatchStddev(group_size=4)(x).numpy()[..., -1]  # 3 is the largest divisor of 6 that is ≤ 4
    # groups (0, 1, 2), (3, 4, 5); strided groups (0, 2, 4), (1, 3, 5) would give √(8/9) and √(14/9)
    np.testing.assert_allclose(stddev[:3], 1e-4, rtol=1e-3)  # √(0 + 1e-8): identical examples
    np.testing.assert_allclose(stddev[3:], math.sqrt(2 / 3), rtol=1e-4)  # population std of (1, 2, 3)


@pytest.mark.slow
def test_train_step_at_the_preset_size_lowers_to_xla():
    """XLA is the default training path: at 32×32, batch 64 and the default widths (the shipped preset),
    minibatch stddev once used tf.repeat, whose gradient inside the lazy-R1 tf.cond had a shape XLA could
    not fold to a constant (smaller networks or batches lowered fine)."""
    recipe = StyleGANLite(image_shape=(32, 32, 1), seed=0)
    recipe.compile()
    images = tf.zeros([64, 32, 32, 1])
    lower = tf.function(recipe.train_step, jit_compile=True).experimental_get_compiler_ir(images)
    assert "HloModule" in lower(stage="hlo")
