"""BigGAN-lite (Brock et al. 2018): the recipe contract, the golden step (hinge + the orthogonal penalty of eq. 3,
values in numpy, then the EMA), the penalty's value and gradient, the hierarchical latent and shared embedding, the
truncation trick against the truncated normal, and the refusals. Its export with labels and truncation runs with
every preset kind in tests/hub_export (the "conditional_truncated" kind)."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import special

import recipes
from golden import GoldenStep, sgd_step
from recipe_checks import run_recipe_test
from recipes.latents import _erfinv, truncated_normal
from recipes.layers import orthogonal_penalty

EMA = 0.9  # not ½, where ema ← d·ema + (1 - d)·w and its reversal agree
TINY = {"latent_dim": 8, "width": 4, "image_shape": (8, 8, 1), "num_classes": 3, "embedding_dim": 4, "seed": 5}


def test_biggan_lite_recipe_contract():
    """Synchronized batch norm behind the linear CBN, the orthogonal penalty, the EMA generator; the logs carry the
    penalty. One D step (n_dis batches are SNGAN's step, whose contract has two)."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 3, 8).astype("int32")
    run = run_recipe_test(recipes.BigGANLite, {**TINY, "ema_decay": 0.9, "generator_norm": "sync_batch",
                                               "ortho_beta": 0.01, "n_dis": 1}, (images, labels))
    assert set(run.logs) == {"d_loss", "g_loss", "ortho_penalty"} and run.logs["ortho_penalty"] > 0


# --- the orthogonal penalty, eq. 3 ----------------------------------------------------------------------------------
def off_diagonal_gram(kernel):
    """WᵀW ⊙ (1 − I) in float64, W the kernel as [fan_in, units] (each column a unit's filter)."""
    w = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
    return (w.T @ w) * (1 - np.eye(w.shape[1])), w


def test_orthogonal_penalty_is_the_squared_off_diagonal_gram_and_its_gradient():
    """‖WᵀW ⊙ (1 − I)‖²_F of a conv kernel [3, 3, 2, 5] (W: 18 × 5), and its gradient 4·W(WᵀW ⊙ (1 − I)) (A
    symmetric: d‖A‖²_F = 2⟨A, dWᵀW + WᵀdW⟩ on the off-diagonal); orthonormal filters cost nothing, whatever their
    norms: columns of an orthogonal matrix scaled by 3 and 0.5."""
    kernel = tf.Variable(np.random.default_rng(3).normal(size=(3, 3, 2, 5)).astype(np.float32))
    gram, w = off_diagonal_gram(kernel)
    with tf.GradientTape() as tape:
        penalty = orthogonal_penalty(kernel)
    np.testing.assert_allclose(float(penalty), np.sum(gram**2), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(penalty, kernel), (4 * w @ gram).reshape(3, 3, 2, 5), rtol=1e-4,
                               atol=1e-4)
    q = np.linalg.qr(np.random.default_rng(4).normal(size=(6, 6)))[0][:, :4] * np.array([3.0, 0.5, 1.0, 2.0])
    assert float(orthogonal_penalty(tf.constant(q, tf.float32))) == pytest.approx(0.0, abs=1e-5)


def test_the_penalty_covers_every_generator_kernel_but_the_shared_embedding():
    """The dense to the first feature map, every conv, the CBN gains and biases, (attention's 1×1 kernels when on);
    not the shared class embedding, nor biases, norms or γ."""
    recipe = recipes.BigGANLite(**TINY, attention_resolution=4)
    names = sorted(v.path.split("/")[0] for v in recipe.orthogonal_kernels())
    blocks = [f"up0_{part}" for part in ("conv1", "conv2", "shortcut", "norm1_bias", "norm1_gain", "norm2_bias",
                                         "norm2_gain")]
    assert names == sorted(["project", "to_image", *blocks, *["attention"] * 4])
    assert all(len(v.shape) >= 2 for v in recipe.orthogonal_kernels())


# --- the golden step ------------------------------------------------------------------------------------------------
def test_biggan_lite_step_is_hinge_then_hinge_plus_the_orthogonal_penalty_then_the_ema():
    """D (n_dis = 1): min E[relu(1 − D(x, y))] + E[relu(1 + D(G(z, y), y))]; then G against the updated D on fresh
    z': min −E[D(G(z', y), y)] + β Σ_W ‖WᵀW ⊙ (1 − I)‖²_F over G's kernels but the shared embedding (β = 0.05, so
    the penalty's gradient shows in the weights); ema ← d·ema + (1 − d)·w. The hinge terms and the penalty's value
    written out in numpy, the gradients by the test's own TF expression of the same formula."""
    beta = 0.05
    recipe = recipes.BigGANLite(**TINY, n_dis=1, ortho_beta=beta, ema_decay=EMA, ema_rampup=None)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    G, D = recipe.generator, recipe.discriminator
    real = tf.constant(np.random.default_rng(12).uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32))
    y = tf.constant([0, 2, 1, 2], tf.int32)
    logs, after = golden.run((real, y))
    z_d, z_g = golden.draws
    shared = G.get_layer("shared_embedding").embeddings
    kernels = [v for v in G.trainable_variables if len(v.shape) >= 2 and v is not shared]
    seen = {}

    def d_objective():
        seen["real"], seen["fake"] = D([real, y], training=True)[:, 0], D([G([z_d, y], training=True), y],
                                                                          training=True)[:, 0]
        return tf.reduce_mean(tf.nn.relu(1 - seen["real"])) + tf.reduce_mean(tf.nn.relu(1 + seen["fake"]))

    sgd_step(d_objective, D.trainable_variables)
    d_numpy = np.mean(np.maximum(0, 1 - seen["real"].numpy())) + np.mean(np.maximum(0, 1 + seen["fake"].numpy()))
    penalty_numpy = beta * sum(np.sum(off_diagonal_gram(kernel)[0] ** 2) for kernel in kernels)  # before G's step

    def g_objective():
        seen["g"] = D([G([z_g, y], training=True), y], training=True)[:, 0]
        penalty = tf.add_n([tf.reduce_sum((tf.matmul(m, m, transpose_a=True) * (1 - tf.eye(m.shape[1]))) ** 2)
                            for m in (tf.reshape(k, [-1, k.shape[-1]]) for k in kernels)])
        return -tf.reduce_mean(seen["g"]) + beta * penalty

    sgd_step(g_objective, G.trainable_variables)
    g_numpy = -np.mean(seen["g"].numpy()) + penalty_numpy
    assert penalty_numpy > 0.01 * abs(g_numpy)  # the penalty matters in the loss compared
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"], logs["ortho_penalty"]],
                               [d_numpy, g_numpy, penalty_numpy], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


def test_defaults_are_the_papers_where_they_fit_a_cpu():
    """β = 1e-4, n_dis = 2, Adam(β₁ = 0, β₂ = 0.999) with G at 5e-5 and D at 2e-4, EMA 0.999 ramped (half-life 5% of
    the steps so far), z of 128 in 4 chunks
    of 32 at 32×32 (3 blocks), a 128-wide shared embedding; Fashion-MNIST padded to 32."""
    recipe = recipes.BigGANLite(width=4)
    recipe.compile()
    assert (recipe.ortho_beta, recipe.n_dis, recipe.ema_decay, recipe.ema_rampup, recipe.latent_dim) == (
        1e-4, 2, 0.999, 0.05, 128)
    assert recipes.BigGANLite(width=4, ema_decay=None).ema_generator is None  # no EMA, no ramp to cap
    assert {kind: (float(o.learning_rate), o.beta_1, o.beta_2) for kind, o in
            (("g", recipe.g_optimizer), ("d", recipe.d_optimizer))} == {
        "g": (pytest.approx(5e-5), 0.0, 0.999), "d": (pytest.approx(2e-4), 0.0, 0.999)}
    assert recipes.BigGANLite.fitted_data((28, 28, 1)) == {"image_size": 32, "crop": "pad"}
    G = recipe.generator
    assert G.get_layer("project").input.shape == (None, 32)  # chunk 0
    assert [G.get_layer(f"up{i}_condition").output.shape for i in range(3)] == [(None, 128 + 32)] * 3
    assert G.get_layer("shared_embedding").embeddings.shape == (10, 128)


def test_each_block_reads_its_own_chunk_of_z():
    """Changing chunk i + 1 of z changes block i's condition only (the hierarchical latent)."""
    recipe = recipes.BigGANLite(width=4, latent_dim=12, image_shape=(16, 16, 1), num_classes=3, embedding_dim=2)
    G = recipe.generator
    conditions = keras.Model(G.inputs, [G.get_layer(f"up{i}_condition").output for i in range(2)])
    z, labels = np.random.default_rng(1).normal(size=(2, 12)).astype(np.float32), np.array([0, 2], np.int32)
    before = conditions([z, labels])
    for chunk in range(1, 3):
        moved = z.copy()
        moved[:, chunk * 4:(chunk + 1) * 4] += 1.0
        after = conditions([moved, labels])
        changed = [not np.allclose(a, b) for a, b in zip(before, after)]
        assert changed == [block == chunk - 1 for block in range(2)]


# --- truncation --------------------------------------------------------------------------------------------------
def test_truncation_maps_z_onto_the_normal_truncated_at_the_papers_thresholds():
    """z' = Φ⁻¹(½ + ψ(Φ(z) − ½)) (scipy's Φ and Φ⁻¹ in float64), so |z'| ≤ τ = √2·erfinv(ψ) and z' is distributed
    as BigGAN's resampled truncated normal; ψ = 1: z itself; ψ = 0: 0; one ψ per row; z and ψ of any number type
    (float64 z, integer ψ). Its erfinv (Giles's, basic ops) is scipy's to single precision on both of its branches:
    w = −log(1 − y²) < 5, and the tail (|y| > 0.9966: ψ near 1, |z'| > 2.9)."""
    z = np.random.default_rng(2).normal(size=(400, 16)).astype(np.float32) * 1.5
    for psi in (0.954, 0.683, 0.383, 0.032):
        expected = special.ndtri(0.5 + psi * (special.ndtr(z.astype(np.float64)) - 0.5))
        np.testing.assert_allclose(truncated_normal(z, psi), expected, rtol=2e-5, atol=2e-6)
        assert np.abs(truncated_normal(z, psi)).max() <= np.sqrt(2) * special.erfinv(psi) + 1e-5
    np.testing.assert_array_equal(truncated_normal(z, 1), z)
    np.testing.assert_array_equal(truncated_normal(z, 0), np.zeros_like(z))
    np.testing.assert_array_equal(truncated_normal(z.astype(np.float64), 0.5), truncated_normal(z, 0.5))
    edge = np.array([[-6, -5, -4, 0.5, 4, 5, 6]], np.float32)  # ψ just below 1 (τ = 5.3) is its own, not 1 − 10⁻⁶
    np.testing.assert_allclose(truncated_normal(edge, 0.9999999),
                               special.ndtri(0.5 + np.float32(0.9999999) * (special.ndtr(edge) - 0.5)), rtol=1e-3)
    rows = truncated_normal(z[:3], np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(rows, np.stack([z[0], truncated_normal(z[1:2], 0.5)[0], np.zeros(16)]), rtol=1e-6)
    tail = 1 - np.geomspace(1e-7, 1e-2, 400)  # w = −log(1 − y²) from 4 to 15.4
    y = np.concatenate([np.linspace(-0.99, 0.99, 401), tail, -tail]).astype(np.float32)
    np.testing.assert_allclose(_erfinv(y), special.erfinv(y.astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_generate_truncated_feeds_the_ema_generator_the_truncated_z():
    recipe = recipes.BigGANLite(**TINY, ema_decay=EMA)
    recipe.ema_generator.get_layer("to_image").bias.assign([0.3])  # the EMA generator differs from G
    z, labels = tf.random.stateless_normal([3, 8], [0, 4]), tf.constant([0, 1, 2])
    expected = recipe.ema_generator([truncated_normal(z, 0.5), labels], training=False)
    np.testing.assert_allclose(recipe.generate_truncated([z, labels], 0.5), expected, rtol=1e-6)
    assert not np.allclose(recipe.generate_truncated([z, labels], 1.0), expected)
    frames = recipe.interpolate(z[0], z[1], [0.0, 1.0], [2, 2], 0.5)
    np.testing.assert_allclose(frames, recipe.generate_truncated([z[:2], tf.constant([2, 2])], 0.5), atol=1e-5)
    frames = recipe.interpolate(z[0], z[1], [0.0, 1.0], truncation=0.5)  # no labels: class 0's
    np.testing.assert_allclose(frames, recipe.generate_truncated([z[:2], tf.constant([0, 0])], 0.5), atol=1e-5)


# --- refusals ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    ({"latent_dim": 9}, r"`latent_dim` must split into 2 equal chunks of z \(the first linear layer and 1 generator "
                         r"blocks for \(8, 8, 1\) images\): a positive multiple of 2\. Received: latent_dim=9$"),
    ({"ortho_beta": -1e-4}, r"`ortho_beta` must be a finite number ≥ 0\. Received: ortho_beta=-0\.0001$"),
    ({"num_classes": None}, r"`num_classes` must be an integer ≥ 2 \(BigGAN-lite is class-conditional\)\. "
                            r"Received: num_classes=None$"),
    ({"embedding_dim": 0}, r"`embedding_dim` must be a positive integer\. Received: embedding_dim=0$"),
    ({"attention_resolution": 8}, r"`attention_resolution` must be None or a feature-map height both networks have "
                                  r"for \(8, 8, 1\) images, one of \[4\]\. Received: attention_resolution=8$"),
])
def test_biggan_lite_refuses_bad_settings_in_one_line(bad, message):
    with pytest.raises(ValueError, match="^" + message):
        recipes.BigGANLite(**{**TINY, **bad})


def test_biggan_lite_refuses_a_batch_without_labels():
    with pytest.raises(ValueError, match=r"^A class-conditional BigGANLite trains on \(images, labels\) batches"):
        recipes.BigGANLite(**TINY).train_step(tf.zeros([4, 8, 8, 1]))
