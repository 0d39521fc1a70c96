"""SAGAN (Zhang et al. 2018): the recipe contract, the self-attention layer against the paper's eq. 1–3 in numpy,
the golden step (one hinge step of each player, at TTUR's learning rates with the recipe's Adam), where the
networks attend, and the refusals. The CLI run (train, resume, sample, export with labels) is in
tests/zoo/test_sagan_cli.py."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from golden import GoldenStep, sgd_step
from recipe_checks import run_recipe_test
from recipes.layers import SelfAttention, SpectralConv2D, SpectralDense

EMA = 0.9  # not ½, where ema ← d·ema + (1 - d)·w and its reversal agree
TINY = {"latent_dim": 4, "width": 4, "image_shape": (8, 8, 1), "num_classes": 3, "seed": 9}


def test_conditional_sagan_recipe_contract():
    """Conditional batch norm, the projection discriminator, attention in both networks, an EMA generator."""
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(-1, 1, (8, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 8).astype("int32")
    run_recipe_test(recipes.SAGAN, {**TINY, "ema_decay": 0.9, "generator_norm": "sync_batch"}, (images, labels))


# --- the attention layer, written out in numpy ------------------------------------------------------------------
def spectral_kernel(kernel, u):
    """W/σ(W) [out, in] of a 1×1 conv's kernel [in, out] and its next u: one power iteration (Miyato et al. 2018,
    Alg. 1) on W = kernelᵀ: ṽ = Wᵀu/‖Wᵀu‖, u' = Wṽ/‖Wṽ‖, σ = u'ᵀWṽ."""
    w = kernel.T.astype(np.float64)
    v = w.T @ u / np.linalg.norm(w.T @ u)
    u_next = w @ v / np.linalg.norm(w @ v)
    return w / (u_next.T @ w @ v), u_next


def kernel_and_u(layer, name):
    return np.asarray(getattr(layer, f"{name}_kernel")), np.asarray(getattr(layer, f"{name}_singular_vector"))


def paper_attention(layer, x):
    """(y, β) of eq. 1–3 for x [batch, H, W, C] from the layer's weights: x_i the C features of position i
    (row-major), f(x_i) = W_f x_i, g(x_i) = W_g x_i, h(x_i) = W_h x_i; s_ij = f(x_i)ᵀg(x_j);
    β_j,i = exp(s_ij) / Σ_i exp(s_ij); o_j = W_v Σ_i β_j,i h(x_i); y_i = γ o_i + x_i."""
    batch, height, width, channels = x.shape
    positions = x.reshape(batch, height * width, channels).astype(np.float64)
    w = {name: spectral_kernel(*kernel_and_u(layer, name))[0] for name in "fghv"}
    ys, betas = [], []
    for example in positions:
        f, g, h = (example @ w[name].T for name in "fgh")  # row i: f(x_i), g(x_i), h(x_i)
        s = f @ g.T  # s[i, j] = f(x_i)ᵀg(x_j)
        beta = np.exp(s).T / np.exp(s).sum(axis=0)[:, None]  # beta[j, i] = exp(s_ij) / Σ_i exp(s_ij)
        o = (beta @ h) @ w["v"].T  # row j: W_v Σ_i β_j,i h(x_i)
        ys.append(float(layer.gamma) * o + example)
        betas.append(beta)
    return np.stack(ys).reshape(x.shape), np.stack(betas)


def test_self_attention_is_the_papers_equations():
    """On a 3×5 map of 16 channels (f, g: 2 channels, h: 8, W_v back to 16), with γ set to 0.7 and random
    kernels: the output and attention map equal eq. 1–3 computed in numpy from the spectrally normalised weights
    (one power iteration from the stored u, which a training call advances and an inference call keeps), also
    traced for a batch of unknown size; γ starts at 0, where the layer is the identity."""
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 16)).astype("float32")
    layer = SelfAttention()
    np.testing.assert_array_equal(layer(x), x)  # γ = 0: y = x
    assert [kernel_and_u(layer, name)[0].shape for name in "fghv"] == [(16, 2), (16, 2), (16, 8), (8, 16)]
    rng = np.random.default_rng(2)
    for name in "fghv":
        kernel = getattr(layer, f"{name}_kernel")
        kernel.assign(rng.normal(size=kernel.shape))
    layer.gamma.assign(0.7)
    expected, beta = paper_attention(layer, x)
    np.testing.assert_allclose(layer.attention_map(x), beta, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer.attention_map(x)).sum(axis=-1), 1.0, rtol=1e-5)
    before = {name: kernel_and_u(layer, name) for name in "fghv"}
    np.testing.assert_allclose(layer(x, training=False), expected, rtol=1e-4, atol=1e-5)
    for name in "fghv":
        np.testing.assert_array_equal(kernel_and_u(layer, name)[1], before[name][1])
    unknown_batch = tf.function(lambda t: layer(t), input_signature=[tf.TensorSpec([None, 3, 5, 16])])
    np.testing.assert_allclose(unknown_batch(x), expected, rtol=1e-4, atol=1e-5)  # Keras's fit traces [None, ...]
    for name in "fghv":  # a call without `training` is an inference call
        np.testing.assert_array_equal(kernel_and_u(layer, name)[1], before[name][1])
    np.testing.assert_allclose(layer(x, training=True), expected, rtol=1e-4, atol=1e-5)
    for name in "fghv":
        np.testing.assert_allclose(kernel_and_u(layer, name)[1], spectral_kernel(*before[name])[1], rtol=1e-5)
    half = SelfAttention(dtype="mixed_float16")  # mixed precision: computes and returns float16
    half.build(x.shape)
    half.set_weights(layer.get_weights())
    assert half(x).dtype == "float16"
    np.testing.assert_allclose(np.asarray(half(x), np.float32), layer(x), rtol=2e-2, atol=2e-2)


def test_attention_map_reads_the_attention_layer_of_either_network():
    """`SAGAN.attention_map` is the layer's β on the features the network feeds it, in inference: no variable
    changes (batch norm's statistics, the spectral norms' u)."""
    recipe = recipes.SAGAN(**TINY)
    before = [variable.numpy() for variable in recipe.generator.variables + recipe.discriminator.variables]
    z, labels = tf.random.stateless_normal([2, 4], [0, 1]), tf.constant([0, 2])
    generator = recipe.generator
    layer = generator.get_layer("attention")
    features = keras.Model(generator.inputs, layer.input)([z, labels])
    assert features.shape == (2, 4, 4, 8)
    np.testing.assert_allclose(recipe.attention_map([z, labels]), paper_attention(layer, np.asarray(features))[1],
                               rtol=1e-4, atol=1e-6)
    images = tf.random.stateless_uniform([2, 8, 8, 1], [0, 2], -1, 1)
    assert recipe.attention_map([images, labels], "discriminator").shape == (2, 16, 16)  # D attends on 4×4
    for old, variable in zip(before, recipe.generator.variables + recipe.discriminator.variables):
        np.testing.assert_array_equal(variable, old, err_msg=variable.path)


# --- the golden step ------------------------------------------------------------------------------------------------
def adam_first_step(loss_fn, variables, learning_rate, beta_2, epsilon):
    """The first Adam step (Kingma & Ba 2015, Alg. 1 in the form of their section 2, with ε̂) with β₁ = 0:
    m = g, v = (1 - β₂)g², α₁ = lr·√(1 - β₂), θ ← θ - α₁·m / (√v + ε̂). Returns the loss."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    for variable, grad in zip(variables, tape.gradient(loss, variables)):
        grad = tf.convert_to_tensor(grad)
        alpha = learning_rate * np.sqrt(1 - beta_2)
        variable.assign_sub(alpha * grad / (tf.sqrt((1 - beta_2) * grad**2) + epsilon))
    return float(loss)


@pytest.mark.parametrize("optimizers, num_classes", [("sgd", 3), ("ttur", None)])
def test_sagan_step_is_one_hinge_step_of_each_player(optimizers, num_classes):
    """D: min E[relu(1 − D(x, y))] + E[relu(1 + D(G(z, y), y))]; then G against the updated D on fresh z':
    min −E[D(G(z', y), y)]; y the real labels (unconditional: D(x), G(z)); EMA. `sgd`: the harness's SGD (the
    update is the gradient); `ttur`: the recipe's own optimizers, Adam(1e-4, β₁ = 0, β₂ = 0.9) for G and
    Adam(4e-4, 0, 0.9) for D (Heusel et al. 2017; SAGAN section 4), whose first step is written out (unconditional:
    Keras's Adam gives an embedding's sparse gradient a second moment per occurrence of a label, Σg², where dense
    Adam has (Σg)²). γ = 0.5 in both attention layers, so the attention's weights get gradients."""
    recipe = recipes.SAGAN(**{**TINY, "num_classes": num_classes}, ema_decay=EMA)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    if optimizers == "ttur":
        recipe.compile()
        defaults = {"g": recipe.g_optimizer, "d": recipe.d_optimizer}
        assert {kind: (float(o.learning_rate), o.beta_1, o.beta_2) for kind, o in defaults.items()} == {
            "g": (pytest.approx(1e-4), 0.0, 0.9), "d": (pytest.approx(4e-4), 0.0, 0.9)}
    G, D = recipe.generator, recipe.discriminator
    for network in (G, D):
        network.get_layer("attention").gamma.assign(0.5)
    real = tf.constant(np.random.default_rng(12).uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32))
    y = tf.constant([0, 2, 1, 2], tf.int32)
    logs, after = golden.run((real, y))
    (z_d, z_g) = golden.draws
    condition = (lambda t: t) if num_classes is None else (lambda t: [t, y])

    def critic(images):
        return D(condition(images), training=True)[:, 0]

    def step(loss_fn, network, learning_rate):
        if optimizers == "sgd":
            return sgd_step(loss_fn, network.trainable_variables)
        return adam_first_step(loss_fn, network.trainable_variables, learning_rate, 0.9, 1e-7)

    fake = G(condition(z_d), training=True)
    d_loss = step(lambda: tf.reduce_mean(tf.nn.relu(1 - critic(real))) + tf.reduce_mean(tf.nn.relu(1 + critic(fake))),
                  D, 4e-4)
    g_loss = step(lambda: -tf.reduce_mean(critic(G(condition(z_g), training=True))), G, 1e-4)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)
    assert int(recipe.d_optimizer.iterations) == 1 and int(recipe.g_optimizer.iterations) == 1


def test_train_with_the_cli_defaults_gives_each_player_its_ttur_rate():
    """zoo.train's optimizers: the recipe's per-player defaults, `d_lr` / `g_lr` / `lr` overriding them."""
    from zoo.train.build import player_optimizer

    recipe = recipes.SAGAN(**TINY)
    rates = lambda settings: [float(player_optimizer(recipe, settings, kind).learning_rate)  # noqa: E731
                              for kind in ("g", "d")]
    assert rates({}) == pytest.approx([1e-4, 4e-4])
    assert rates({"d_lr": 2e-4}) == pytest.approx([1e-4, 2e-4])
    assert rates({"lr": 3e-4}) == pytest.approx([3e-4, 3e-4])


# --- where it attends, and the refusals --------------------------------------------------------------------------
def test_sagan_attends_at_16x16_on_padded_fashion_mnist_and_normalises_every_generator_layer():
    assert recipes.SAGAN.fitted_data((28, 28, 1)) == {"image_size": 32, "crop": "pad"}  # SNGAN's padding to 32
    recipe = recipes.SAGAN(width=4, latent_dim=8)
    assert recipe.image_shape == (32, 32, 1) and recipe.n_dis == 1 and recipe.attention_resolution == 16
    assert recipe.generator.get_layer("attention").input.shape == (None, 16, 16, 8)  # 2w channels
    assert recipe.discriminator.get_layer("attention").input.shape == (None, 16, 16, 4)  # w channels
    coarse = recipes.SAGAN(width=4, latent_dim=8, attention_resolution=8)
    assert coarse.generator.get_layer("attention").input.shape[1:3] == (8, 8)
    assert coarse.discriminator.get_layer("attention").input.shape[1:3] == (8, 8)
    weighted = [layer for layer in recipe.generator.layers if isinstance(layer, (keras.layers.Dense,
                                                                                 keras.layers.Conv2D))]
    assert len(weighted) == 1 + 3 * 3 + 1 and all(isinstance(layer, (SpectralDense, SpectralConv2D))
                                                  for layer in weighted)


def test_sagan_refuses_bad_settings_in_one_line():
    for bad in (12, 32, 4, True, "16"):
        with pytest.raises(ValueError, match=rf"^`attention_resolution` must be a feature-map height both networks "
                                             rf"have for \(32, 32, 1\) images, one of \[16, 8\]\. Received: "
                                             rf"attention_resolution={bad!r}$"):
            recipes.SAGAN(width=4, attention_resolution=bad)
    with pytest.raises(ValueError, match=r"^`num_classes` must be None or an integer ≥ 2\. Received: num_classes=1$"):
        recipes.SAGAN(**{**TINY, "num_classes": 1})
    with pytest.raises(ValueError, match=r"^A class-conditional SAGAN trains on \(images, labels\) batches; the "
                                         r"dataset has no labels\.$"):
        recipes.SAGAN(**TINY).train_step(tf.zeros([4, 8, 8, 1]))


def test_nearest_up_sampling_is_up_sampling_2d_with_static_shape_and_an_xla_gradient():
    """The residual blocks' ×2 up-sampling: UpSampling2D's values and gradients, the static 2H × 2W that TFLite's
    converter needs, and a gradient that XLA compiles (the train step is jit-compiled where XLA is faster)."""
    from recipes.layers import NearestUpSampling2D

    x = tf.random.stateless_normal([2, 3, 5, 4], [0, 1])
    weights = tf.random.stateless_normal([2, 6, 10, 4], [0, 2])
    layer, reference = NearestUpSampling2D(), keras.layers.UpSampling2D(2)
    np.testing.assert_array_equal(layer(x), reference(x))
    assert keras.Input((3, 5, 4)).shape[1:] == (3, 5, 4) and layer(keras.Input((3, 5, 4))).shape[1:] == (6, 10, 4)

    @tf.function(jit_compile=True)
    def gradient(up, inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(up(inputs) * weights)
        return tape.gradient(loss, inputs)

    np.testing.assert_allclose(gradient(layer, x), gradient(reference, x), rtol=1e-6)
