"""Golden values for every loss and penalty, computed by hand in the comments."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from recipes import losses

REAL = tf.constant([0.0, 2.0])
FAKE = tf.constant([1.0, -1.0])
LN2 = np.log(2.0)


def softplus(t):
    return np.log1p(np.exp(t))


@pytest.mark.parametrize(
    "fn, args, expected",
    [
        # -log σ(0) + -log(1 - σ(1)) = ln 2 + softplus(1); softplus(-2) + softplus(-1)
        (losses.minimax_discriminator_loss, (REAL, FAKE), [LN2 + softplus(1), softplus(-2) + softplus(-1)]),
        (losses.modified_discriminator_loss, (REAL, FAKE), [LN2 + softplus(1), softplus(-2) + softplus(-1)]),
        # log(1 - σ(t)) = -softplus(t)
        (losses.minimax_generator_loss, (FAKE,), [-softplus(1), -softplus(-1)]),
        # -log σ(t) = softplus(-t)
        (losses.modified_generator_loss, (FAKE,), [softplus(-1), softplus(1)]),
        # D(G(z)) - D(x)
        (losses.wasserstein_discriminator_loss, (REAL, FAKE), [1.0, -3.0]),
        (losses.wasserstein_generator_loss, (FAKE,), [-1.0, 1.0]),
        # ½(0-1)² + ½(1-0)² ; ½(2-1)² + ½(-1-0)²
        (losses.least_squares_discriminator_loss, (REAL, FAKE), [1.0, 1.0]),
        # ½(1-1)² ; ½(-1-1)²
        (losses.least_squares_generator_loss, (FAKE,), [0.0, 2.0]),
        # relu(1-0) + relu(1+1) ; relu(1-2) + relu(1-1)
        (losses.hinge_discriminator_loss, (REAL, FAKE), [3.0, 0.0]),
        (losses.hinge_generator_loss, (FAKE,), [-1.0, 1.0]),
        # -log softmax(c)_y: softmax(0, 0, ln 2) = (¼, ¼, ½), y = 2 → ln 2; softmax(ln 3, 0, 0) = (⅗, ⅕, ⅕), y = 0 → ln ⁵⁄₃
        (losses.auxiliary_classifier_loss, (tf.constant([[0.0, 0.0, LN2], [np.log(3.0), 0.0, 0.0]]),
                                            tf.constant([2, 0])), [LN2, np.log(5.0 / 3.0)]),
    ],
)
def test_loss_golden_values(fn, args, expected):
    np.testing.assert_allclose(fn(*args).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_least_squares_custom_labels():
    # a=-1, b=1: ½(0-1)² + ½(1+1)² = 2.5 ; ½(2-1)² + ½(-1+1)² = 0.5
    got = losses.least_squares_discriminator_loss(REAL, FAKE, real_label=1.0, fake_label=-1.0)
    np.testing.assert_allclose(got.numpy(), [2.5, 0.5], rtol=1e-6)
    # c=0: ½·1², ½·1²
    np.testing.assert_allclose(losses.least_squares_generator_loss(FAKE, real_label=0.0).numpy(), [0.5, 0.5])


def test_one_sided_label_smoothing():
    # real logit 2 with target 0.75: 0.75·softplus(-2) + 0.25·softplus(2); fake term softplus(-1)
    got = losses.minimax_discriminator_loss(REAL, FAKE, label_smoothing=0.25).numpy()
    expected_1 = 0.75 * softplus(-2) + 0.25 * softplus(2) + softplus(-1)
    np.testing.assert_allclose(got, [LN2 + softplus(1), expected_1], rtol=1e-6)


def test_patch_outputs_are_averaged_per_example():
    patches = tf.constant([[[1.0], [3.0]], [[-2.0], [0.0]]])  # [2, 2, 1]
    np.testing.assert_allclose(losses.wasserstein_generator_loss(patches).numpy(), [-2.0, 1.0])


def squared_sum(x):
    """D(x) = Σ x², so ∇D(x) = 2x."""
    return tf.reduce_sum(tf.square(x), axis=1)


def test_gradient_penalty_linear_critic():
    # D(x) = 3x₀ + 4x₁ has ‖∇D‖ = 5 everywhere: (5 - 1)² = 16
    critic = lambda x: tf.reduce_sum(x * tf.constant([3.0, 4.0]), axis=1)  # noqa: E731
    real, fake = tf.zeros((2, 2)), tf.ones((2, 2))
    np.testing.assert_allclose(losses.wasserstein_gradient_penalty(critic, real, fake, [0.3, 0.9]).numpy(), [16, 16],
                               rtol=1e-5)
    small = lambda x: tf.reduce_sum(x * tf.constant([0.3, 0.4]), axis=1)  # noqa: E731  ‖∇‖ = 0.5
    np.testing.assert_allclose(losses.wasserstein_gradient_penalty(small, real, fake, [0.5, 0.5]).numpy(), [0.25, 0.25],
                               rtol=1e-5)
    one_sided = losses.wasserstein_gradient_penalty(small, real, fake, [0.5, 0.5], one_sided=True)
    np.testing.assert_allclose(one_sided.numpy(), [0.0, 0.0], atol=1e-7)
    # target t = 2 (Karras et al. 2018's (‖∇‖ - t)² / t²): (5 - 2)² / 4 and (0.5 - 2)² / 4
    np.testing.assert_allclose(losses.wasserstein_gradient_penalty(critic, real, fake, [0.3, 0.9], target=2.0).numpy(),
                               [2.25, 2.25], rtol=1e-5)
    np.testing.assert_allclose(losses.wasserstein_gradient_penalty(small, real, fake, [0.5, 0.5], target=2.0).numpy(),
                               [0.5625, 0.5625], rtol=1e-5)


def test_gradient_penalty_interpolates_per_example():
    # x̂ = x + α(x' - x): α=0.5 → (0.5, 0.5), ‖2x̂‖ = √2 → (√2 - 1)²; α=0 → x̂ = (1, 0), ‖2x̂‖ = 2 → 1
    real = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    fake = tf.constant([[0.0, 1.0], [0.0, 1.0]])
    got = losses.wasserstein_gradient_penalty(squared_sum, real, fake, tf.constant([0.5, 0.0]))
    np.testing.assert_allclose(got.numpy(), [(np.sqrt(2) - 1) ** 2, 1.0], rtol=1e-5)


def test_gradient_norm_is_finite_and_differentiable_at_zero_gradient():
    x = tf.zeros((1, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        norm = losses.gradient_norm(squared_sum, x)  # ∇D(0) = 0
    assert np.isclose(norm.numpy()[0], 1e-5)  # sqrt(0 + 1e-10)
    assert np.all(np.isfinite(tape.gradient(norm, x).numpy()))


def test_dragan_penalty():
    # std([1, -1]) = 1; x_p = x + 0.5·1·(1, 1) = (1.5, -0.5); α = 1 → x̂ = x_p; ‖2x̂‖ = √10
    got = losses.dragan_gradient_penalty(squared_sum, tf.constant([[1.0, -1.0]]), tf.ones((1, 2)), tf.constant([1.0]))
    np.testing.assert_allclose(got.numpy(), [(np.sqrt(10) - 1) ** 2], rtol=1e-5)


def test_r1_penalty():
    # ‖∇D(x)‖² = ‖2x‖² = 4·(1 + 4) = 20 ; at x = 0 it is exactly 0
    got = losses.r1_penalty(squared_sum, tf.constant([[1.0, 2.0], [0.0, 0.0]]))
    np.testing.assert_allclose(got.numpy(), [20.0, 0.0], rtol=1e-6)


@pytest.mark.parametrize("policy, rtol", [("mixed_bfloat16", 0.02), ("mixed_float16", 0.002)])
def test_penalties_of_a_mixed_precision_critic_match_float32(policy, rtol):
    """The WGAN-GP critic computing in 16 bits (float32 weights, float32 inputs and penalty) gives
    the gradient penalty and R1 of its float32 twin, to the 16-bit format's precision (bfloat16 keeps
    8 significant bits, float16 11; measured with this seed: 3.2e-3 and 4.0e-4)."""
    import keras

    import recipes

    keras.utils.set_random_seed(0)
    settings = {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 0}
    rng = np.random.default_rng(0)
    real, fake = (tf.constant(rng.uniform(-1, 1, (8, 8, 8, 1)), tf.float32) for _ in range(2))
    alpha = tf.constant(rng.uniform(0, 1, 8), tf.float32)
    penalties = {}
    for name in ("float32", policy):
        keras.config.set_dtype_policy(name)
        critic = recipes.WGANGP(**settings).discriminator
        if name == "float32":
            weights = critic.get_weights()
        critic.set_weights(weights)
        D = lambda x: critic(x, training=True)  # noqa: E731
        penalties[name] = (losses.wasserstein_gradient_penalty(D, real, fake, alpha), losses.r1_penalty(D, real))
    assert critic.layers[1].compute_dtype == policy.split("_")[1]
    for mixed, exact in zip(penalties[policy], penalties["float32"]):
        assert mixed.dtype == tf.float32 and np.all(np.isfinite(mixed.numpy()))
        np.testing.assert_allclose(mixed.numpy(), exact.numpy(), rtol=rtol)


# --- the named objectives (losses.LOSSES) ------------------------------------------------------
def trained_weights(recipe, images, steps=2):
    recipe.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    for _ in range(steps):
        logs = recipe.train_step(images)
    return recipe.get_weights(), logs


@pytest.mark.parametrize("loss, dedicated, settings", [
    ("wasserstein_gp", recipes.WGANGP, {"n_critic": 2, "gp_weight": 5.0}),
    ("least_squares", recipes.LSGAN, {}),
])
def test_named_loss_in_dcgan_equals_the_dedicated_recipe(loss, dedicated, settings):
    """DCGAN(loss=...) is the dedicated recipe's objective: same weights after two steps from the same start."""
    tiny = {"latent_dim": 8, "width": 8, "image_shape": (8, 8, 1), "seed": 3, "discriminator_norm": "none"}
    n_disc = settings.get("n_critic", 1)
    images = tf.random.stateless_uniform((8, n_disc, 8, 8, 1), seed=(1, 2), minval=-1, maxval=1)
    images = images if n_disc > 1 else images[:, 0]
    reference = dedicated(**tiny, **settings)
    named = recipes.DCGAN(loss=loss, n_disc=n_disc, penalty_weight=settings.get("gp_weight"), **tiny)
    named.set_weights(reference.get_weights())
    expected, _ = trained_weights(reference, images)
    actual, logs = trained_weights(named, images)
    for a, b in zip(actual, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ("d_penalty" in logs) == (losses.LOSSES[loss].penalty is not None)


@pytest.mark.parametrize("loss", sorted(losses.LOSSES))
def test_every_named_loss_trains_dcgan_with_finite_losses(loss):
    norm = "layer" if losses.LOSSES[loss].penalty else "batch"
    recipe = recipes.DCGAN(loss=loss, latent_dim=8, width=8, image_shape=(8, 8, 1), seed=0, discriminator_norm=norm)
    before = [w.copy() for w in recipe.get_weights()]
    _, logs = trained_weights(recipe, tf.random.stateless_uniform((8, 8, 8, 1), seed=(3, 4), minval=-1, maxval=1), 1)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, recipe.get_weights()))
    assert recipes.DCGAN.from_config(recipe.get_config()).get_config() == recipe.get_config()


def test_named_loss_errors_say_what_is_accepted():
    with pytest.raises(ValueError, match="Known losses: .*hinge"):
        recipes.DCGAN(loss="hinj")
    with pytest.raises(ValueError, match="batch norm .* 'layer', 'spectral' or 'none'"):
        recipes.DCGAN(loss="dragan", discriminator_norm="batch")
    for n_disc in (0, 1.5, "2"):
        with pytest.raises(ValueError, match="n_disc"):
            recipes.DCGAN(n_disc=n_disc)
    with pytest.raises(ValueError, match="has no gradient penalty.*wasserstein_gp, dragan"):
        recipes.DCGAN(loss="hinge", penalty_weight=1.0)


def test_an_unknown_loss_is_refused_with_the_known_ones_listed():
    with pytest.raises(ValueError) as error:
        losses.objective("nope")
    message = str(error.value)
    assert message.startswith("Unknown loss 'nope'. Known losses: ")
    assert message.split("Known losses: ")[1].split(", ") == list(losses.LOSSES)


# --- f-GAN, relativistic, WGAN's clip ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(losses.F_DIVERGENCES))
def test_f_gan_safe_conjugate_equals_the_papers_composition_where_it_is_finite(name):
    """f*(g_f(v)) as the recipes compute it equals Table 2's f* applied to g_f (float64, v in [-5, 5]); where the
    paper's composition in float32 takes log 0 or divides by 0 (v = 30, 120), the safe form stays finite and
    equals the float64 value of its closed form."""
    divergence = losses.F_DIVERGENCES[name]
    v = tf.constant(np.linspace(-5.0, 5.0, 41))
    np.testing.assert_allclose(divergence.conjugate_of_activation(v), divergence.conjugate(divergence.activation(v)),
                               rtol=1e-9, atol=1e-12)
    large = {"reverse_kl": 120.0, "squared_hellinger": 30.0, "jensen_shannon": 30.0}
    if name in large:
        v = tf.constant([large[name]], tf.float32)
        assert not np.isfinite(divergence.conjugate(divergence.activation(v)).numpy()).all()
        closed = {"reverse_kl": large[name] - 1, "squared_hellinger": np.expm1(large[name]),
                  "jensen_shannon": softplus(large[name]) - LN2}[name]
        np.testing.assert_allclose(divergence.conjugate_of_activation(v).numpy(), [closed], rtol=1e-6)


def test_relativistic_average_losses_pair_examples_and_average_the_batch():
    """Real outputs r = [0, 2] (mean 1), fake f = [1, -1] (mean 0): RaSGAN's L_D per example is
    softplus(-(rᵢ - 0)) + softplus(fᵢ - 1); its L_G swaps real and fake; RSGAN's is softplus(fᵢ - rᵢ)."""
    np.testing.assert_allclose(losses.relativistic_average_discriminator_loss(REAL, FAKE).numpy(),
                               [softplus(0) + softplus(0), softplus(-2) + softplus(-2)], rtol=1e-6)
    np.testing.assert_allclose(losses.relativistic_average_generator_loss(FAKE, REAL).numpy(),
                               [softplus(-(1 - 1)) + softplus(0 - 0), softplus(-(-1 - 1)) + softplus(2 - 0)], rtol=1e-6)
    np.testing.assert_allclose(losses.relativistic_discriminator_loss(REAL, FAKE).numpy(), [softplus(1), softplus(-3)],
                               rtol=1e-6)


def test_the_relativistic_average_is_over_the_global_batch_on_two_replicas():
    """Under MirroredStrategy each replica's per-example losses and the input gradients of the global-batch
    mean equal the one-device ones (E[C(x)] all-reduced, and its gradient too)."""
    from recipe_checks import two_cpus

    from recipes.base import global_batch_mean

    rng = np.random.default_rng(0)
    real, fake = (tf.constant(rng.normal(size=(4, 2)).astype(np.float32)) for _ in range(2))

    def loss_and_gradients(r, f):
        with tf.GradientTape() as tape:
            tape.watch([r, f])
            per_example = losses.relativistic_average_discriminator_loss(r, f, kind="least_squares")
            mean = global_batch_mean(per_example)
        return (per_example, *tape.gradient(mean, [r, f]))

    expected = loss_and_gradients(real, fake)
    strategy = tf.distribute.MirroredStrategy(two_cpus())
    halves = [strategy.experimental_distribute_values_from_function(
        lambda context, x=x: x[2 * context.replica_id_in_sync_group: 2 * context.replica_id_in_sync_group + 2])
        for x in (real, fake)]
    mirrored = strategy.run(tf.function(loss_and_gradients), args=halves)
    for ours, single in zip(mirrored, expected):
        # the gradient summed over replicas is the one-device gradient: each replica holds its rows' part
        np.testing.assert_allclose(tf.concat(strategy.experimental_local_results(ours), 0), single, rtol=1e-5,
                                   atol=1e-7)


def test_a_clip_is_a_positive_number_for_a_loss_that_clips():
    for clip in (0, -0.01, float("nan"), float("inf"), True, "0.01"):
        with pytest.raises(ValueError, match=rf"^`clip` must be a finite number > 0 \(the critic's weights are "
                                             rf"clipped to \[-clip, clip\]\)\. Received: clip={clip!r}$"):
            recipes.DCGAN(loss="wasserstein", clip=clip, latent_dim=4, width=4, image_shape=(8, 8, 1))
    with pytest.raises(ValueError, match=r"^loss 'hinge' does not clip the critic's weights: drop `clip` \(losses that "
                                         r"do: wasserstein\)$"):
        recipes.DCGAN(loss="hinge", clip=0.01, latent_dim=4, width=4, image_shape=(8, 8, 1))
    recipe = recipes.DCGAN(loss="wasserstein", latent_dim=4, width=4, image_shape=(8, 8, 1))
    assert recipe.clip is None and recipe.clip_value == 0.01 and recipe.get_config()["clip"] is None
    assert recipes.DCGAN(loss="wasserstein", clip=1, latent_dim=4, width=4, image_shape=(8, 8, 1)).clip_value == 1.0


def test_wasserstein_trains_with_rmsprop_and_five_critic_steps_unless_told_otherwise():
    """WGAN's RMSProp(5e-5) for both players and n_critic = 5 by default (Arjovsky et al. 2017); a learning rate
    keeps RMSProp; Adam's β1/β2 ask for Adam; other losses keep the recipe's Adam and one discriminator step."""
    recipe = recipes.DCGAN(loss="wasserstein", latent_dim=4, width=4, image_shape=(8, 8, 1))
    assert recipe.n_disc == 5 and recipe.real_batches_per_step == 5
    assert recipes.DCGAN(loss="wasserstein", n_disc=2, latent_dim=4, width=4, image_shape=(8, 8, 1)).n_disc == 2
    assert recipes.DCGAN(loss="hinge", latent_dim=4, width=4, image_shape=(8, 8, 1)).n_disc == 1
    recipe.compile()
    for optimizer in (recipe.g_optimizer, recipe.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.RMSprop)
        assert float(optimizer.learning_rate) == pytest.approx(5e-5)
    faster = recipe.default_optimizer(learning_rate=1e-4)
    assert isinstance(faster, keras.optimizers.RMSprop) and float(faster.learning_rate) == pytest.approx(1e-4)
    adam = recipe.default_optimizer(beta_1=0.0, learning_rate=1e-4)
    assert isinstance(adam, keras.optimizers.Adam) and float(adam.beta_1) == 0.0
    assert isinstance(recipes.DCGAN(loss="hinge", latent_dim=4, width=4, image_shape=(8, 8, 1)).default_optimizer(),
                      keras.optimizers.Adam)
