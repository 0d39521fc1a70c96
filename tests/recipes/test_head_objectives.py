"""The objectives that read a vector head of the discriminator (issue 33): Sphere GAN (Park & Kwon 2019) and
RealnessGAN (Xiangli et al. 2020). Their formulas written out here from the papers (the projection on the sphere,
softmax and KL by hand), each against the losses and one real DCGAN train step (tests/helpers/golden.py); the
head the discriminator builds from the objective, and the settings refused in one line."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from golden import GoldenStep, sgd_step
from recipes import losses

TINY = {"latent_dim": 4, "width": 4, "image_shape": (16, 16, 1), "seed": 1}  # two stages: a batch norm reads training


def projected(p):
    """Π⁻¹(p) = (2p / (‖p‖² + 1), (‖p‖² - 1) / (‖p‖² + 1)) ∈ S^n: the inverse stereographic projection."""
    squared = np.sum(np.square(p), axis=-1, keepdims=True)
    return np.concatenate([2 * p / (squared + 1), (squared - 1) / (squared + 1)], axis=-1)


def test_the_north_pole_distance_is_the_arccos_of_the_projection_and_stays_differentiable_at_the_poles():
    """d_s(N, Π⁻¹(p)) = arccos⟨Π⁻¹(p), N⟩, N = (0, …, 0, 1): p = 0 is the south pole (π), ‖p‖ = 1 the equator
    (π/2), random p against the formula in float64; the gradient is finite at p = 0 and at ‖p‖ = 1e6."""
    p = np.random.default_rng(0).normal(size=(5, 3)) * [[0.1], [0.5], [1.0], [3.0], [30.0]]
    on_sphere = projected(p)
    np.testing.assert_allclose(np.linalg.norm(on_sphere, axis=-1), 1.0, rtol=1e-12)  # Π⁻¹ lands on S^n
    north = np.array([0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(losses.north_pole_distance(p.astype(np.float32)).numpy(),
                               np.arccos(on_sphere @ north), rtol=1e-5, atol=1e-6)
    special = tf.constant([[0.0, 0.0], [0.6, 0.8], [1e6, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(special)
        distance = losses.north_pole_distance(special)
    np.testing.assert_allclose(distance.numpy(), [math.pi, math.pi / 2, 2e-6], rtol=1e-6, atol=1e-7)
    assert np.isfinite(tape.gradient(distance, special).numpy()).all()


def test_sphere_losses_sum_the_moments_of_the_distance_real_minus_fake():
    """Real features at the equator (d = π/2), fake ones at the south pole (d = π), R = 2:
    L_D = (π + π²) - (π/2 + π²/4) per example; L_G = -(π + π²); with R = 1 the WGAN-like first moment."""
    real, fake = tf.constant([[1.0, 0.0], [0.0, -1.0]]), tf.zeros((2, 2))
    expected = (math.pi + math.pi ** 2) - (math.pi / 2 + math.pi ** 2 / 4)
    np.testing.assert_allclose(losses.sphere_discriminator_loss(real, fake, moments=2).numpy(), [expected] * 2,
                               rtol=1e-6)
    np.testing.assert_allclose(losses.sphere_generator_loss(fake, moments=2).numpy(), [-(math.pi + math.pi ** 2)] * 2,
                               rtol=1e-6)
    np.testing.assert_allclose(losses.sphere_discriminator_loss(real, fake, moments=1).numpy(), [math.pi / 2] * 2,
                               rtol=1e-6)


def softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def kl(p, q):
    """Σ_u p(u) log(p(u) / q(u)), with 0 log 0 = 0."""
    return np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0), axis=-1)


def test_realness_losses_are_the_kl_divergences_to_the_anchors():
    """L_D = KL(A1 ‖ D(x)) + KL(A0 ‖ D(G(z))), L_G = KL(D(x) ‖ D(G(z))) - KL(A0 ‖ D(G(z))), D = softmax of the
    logits; an anchor with a zero entry (0 log 0 = 0)."""
    anchors = (np.array([0.6, 0.4, 0.0]), np.array([0.1, 0.2, 0.7]))
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    a0, a1 = anchors
    np.testing.assert_allclose(losses.realness_discriminator_loss(real, fake, anchors).numpy(),
                               kl(a1, softmax(real)) + kl(a0, softmax(fake)), rtol=1e-5)
    np.testing.assert_allclose(losses.realness_generator_loss(fake, real, anchors).numpy(),
                               kl(softmax(real), softmax(fake)) - kl(a0, softmax(fake)), rtol=1e-5, atol=1e-6)


def test_the_default_anchors_are_a_discretised_normal_for_fakes_and_a_uniform_for_reals():
    """N = 4: bins [-3, -1.5, 0, 1.5, 3] of a standard normal, Φ(-1.5) - Φ(-3) = 0.0668072 - 0.0013499 and
    Φ(0) - Φ(-1.5) = 0.4331928, over their total 0.9973002; A1 = ¼ each. The registry's loss has N = 10."""
    fake, real = losses.realness_anchors(4)
    np.testing.assert_allclose(fake, [0.0656345, 0.4343655, 0.4343655, 0.0656345], atol=2e-7)
    np.testing.assert_allclose(real, [0.25] * 4)
    assert losses.LOSSES["realness"].head == losses.Head("outcomes", 10)
    assert losses.LOSSES["sphere"].head == losses.Head("features", 1024)


def sphere_moments(p, moments):
    """Σ_r arccos⟨Π⁻¹(p), N⟩^r, written with TensorFlow ops so the step can be differentiated."""
    squared = tf.reduce_sum(tf.square(p), axis=-1, keepdims=True)
    on_sphere = tf.concat([2 * p / (squared + 1), (squared - 1) / (squared + 1)], axis=-1)
    north = tf.one_hot(p.shape[-1], p.shape[-1] + 1)
    distance = tf.acos(tf.reduce_sum(on_sphere * north, axis=-1))
    return sum(distance ** r for r in range(1, moments + 1))


def kl_tf(p, q):
    return tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(p / q), p), axis=-1)


ANCHORS = [[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]  # A0 (fake), A1 (real): N = 3 outcomes
# (loss, settings, L_D(r, f), L_G(f, r)) on D's raw outputs r = D(x), f = D(G(z)) [batch, units]
HEAD_STEPS = {
    "sphere": ({"features": 3}, lambda r, f: sphere_moments(f, 3) - sphere_moments(r, 3),
               lambda f, r: -sphere_moments(f, 3)),
    "realness": ({"anchors": ANCHORS},
                 lambda r, f: kl_tf(tf.constant(ANCHORS[1]), tf.nn.softmax(r)) + kl_tf(tf.constant(ANCHORS[0]),
                                                                                       tf.nn.softmax(f)),
                 lambda f, r: kl_tf(tf.nn.softmax(r), tf.nn.softmax(f)) - kl_tf(tf.constant(ANCHORS[0]),
                                                                                 tf.nn.softmax(f))),
}


@pytest.mark.parametrize("loss", sorted(HEAD_STEPS))
def test_dcgan_step_on_a_vector_head_is_the_papers_objective(loss):
    """min_D E[L_D(D(x), D(G(z)))], then min_G E[L_G(D(G(z')), D(x))] against the updated D, D's head of the
    objective's width (sphere: n = 3 features; realness: the anchors' N = 3 outcomes)."""
    settings, discriminator_loss, generator_loss = HEAD_STEPS[loss]
    keras.utils.set_random_seed(0)  # the initial networks, whatever ran before (a bias before batch norm moves by
    # rounding only: its gradient is 0 in exact arithmetic, so its comparison must not depend on the draw)
    recipe = recipes.DCGAN(loss=loss, loss_settings=settings, **TINY)
    assert recipe.discriminator.output.shape == (None, 3)
    golden = GoldenStep(recipe, ["generator", "discriminator"])
    real = tf.constant(np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32))
    logs, after = golden.run(real)
    (z, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator
    fake = G(z, training=True)
    d_loss = sgd_step(lambda: tf.reduce_mean(discriminator_loss(D(real, training=True), D(fake, training=True))),
                      D.trainable_variables)
    reads_real = loss == "realness"  # its L_G compares D(G(z')) with D(x): the step runs D on the real batch too
    g_loss = sgd_step(lambda: tf.reduce_mean(generator_loss(D(G(z_g, training=True), training=True),
                                                            D(real, training=True) if reads_real else None)),
                      G.trainable_variables)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after)


@pytest.mark.parametrize("loss, settings", [("sphere", {"features": 5, "moments": 2}), ("realness", {"outcomes": 6}),
                                            ("sphere", None)])
def test_the_discriminator_head_follows_the_loss_and_its_settings_survive_the_config(loss, settings):
    for network in ("conv", "mlp"):
        recipe = recipes.DCGAN(loss=loss, loss_settings=settings, network=network, **TINY)
        units = (settings or {}).get("features", (settings or {}).get("outcomes", 1024))
        assert recipe.discriminator.output.shape == (None, units) and recipe.head.units == units
        rebuilt = recipes.DCGAN.from_config(recipe.get_config())
        assert rebuilt.get_config() == recipe.get_config() and rebuilt.discriminator.output.shape == (None, units)
    assert recipes.DCGAN(**TINY).discriminator.output.shape == (None, 1)


def test_sphere_trains_with_the_papers_adam():
    optimizer = recipes.DCGAN(loss="sphere", loss_settings={"features": 2}, **TINY).default_optimizer()
    assert type(optimizer).__name__ == "Adam" and float(optimizer.learning_rate) == pytest.approx(1e-4)
    assert (float(optimizer.beta_1), float(optimizer.beta_2)) == (0.0, pytest.approx(0.9))


@pytest.mark.parametrize("loss, settings, message", [
    ("realness", {"outcomes": 1}, r"`outcomes` of loss 'realness' must be an integer ≥ 2 \(N, the outcomes of the "
                                  r"realness distribution\)\. Received: outcomes=1"),
    ("realness", {"outcomes": 2}, r"`outcomes` of loss 'realness' must be ≥ 3 with the default anchors, which "
                                  r"coincide at 2 outcomes; or give `anchors` \[A0, A1\]\. Received: outcomes=2"),
    ("realness", {"anchors": [[0.5, 0.6], [0.2, 0.8]]}, r"`anchors` of loss 'realness' must be \[A0, A1\], two "
     r"different distributions over the same N ≥ 2 outcomes: each must sum to 1 \(sums 1\.1, 1\)\. Received: "
     r"anchors=\[\[0\.5, 0\.6\], \[0\.2, 0\.8\]\]"),
    ("realness", {"anchors": [[1.5, -0.5], [0.2, 0.8]]}, r"outcomes: entries must be finite and ≥ 0\. Received"),
    ("realness", {"anchors": [[0.5, 0.5], [0.5, 0.5]]}, r"outcomes: A0 and A1 are equal: D would have nothing to "
                                                        r"tell apart\. Received"),
    ("realness", {"anchors": [[1.0], [1.0]]}, r"outcomes: at least 2 outcomes\. Received"),
    ("realness", {"anchors": [[0.5, 0.5], [0.2, 0.3, 0.5]]}, r"outcomes: A0 and A1 must be lists of the same length"),
    ("realness", {"anchors": "uniform"}, r"outcomes: expected two lists of numbers\. Received: anchors='uniform'$"),
    ("realness", {"anchors": [[0.5, 0.5], [0.2, 0.8]], "outcomes": 3},
     r"^`anchors` of loss 'realness' must have `outcomes` = 3 entries each\. Received: anchors="),
    ("sphere", {"moments": 0}, r"`moments` of loss 'sphere' must be an integer ≥ 1 \(R: the moments r = 1\.\.R of the "
                               r"distance to the north pole\)\. Received: moments=0$"),
    ("sphere", {"features": 2.5}, r"`features` of loss 'sphere' must be an integer ≥ 1 .*Received: features=2\.5$"),
    ("sphere", {"outcomes": 3}, r"^loss 'sphere' takes features, moments in `loss_settings` \(losses with settings: "
                                r"sphere, realness\)\. Received: loss_settings=\{'outcomes': 3\}$"),
    ("hinge", {"features": 3}, r"^loss 'hinge' takes no settings in `loss_settings` \(losses with settings: sphere, "
                               r"realness\)\. Received: loss_settings=\{'features': 3\}$"),
    ("realness", [4], r"^loss 'realness' takes outcomes, anchors in `loss_settings` .*Received: loss_settings=\[4\]$"),
])
def test_bad_settings_are_refused_in_one_line(loss, settings, message):
    with pytest.raises(ValueError, match=message) as error:
        recipes.DCGAN(loss=loss, loss_settings=settings, **TINY)
    assert "\n" not in str(error.value)


def test_a_recipe_whose_discriminator_gives_one_value_refuses_a_vector_head_loss():
    """A DCGAN whose discriminator states it gives one value (as every recipe but DCGAN's family) refuses the
    losses that read a vector, naming the loss, what it reads and what the recipe gives."""
    class OneValueDCGAN(recipes.DCGAN):
        discriminator_heads = ("scalar",)

    with pytest.raises(ValueError, match=r"^loss 'realness' reads logits over outcomes \(10\) per image from the "
                                         r"discriminator; OneValueDCGAN's discriminator gives one value per image \(losses it "
                                         r"takes: every one but sphere, realness\)$"):
        OneValueDCGAN(loss="realness", **TINY)
    with pytest.raises(ValueError, match=r"^loss 'sphere' reads a vector of features \(7\) per image"):
        OneValueDCGAN(loss="sphere", loss_settings={"features": 7}, **TINY)
    OneValueDCGAN(loss="hinge", **TINY)
    assert recipes.CGAN.discriminator_heads == recipes.SNGAN.discriminator_heads == ("scalar",)
