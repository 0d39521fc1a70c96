"""ACGAN (Odena et al. 2017): the recipe contract, its golden step written from the paper's L_S and L_C, the
two-headed discriminator and the refusals. The CLI run (train, resume, sample, export with labels) is in
tests/zoo/test_acgan_cli.py."""
import numpy as np
import pytest
import tensorflow as tf

import recipes
from golden import GoldenStep, sgd_step
from recipe_checks import run_recipe_test

EMA = 0.9  # not ½, where ema ← d·ema + (1 - d)·w and its reversal agree


def test_acgan_recipe_contract():
    """Synchronized batch norm in G, a spectral discriminator (both heads spectral), an EMA generator; the
    logs carry the class terms."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 10, 8).astype("int32")
    run = run_recipe_test(recipes.ACGAN, {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 3,
                                          "num_classes": 10, "ema_decay": 0.9, "generator_norm": "sync_batch",
                                          "discriminator_norm": "spectral"}, (images, labels))
    assert set(run.logs) == {"d_loss", "g_loss", "real_class_loss", "fake_class_loss"}


def log_softmax(logits):
    """log softmax(t)_k = t_k - log Σ_j exp(t_j), written out."""
    return logits - tf.math.log(tf.reduce_sum(tf.exp(logits), axis=1, keepdims=True))


def log_p_class(class_logits, labels, num_classes):
    """log P(C = y | x) per example."""
    return tf.reduce_sum(tf.one_hot(labels, num_classes) * log_softmax(class_logits), axis=1)


def test_acgan_step_maximises_the_papers_source_and_class_likelihoods():
    """D: max L_S + L_C with L_S = E[log σ(s(x))] + E[log(1 - σ(s(G(z, y))))] and L_C = E[log P(C = y | x)] +
    E[log P(C = y | G(z, y))], P(C | ·) = softmax(c(·)); then G against the updated D on fresh z': max L_C - L_S
    with the source term non-saturating, i.e. max E[log σ(s(G(z', y)))] + E[log P(C = y | G(z', y))] (L_C's real
    term does not depend on G); y the real batch's labels; EMA. 16×16 images: D's second stage has batch norm, so
    the step's training=True shows."""
    classes = 3
    recipe = recipes.ACGAN(latent_dim=4, width=4, image_shape=(16, 16, 1), num_classes=classes, embedding_dim=2,
                           ema_decay=EMA, seed=12)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    real = tf.constant(np.random.default_rng(12).uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32))
    y = tf.constant([0, 2, 1, 2], tf.int32)
    logs, after = golden.run((real, y))
    (z_d, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator

    def heads(images):
        source, class_logits = D(images, training=True)
        return source[:, 0], class_logits

    fake = G([z_d, y], training=True)
    parts = {}

    def discriminator_objective():  # −(L_S + L_C)
        (real_source, real_classes), (fake_source, fake_classes) = heads(real), heads(fake)
        source = tf.reduce_mean(tf.math.log(tf.sigmoid(real_source))) + tf.reduce_mean(
            tf.math.log(1 - tf.sigmoid(fake_source)))
        parts["real_class"] = tf.reduce_mean(log_p_class(real_classes, y, classes))
        return -(source + parts["real_class"] + tf.reduce_mean(log_p_class(fake_classes, y, classes)))

    d_loss = sgd_step(discriminator_objective, D.trainable_variables)

    def generator_objective():  # −(E[log P(C = y | G)] + E[log σ(s(G))])
        source, class_logits = heads(G([z_g, y], training=True))
        parts["fake_class"] = tf.reduce_mean(log_p_class(class_logits, y, classes))
        return -(tf.reduce_mean(tf.math.log(tf.sigmoid(source))) + parts["fake_class"])

    g_loss = sgd_step(generator_objective, G.trainable_variables)
    np.testing.assert_allclose([logs[name] for name in ("d_loss", "g_loss", "real_class_loss", "fake_class_loss")],
                               [d_loss, g_loss, -float(parts["real_class"]), -float(parts["fake_class"])],
                               rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


def test_acgan_discriminator_sees_the_image_alone_and_has_a_source_and_a_class_head():
    recipe = recipes.ACGAN(latent_dim=4, width=4, image_shape=(8, 8, 1), num_classes=5)
    assert [tuple(t.shape) for t in recipe.discriminator.inputs] == [(None, 8, 8, 1)]
    assert [tuple(t.shape) for t in recipe.discriminator.outputs] == [(None, 1), (None, 5)]
    assert [tuple(t.shape) for t in recipe.generator.inputs] == [(None, 4), (None,)]  # CGAN's: [z, labels]
    assert recipe.conditional and recipe.num_classes == 5


def test_acgan_refuses_one_class_and_a_batch_without_labels():
    with pytest.raises(ValueError, match=r"^`num_classes` must be at least 2\. Received: num_classes=1$"):
        recipes.ACGAN(latent_dim=4, width=4, image_shape=(8, 8, 1), num_classes=1)
    recipe = recipes.ACGAN(latent_dim=4, width=4, image_shape=(8, 8, 1), num_classes=3)
    with pytest.raises(ValueError, match=r"^ACGAN trains on \(images, labels\) batches; the dataset has no labels\.$"):
        recipe.train_step(tf.zeros([4, 8, 8, 1]))
