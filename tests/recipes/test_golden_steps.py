"""Golden train steps (issue 18): each recipe's `train_step` against the paper's objective written
out here from the formula, on tiny networks, fixed data and the step's own noise: every reported
loss, every player's weights after one SGD step on that objective, and the EMA generator
(d·ema + (1 - d)·w with d ≠ ½, batch-norm statistics copied). Harness: tests/helpers/golden.py."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from golden import GoldenStep, input_gradient_norm, per_example_mean, sgd_step, softplus

BATCH, SHAPE = 4, (8, 8, 1)
DEEP = (16, 16, 1)  # two stride-2 discriminator stages: the second has a batch norm, so the step's training=True shows
EMA = 0.9  # not ½, where ema ← d·ema + (1 - d)·w and its reversal agree


def real_images(seed=0, count=BATCH, shape=SHAPE):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (count, *shape)).astype(np.float32))


def test_two_replicas_see_the_global_batch_mean_and_their_rows_of_one_noise_stream():
    """The reduction and noise every golden step relies on, under MirroredStrategy on two logical CPUs: each
    replica's Σ loss / (local batch × 2) (summed over replicas: the global mean), its (id, 2), and rows
    [3r, 3r + 3) of the global batch's z and u, the numbers one device draws for a batch of 6 (local batch 3,
    so a mix-up of local batch and replica count shows); each replica logs its global-batch mean × 2 (its
    local mean: Keras averages the replicas' logs)."""
    from recipe_checks import two_cpus

    from recipes.base import batch_size, global_batch_mean, replica_context

    strategy = tf.distribute.MirroredStrategy(two_cpus())
    with strategy.scope():
        mirrored = recipes.DCGAN(latent_dim=3, width=4, image_shape=SHAPE, seed=2)
    losses = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant([[1.0, 2.0, 4.0], [3.0, 5.0, 6.0]][context.replica_id_in_sync_group]))
    outputs = strategy.run(lambda per_example: (replica_context(), global_batch_mean(per_example),
                                                mirrored.latent(3), mirrored.uniform(3, 3)), args=(losses,))
    contexts, means, z, u = (strategy.experimental_local_results(x) for x in outputs)
    assert [(int(i), int(n)) for i, n in contexts] == [(0, 2), (1, 2)]
    np.testing.assert_allclose([float(m) for m in means], [7.0 / 6, 14.0 / 6])
    logs = strategy.run(lambda mean: mirrored.finish_step(d_loss=mean, g_loss=3 * mean), args=(outputs[1],))
    np.testing.assert_allclose([[float(x) for x in strategy.experimental_local_results(logs[name])]
                                for name in ("d_loss", "g_loss")], [[14.0 / 6, 28.0 / 6], [42.0 / 6, 84.0 / 6]],
                               rtol=1e-6)
    single = recipes.DCGAN(latent_dim=3, width=4, image_shape=SHAPE, seed=2)
    np.testing.assert_array_equal(tf.concat(z, 0), single.latent(6))
    np.testing.assert_array_equal(tf.concat(u, 0), single.uniform(6, 3))
    assert replica_context() == (0, 1) and float(global_batch_mean(tf.constant([1.0, 2.0]))) == 1.5  # off-strategy
    with strategy.scope():  # cross-replica context (in the scope, outside `run`): one logical replica
        assert tf.distribute.get_replica_context() is None and replica_context() == (0, 1)
    # replicas in sync need one known batch size: a last batch of unknown size would split unevenly
    unknown = tf.function(batch_size, input_signature=[tf.TensorSpec([None, 2])])
    with pytest.raises(ValueError, match=r"Under a distribution strategy the recipes take batches of one known "
                                         r"size: pass fit a tf\.data\.Dataset batched with drop_remainder=True\. "
                                         r"Received a batch of unknown size"):
        strategy.run(unknown, args=(tf.zeros([3, 2]),))
    assert int(unknown(tf.zeros([3, 2]))) == 3  # one device: read at run time
    assert set(strategy.experimental_local_results(strategy.run(lambda: batch_size(tf.zeros([3, 2]))))) == {3}


def test_the_noise_is_philox_on_every_device():
    """TensorFlow's default picks the algorithm per device (ThreeFry on TPU): the recipes name Philox, so
    example i gets the same noise on every device."""
    recipe = recipes.DCGAN(latent_dim=3, width=4, image_shape=SHAPE, seed=2)
    algorithms = []
    recipe.replica_random(lambda shape, seed, alg: algorithms.append(alg) or tf.zeros(shape), 2, 3)
    assert [str(alg).lower() for alg in algorithms] == ["philox"]


def test_split_labels_takes_every_form_keras_hands_a_train_step():
    """`images`, `(images,)` and `(images, labels)` (Keras's x, (x,) and (x, y))."""
    from recipes.base import split_labels

    images, labels = real_images(), tf.constant([1, 2, 3, 4])
    for data, expected in ((images, None), ((images,), None), ((images, labels), labels), ([images, labels], labels)):
        split = split_labels(data)
        assert split[0] is images and split[1] is expected


# Table 2 of Nowozin et al. 2016 (f-GAN): output activation g_f and conjugate f*, as the paper writes them
F_GAN_TABLE = {
    "kl": (lambda v: v, lambda t: tf.exp(t - 1)),
    "reverse_kl": (lambda v: -tf.exp(-v), lambda t: -1 - tf.math.log(-t)),
    "pearson": (lambda v: v, lambda t: t ** 2 / 4 + t),
    "squared_hellinger": (lambda v: 1 - tf.exp(-v), lambda t: t / (1 - t)),
    "jensen_shannon": (lambda v: np.log(2.0) - tf.math.log(1 + tf.exp(-v)), lambda t: -tf.math.log(2 - tf.exp(t))),
}


def f_gan(name):
    """(L_D, L_G): D maximises E_P[g(V(x))] - E_Q[f*(g(V(G(z))))]; G maximises E_Q[g(V(G(z)))] (the paper's
    experiments' generator objective)."""
    g, conjugate = F_GAN_TABLE[name]
    return lambda r, f: -g(r) + conjugate(g(f)), lambda f, r: -g(f)


def log_sigmoid(t):
    return tf.math.log(tf.sigmoid(t))


mean = tf.reduce_mean  # the batch's mean (one device: the global batch)

# (L_D(r, f), L_G(f, r)) per example on raw outputs r = D(x), f = D(G(z)), from the papers; L_G reads r only for
# the relativistic losses (RELATIVISTIC: their generator step runs D on the real batch too)
DCGAN_LOSSES = {
    "non_saturating": (lambda r, f: softplus(-r) + softplus(f), lambda f, r: softplus(-f)),  # Goodfellow et al. 2014
    "minimax": (lambda r, f: softplus(-r) + softplus(f), lambda f, r: -softplus(f)),
    "least_squares": (lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f ** 2, lambda f, r: 0.5 * (f - 1) ** 2),  # Mao et al.
    "hinge": (lambda r, f: tf.nn.relu(1 - r) + tf.nn.relu(1 + f), lambda f, r: -f),  # Lim & Ye 2017
    "wasserstein_gp": (lambda r, f: f - r, lambda f, r: -f),  # Gulrajani et al. 2017
    "dragan": (lambda r, f: softplus(-r) + softplus(f), lambda f, r: softplus(-f)),  # Kodali et al. 2017
    "wasserstein": (lambda r, f: f - r, lambda f, r: -f),  # Arjovsky et al. 2017, with the clip (WGAN_CLIP)
    **{f"f_{name}": f_gan(name) for name in F_GAN_TABLE},  # Nowozin et al. 2016
    # Jolicoeur-Martineau 2018: RSGAN, RaSGAN, RaLSGAN, RaHingeGAN
    "relativistic": (lambda r, f: -log_sigmoid(r - f), lambda f, r: -log_sigmoid(f - r)),
    "relativistic_average": (lambda r, f: -log_sigmoid(r - mean(f)) - tf.math.log(1 - tf.sigmoid(f - mean(r))),
                             lambda f, r: -log_sigmoid(f - mean(r)) - tf.math.log(1 - tf.sigmoid(r - mean(f)))),
    "relativistic_average_ls": (lambda r, f: (r - mean(f) - 1) ** 2 + (f - mean(r) + 1) ** 2,
                                lambda f, r: (f - mean(r) - 1) ** 2 + (r - mean(f) + 1) ** 2),
    "relativistic_average_hinge": (lambda r, f: tf.nn.relu(1 - (r - mean(f))) + tf.nn.relu(1 + (f - mean(r))),
                                   lambda f, r: tf.nn.relu(1 - (f - mean(r))) + tf.nn.relu(1 + (r - mean(f)))),
}
RELATIVISTIC = ("relativistic", "relativistic_average", "relativistic_average_ls", "relativistic_average_hinge")
WGAN_CLIP = 0.05  # not the default 0.01: at 0.01 every weight of the tiny critic would end at ±c, whatever the gradient

def wgan_gp_penalty(critic, real, fake, alpha):
    """(‖∇D(x̂)‖ - 1)², x̂ = x + α(G(z) - x)."""
    alpha = tf.reshape(alpha, [-1, 1, 1, 1])
    return (input_gradient_norm(critic, real + alpha * (fake - real)) - 1.0) ** 2


def dragan_penalty(critic, real, noise, alpha):
    """(‖∇D(x̂)‖ - 1)², x̂ = x + α(x_p - x), x_p = x + ½·std(x)·u."""
    perturbed = real + 0.5 * tf.math.reduce_std(real) * noise
    alpha = tf.reshape(alpha, [-1, 1, 1, 1])
    return (input_gradient_norm(critic, real + alpha * (perturbed - real)) - 1.0) ** 2


@pytest.mark.parametrize("loss", list(DCGAN_LOSSES))
def test_dcgan_step_is_its_named_objective(loss):
    """n_disc = 1: min_D E[L_D + λ·penalty] (WGAN: then the critic's weights clipped to [-c, c]), then
    min_G E[L_G(D(G(z')), D(x))] against the updated D (D(x) only for the relativistic losses); EMA."""
    penalised, clipped = loss in ("wasserstein_gp", "dragan"), loss == "wasserstein"
    recipe = recipes.DCGAN(latent_dim=4, width=4, image_shape=DEEP, loss=loss, ema_decay=EMA, seed=1,
                           # norms that read `training` (batch statistics; the power iteration), but no batch
                           # norm under a gradient penalty
                           discriminator_norm={"wasserstein_gp": "layer", "dragan": "spectral"}.get(loss, "batch"),
                           **({"penalty_weight": 3.0} if penalised else {}), **({"clip": WGAN_CLIP, "n_disc": 1} if clipped else {}))
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    real = real_images(shape=DEEP)
    logs, after = golden.run(real)
    draws = list(golden.draws)
    G, D = recipe.generator, recipe.discriminator
    discriminator_loss, generator_loss = DCGAN_LOSSES[loss]

    z = draws.pop(0)
    fake = G(z, training=True)
    critic = lambda x: D(x, training=True)  # noqa: E731

    penalty = {}

    def d_objective():
        terms = discriminator_loss(per_example_mean(D(real, training=True)), per_example_mean(D(fake, training=True)))
        if loss == "wasserstein_gp":
            penalty["d_penalty"] = wgan_gp_penalty(critic, real, fake, draws[0])
        if loss == "dragan":
            penalty["d_penalty"] = dragan_penalty(critic, real, draws[0], draws[1])
        return tf.reduce_mean(terms + 3.0 * penalty.get("d_penalty", 0.0))

    d_loss = sgd_step(d_objective, D.trainable_variables)
    if clipped:
        updated = np.concatenate([np.ravel(w) for w in D.trainable_variables])
        assert 0 < np.mean(np.abs(updated) > WGAN_CLIP) < 1  # the clip moves some weights and leaves others
        for w in D.trainable_variables:
            w.assign(np.clip(w.numpy(), -WGAN_CLIP, WGAN_CLIP))
    draws = draws[{"wasserstein_gp": 1, "dragan": 2}.get(loss, 0):]
    z_g = draws.pop(0)

    def g_objective():
        f = per_example_mean(D(G(z_g, training=True), training=True))
        return tf.reduce_mean(generator_loss(f, per_example_mean(D(real, training=True)) if loss in RELATIVISTIC
                                             else None))

    g_loss = sgd_step(g_objective, G.trainable_variables)
    assert not draws
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    assert sorted(logs) == sorted(["d_loss", "g_loss", *penalty])  # the penalty is logged when there is one
    if penalised:
        np.testing.assert_allclose(logs["d_penalty"], float(tf.reduce_mean(penalty["d_penalty"])), rtol=1e-5)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)

def test_lsgan_step_regresses_to_its_labels():
    """min_D ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²]; min_G ½E[(D(G(z')) - c)²], with a = -1, b = 1, c = 0
    (the paper's χ² coding: a wrong or swapped label shows)."""
    recipe = recipes.LSGAN(latent_dim=4, width=4, image_shape=DEEP, a=-1.0, b=1.0, c=0.0, ema_decay=EMA, seed=2)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    real = real_images(1, shape=DEEP)
    logs, after = golden.run(real)
    (z, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator
    fake = G(z, training=True)
    d_loss = sgd_step(lambda: tf.reduce_mean(0.5 * (per_example_mean(D(real, training=True)) - 1.0) ** 2
                                             + 0.5 * (per_example_mean(D(fake, training=True)) + 1.0) ** 2),
                      D.trainable_variables)
    g_loss = sgd_step(lambda: tf.reduce_mean(0.5 * per_example_mean(D(G(z_g, training=True), training=True)) ** 2),
                      G.trainable_variables)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


@pytest.mark.parametrize("step", [1, 20, 10000])
def test_ema_rampup_restarts_the_average_and_lengthens_its_half_life(step):
    """With ema_rampup r the EMA's decay after the generator's t-th step is min(ema_decay, 0.5^(1/(r·t))):
    a half-life of r·t steps (Karras et al. 2020), ≈ 0 at t = 1 (the average restarts from the weights),
    0.5^(1/2) at r·t = 2, and capped by ema_decay once r·t > ln 2 / -ln(ema_decay)."""
    recipe = recipes.LSGAN(latent_dim=4, width=4, image_shape=DEEP, ema_decay=0.999, ema_rampup=0.1, seed=2)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    recipe.g_optimizer.iterations.assign(step - 1)  # the step takes the generator's t-th step
    _, after = golden.run(real_images(1, shape=DEEP))
    assert int(recipe.g_optimizer.iterations) == step
    golden.assert_ema(after, min(0.999, 0.5 ** (1 / (0.1 * step))))


def test_wgan_gp_step_takes_n_critic_steps_on_fresh_batches_then_one_generator_step():
    """n_critic = 2 critic steps, each on its own real batch: min_C E[D(G(z)) - D(x) + λ(‖∇D(x̂)‖ - 1)²]
    with λ = 3; then min_G -E[D(G(z'))] against the last critic. Logs: the last critic step's loss,
    penalty and Wasserstein estimate E[D(x)] - E[D(G(z))]."""
    recipe = recipes.WGANGP(latent_dim=4, width=4, image_shape=SHAPE, n_critic=2, gp_weight=3.0, ema_decay=EMA, seed=3)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    batches = [real_images(2), real_images(3)]
    logs, after = golden.run(tf.stack(batches, axis=1))  # [batch, n_critic, H, W, C], as zoo.train feeds it
    draws, G, D = list(golden.draws), recipe.generator, recipe.discriminator
    critic = lambda x: D(x, training=True)  # noqa: E731
    for real in batches:
        z, alpha = draws.pop(0), draws.pop(0)
        fake = G(z, training=True)
        wasserstein = float(tf.reduce_mean(per_example_mean(critic(real)) - per_example_mean(critic(fake))))
        penalty = float(tf.reduce_mean(wgan_gp_penalty(critic, real, fake, alpha)))
        d_loss = sgd_step(lambda: tf.reduce_mean(per_example_mean(critic(fake)) - per_example_mean(critic(real))
                                                 + 3.0 * wgan_gp_penalty(critic, real, fake, alpha)),
                          D.trainable_variables)
    z_g = draws.pop(0)
    assert not draws
    g_loss = sgd_step(lambda: -tf.reduce_mean(per_example_mean(D(G(z_g, training=True), training=True))),
                      G.trainable_variables)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"], logs["gradient_penalty"], logs["wasserstein_estimate"]],
                               [d_loss, g_loss, penalty, wasserstein], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


def test_cgan_step_conditions_both_players_on_the_real_labels():
    """max_D E[log σ(D(x, y))] + E[log(1 - σ(D(G(z, y), y)))]; min_G E[-log σ(D(G(z', y), y))]."""
    recipe = recipes.CGAN(latent_dim=4, width=4, image_shape=DEEP, num_classes=3, embedding_dim=2, ema_decay=EMA,
                          seed=4)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    real, labels = real_images(4, shape=DEEP), tf.constant([0, 2, 1, 2], tf.int32)
    logs, after = golden.run((real, labels))
    (z, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator
    fake = G([z, labels], training=True)
    d_loss = sgd_step(lambda: tf.reduce_mean(softplus(-per_example_mean(D([real, labels], training=True)))
                                             + softplus(per_example_mean(D([fake, labels], training=True)))),
                      D.trainable_variables)
    g_loss = sgd_step(lambda: tf.reduce_mean(softplus(-per_example_mean(D([G([z_g, labels], training=True), labels],
                                                                          training=True)))),
                      G.trainable_variables)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


def l1(x, y):
    return tf.reduce_mean(tf.abs(x - y), axis=[1, 2, 3])


UNKNOWN_BATCH = {  # recipe → (a recipe with a fixed seed, its batch)
    "dcgan": (lambda: recipes.DCGAN(latent_dim=4, width=4, image_shape=DEEP, augment="translation", seed=1),
              lambda: real_images(shape=DEEP)),
    "wgan_gp": (lambda: recipes.WGANGP(latent_dim=4, width=4, image_shape=SHAPE, n_critic=2, seed=3),
                lambda: tf.stack([real_images(2), real_images(3)], axis=1)),
    "cgan": (lambda: recipes.CGAN(latent_dim=4, width=4, image_shape=DEEP, num_classes=3, embedding_dim=2, seed=4),
             lambda: (real_images(4, shape=DEEP), tf.constant([0, 2, 1, 2], tf.int32))),
    "acgan": (lambda: recipes.ACGAN(latent_dim=4, width=4, image_shape=DEEP, num_classes=3, embedding_dim=2, seed=4),
              lambda: (real_images(4, shape=DEEP), tf.constant([0, 2, 1, 2], tf.int32))),
    "cyclegan": (lambda: recipes.CycleGAN(width=4, num_blocks=1, discriminator_width=4, discriminator_layers=1,
                                          pool_size=0, image_shape=SHAPE, seed=5), lambda: (real_images(5), real_images(6))),
    "srgan": (lambda: recipes.get_recipe("srgan")(scale=2, width=4, num_blocks=1, discriminator_width=4,
                                                  discriminator_stages=1, discriminator_dense=8, image_shape=SHAPE,
                                                  seed=6), lambda: real_images(7)),
    "stylegan_lite": (lambda: recipes.get_recipe("stylegan_lite")(latent_dim=4, w_dim=4, mapping_layers=1, width=4,
                                                                  channel_base=16, image_shape=SHAPE, seed=8),
                      lambda: real_images(8)),
    "sngan": (lambda: recipes.SNGAN(latent_dim=4, width=4, image_shape=SHAPE, n_dis=2, num_classes=3, seed=9),
              lambda: (tf.stack([real_images(10), real_images(11)], axis=1),  # [batch, n_dis, ...], labels too
                       tf.constant([[0, 1], [2, 1], [1, 0], [2, 2]], tf.int32))),
    "biggan_lite": (lambda: recipes.BigGANLite(latent_dim=4, width=4, image_shape=SHAPE, n_dis=1, num_classes=3,
                                               embedding_dim=2, ortho_beta=0.05, seed=10),  # the penalty per example
                    lambda: (real_images(12), tf.constant([0, 2, 1, 2], tf.int32))),
}


@pytest.mark.parametrize("name", list(UNKNOWN_BATCH))
def test_a_batch_of_unknown_size_takes_the_same_step(name):
    """Keras's `fit` traces the step for a batch of unknown size (arrays; a dataset batched without
    drop_remainder): the same numbers as the same batch of a known size."""
    make, batch = UNKNOWN_BATCH[name]
    known, unknown, data = make(), make(), batch()
    unknown.set_weights(known.get_weights())  # the same networks (the seed fixes the recipe's draws, not them)
    for recipe in (known, unknown):
        recipe.compile(**{player: keras.optimizers.SGD(0.1) for player in recipe.players})
    spec = tf.nest.map_structure(lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), data)
    logs = tf.function(known.train_step)(data), tf.function(unknown.train_step, input_signature=[spec])(data)
    np.testing.assert_allclose(*[[float(value) for _, value in sorted(log.items())] for log in logs], rtol=1e-6)
    for mine, theirs in zip(known.weights, unknown.weights):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7, err_msg=mine.path)


def test_cyclegan_pool_refuses_a_batch_of_unknown_size():
    recipe = recipes.CycleGAN(width=4, num_blocks=1, discriminator_width=4, discriminator_layers=1, pool_size=2,
                              image_shape=SHAPE, seed=5)
    recipe.compile()
    spec = tf.TensorSpec([None, *SHAPE], tf.float32)
    with pytest.raises(ValueError, match=r"CycleGAN's image pool takes batches of a known size: pass fit a "
                                         r"tf\.data\.Dataset batched with drop_remainder=True \(arrays give batches "
                                         r"of unknown size\), or set pool_size=0\. Received a batch of unknown "
                                         r"size"):  # inside TensorFlow's "in user code" frame
        tf.function(recipe.train_step, input_signature=[(spec, spec)])((real_images(5), real_images(6)))


def test_cgan_step_refuses_a_batch_without_labels():
    recipe = recipes.CGAN(latent_dim=4, width=4, image_shape=SHAPE, num_classes=3, embedding_dim=2, seed=4)
    with pytest.raises(ValueError, match=r"^CGAN trains on \(images, labels\) batches; the dataset has no labels\.$"):
        recipe.train_step(real_images())


def test_cyclegan_step_is_adversarial_plus_cycle_plus_identity_with_their_weights():
    """G, F jointly: min E[½(D_B(G(a)) - 1)² + ½(D_A(F(b)) - 1)² + λ(|F(G(a)) - a|₁ + |G(F(b)) - b|₁)
    + w·λ(|G(b) - b|₁ + |F(a) - a|₁)] with λ = 7, w = ½ (Zhu et al. 2017's 0.5λ identity term); then
    D_B: min ½(D_B(b) - 1)² + ½D_B(G(a))² and D_A likewise, on the pool's images (while it fills:
    this step's own translations, from before the generators' update)."""
    recipe = recipes.CycleGAN(width=4, num_blocks=1, discriminator_width=4, discriminator_layers=1, pool_size=8,
                              cycle_weight=7.0, identity_weight=0.5, image_shape=SHAPE, seed=5)
    golden = GoldenStep(recipe, ["generator", "generator_b2a", "discriminator", "discriminator_a"])
    a, b = real_images(5), real_images(6)
    logs, after = golden.run((a, b))
    G, F, D_A, D_B = recipe.generator, recipe.generator_b2a, recipe.discriminator_a, recipe.discriminator
    parts = {}

    def generators_objective():
        fake_b, fake_a = G(a, training=True), F(b, training=True)
        parts["fake_b"], parts["fake_a"] = tf.stop_gradient(fake_b), tf.stop_gradient(fake_a)
        parts["cycle"] = l1(F(fake_b, training=True), a) + l1(G(fake_a, training=True), b)
        parts["identity"] = l1(G(b, training=True), b) + l1(F(a, training=True), a)
        parts["g"] = 0.5 * per_example_mean((D_B(fake_b, training=True) - 1.0) ** 2)
        parts["f"] = 0.5 * per_example_mean((D_A(fake_a, training=True) - 1.0) ** 2)
        return tf.reduce_mean(parts["g"] + parts["f"] + 7.0 * parts["cycle"] + 0.5 * 7.0 * parts["identity"])

    sgd_step(generators_objective, G.trainable_variables + F.trainable_variables)
    d_b = sgd_step(lambda: tf.reduce_mean(0.5 * per_example_mean((D_B(b, training=True) - 1.0) ** 2)
                                          + 0.5 * per_example_mean(D_B(parts["fake_b"], training=True) ** 2)),
                   D_B.trainable_variables)
    d_a = sgd_step(lambda: tf.reduce_mean(0.5 * per_example_mean((D_A(a, training=True) - 1.0) ** 2)
                                          + 0.5 * per_example_mean(D_A(parts["fake_a"], training=True) ** 2)),
                   D_A.trainable_variables)
    expected = [float(tf.reduce_mean(parts[k])) for k in ("g", "f", "cycle", "identity")] + [d_a, d_b]
    np.testing.assert_allclose([logs[k] for k in ("g_loss", "f_loss", "cycle_loss", "identity_loss", "d_a_loss",
                                                  "d_b_loss")], expected, rtol=1e-5, atol=1e-6)
    golden.assert_weights(after)


def test_image_pool_fills_then_swaps_with_probability_half():
    """The image history the CycleGAN discriminators see (Shrivastava et al. 2017): fills, then swaps with p = ½."""
    pool = recipes.cyclegan.ImagePool(3, (1, 1, 1))
    first = tf.constant([[[[1.0]]], [[[2.0]]]])
    out = pool.query(first, tf.constant([0.9, 0.9]), tf.constant([0, 0]))
    np.testing.assert_array_equal(out.numpy().ravel(), [1, 2])  # filling: images pass through
    second = tf.constant([[[[3.0]]], [[[4.0]]], [[[5.0]]]])
    # image 3 fills the last slot; image 4 (u < ½) is swapped for slot 0 (1.0); image 5 (u = ½: not < ½) passes
    out = pool.query(second, tf.constant([0.0, 0.1, 0.5]), tf.constant([0, 0, 1]))
    np.testing.assert_array_equal(out.numpy().ravel(), [3, 1, 5])
    np.testing.assert_array_equal(pool.images.numpy().ravel(), [4, 2, 3])
    assert int(pool.count.numpy()) == 3
    no_pool = recipes.cyclegan.ImagePool(0, (1, 1, 1))  # pool_size=0: the discriminators see the latest images
    np.testing.assert_array_equal(no_pool.query(second, tf.constant([0.0, 0.1, 0.2]), tf.constant([0, 0, 0])), second)


def test_cyclegan_pool_draws_a_slot_then_a_swap_per_image_from_the_recipe_stream():
    """CycleGAN.pooled: per image u₁ picks slot ⌊u₁·size⌋ (at most size - 1), then u₂ decides the swap
    (ImagePool.query, above), both drawn from the recipe's stream in that order. The one-step golden test
    never fills its pool, so this is where the slot choice is pinned."""
    recipe, twin = (recipes.CycleGAN(width=4, num_blocks=1, discriminator_width=4, discriminator_layers=1, pool_size=3,
                                     image_shape=SHAPE, seed=5) for _ in range(2))
    pool, twin_pool = (recipes.cyclegan.ImagePool(3, (1, 1, 1)) for _ in range(2))
    for batch in (tf.reshape(tf.range(3.0), [3, 1, 1, 1]), tf.reshape(tf.range(3.0, 19.0), [16, 1, 1, 1])):
        got = recipe.pooled(pool, batch)
        slots, swaps = twin.uniform(len(batch)), twin.uniform(len(batch))
        indices = tf.minimum(tf.cast(tf.floor(slots * 3), tf.int32), 2)
        np.testing.assert_array_equal(got, twin_pool.query(batch, swaps, indices))
    np.testing.assert_array_equal(pool.images, twin_pool.images)
    assert np.any((indices.numpy() == 2) & (swaps.numpy() < 0.5)), "the last slot must be drawn and swapped"


def content_features():
    """A fixed φ for SRGAN's content loss (a frozen 3×3 conv): unlike pixel MSE, its term differs from
    the warm-up's, so mixing them up shows; with dropout, which φ must not apply (inference mode)."""
    import keras

    images = keras.Input((8, 8, 1))
    features = keras.layers.Dropout(0.5, seed=1)(keras.layers.Conv2D(2, 3, padding="same", name="phi")(images))
    phi = keras.Model(images, features, name="phi")
    phi.set_weights([np.random.default_rng(9).normal(size=w.shape).astype(np.float32) for w in phi.get_weights()])
    phi.trainable = False
    return phi


@pytest.mark.parametrize("warmup, with_phi", [(False, True), (True, True), (False, False)])
def test_srgan_step_is_content_plus_a_thousandth_adversarial_after_the_pixel_mse_warmup(warmup, with_phi):
    """a = [generator step ≥ warmup_steps]. D: min a·(softplus(-D(HR)) + softplus(D(G(LR)))); G: min
    (1 - a)·MSE(G(LR), HR) + a·(c·‖φ(G(LR)) - φ(HR)‖² + 10⁻³·softplus(-D(G(LR)))), c = 2, φ the identity
    without a content network; LR the antialiased bicubic ÷2 of HR."""
    recipe = recipes.get_recipe("srgan")(scale=2, width=4, num_blocks=1, discriminator_width=4, discriminator_stages=1,
                                         discriminator_dense=8, content_network=content_features() if with_phi else None,
                                         content_weight=2.0, warmup_steps=1 if warmup else 0, image_shape=SHAPE, seed=6)
    golden = GoldenStep(recipe, ["generator", "discriminator"])
    hr = real_images(7)
    logs, after = golden.run(hr)
    G, D, phi = recipe.generator, recipe.discriminator, recipe.content_network or (lambda images: images)
    lr = tf.clip_by_value(tf.image.resize(hr, [4, 4], method="bicubic", antialias=True), -1.0, 1.0)
    adversarial = 0.0 if warmup else 1.0
    d_loss = sgd_step(lambda: adversarial * tf.reduce_mean(softplus(-per_example_mean(D(hr, training=True)))
                                                           + softplus(per_example_mean(D(G(lr, training=True),
                                                                                         training=True)))),
                      D.trainable_variables)
    parts = {}

    def generator_objective():
        sr = G(lr, training=True)
        parts["mse"] = tf.reduce_mean((sr - hr) ** 2, axis=[1, 2, 3])
        parts["content"] = tf.reduce_mean((phi(sr) - phi(hr)) ** 2, axis=[1, 2, 3])
        parts["fooling"] = softplus(-per_example_mean(D(sr, training=True)))
        return tf.reduce_mean((1 - adversarial) * parts["mse"]
                              + adversarial * (2.0 * parts["content"] + 1e-3 * parts["fooling"]))

    g_loss = sgd_step(generator_objective, G.trainable_variables)
    np.testing.assert_allclose([logs[k] for k in ("d_loss", "g_loss", "content_loss", "adversarial_loss", "pixel_mse")],
                               [d_loss, g_loss] + [float(tf.reduce_mean(parts[k]))
                                                   for k in ("content", "fooling", "mse")], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator"] if warmup else None)
    if warmup:  # the discriminator does not move while SRResNet warms up
        for variable, expected in zip(D.trainable_weights, [after["discriminator"][i] for i, w in
                                                            enumerate(D.weights) if w.trainable]):
            np.testing.assert_array_equal(np.array(variable), expected)


def mixed(w, w_other, mix_draw, crossover_draw, probability, layers):
    """Style mixing written out: layer l reads w when l < c, else w₂, with c = 1 + ⌊u·(L - 1)⌋ (at most
    L - 1) for the examples that mix (u' < p) and c = L (no mixing) for the others."""
    crossover = np.minimum(1 + np.floor(np.array(crossover_draw) * (layers - 1)), layers - 1)
    crossover = np.where(np.array(mix_draw) < probability, crossover, layers)
    take_first = np.arange(layers)[None, :, None] < crossover[:, None, None]
    return tf.where(take_first, tf.convert_to_tensor(w)[:, None], tf.convert_to_tensor(w_other)[:, None])


@pytest.mark.parametrize("d_steps_before", [0, 1, 4])
def test_stylegan_lite_step_is_logistic_with_lazy_r1_style_mixing_and_w_avg_tracking(d_steps_before):
    """D: min E[softplus(D(G(z)))] + E[softplus(-D(x))] + [k mod interval = 0]·interval·(γ/2)·E‖∇ₓD(x)‖² at
    D step k (lazy R1, γ = 0.3, interval 4: k = 0 penalised, k = 1 not); G: min E[softplus(-D(G(z')))], both
    with style mixing at p = ½ and fresh N(0, 1) noise images [n, s, s, 1] per style layer; then
    w̄ ← mean(w) + 0.995·(w̄ - mean(w)) over the G step's unmixed w, and the EMA generator."""
    from recipes.stylegan_lite import noise_sizes, w_avg_of

    recipe = recipes.get_recipe("stylegan_lite")(latent_dim=4, w_dim=4, mapping_layers=1, width=4, channel_base=16,
                                                 style_mixing_prob=0.5, r1_gamma=0.3, r1_interval=4, ema_decay=EMA,
                                                 image_shape=SHAPE, seed=8)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    recipe.d_optimizer.iterations.assign(d_steps_before)
    real = real_images(8)
    logs, after = golden.run(real)
    draws, G, D = list(golden.draws), recipe.generator, recipe.discriminator
    mapping, synthesis, layers = recipe.mapping, recipe.synthesis, recipe.num_layers
    r1_weight = 4 * 0.3 / 2 if d_steps_before in (0, 4) else 0.0  # k mod 4 = 0

    def generated():
        z, z_other, mix_draw, crossover_draw = (draws.pop(0) for _ in range(4))
        noise = [draws.pop(0) for _ in range(layers)]
        assert [tuple(image.shape) for image in noise] == [(BATCH, size, size, 1) for size in noise_sizes(SHAPE[0])]
        w = mapping(z, training=True)
        ws = mixed(w, mapping(z_other, training=True), mix_draw, crossover_draw, 0.5, layers)
        return synthesis([ws, *noise], training=True), w

    fake, _ = generated()
    with tf.GradientTape() as tape:
        tape.watch(real)
        real_total = tf.reduce_sum(D(real, training=True))
    r1 = float(tf.reduce_mean(tf.reduce_sum(tape.gradient(real_total, real) ** 2, axis=[1, 2, 3]))) if r1_weight else 0.0
    adversarial = float(tf.reduce_mean(softplus(per_example_mean(D(fake, training=True)))
                                       + softplus(-per_example_mean(D(real, training=True)))))

    def discriminator_objective():
        with tf.GradientTape() as inner:
            inner.watch(real)
            total = tf.reduce_sum(D(real, training=True))
        penalty = tf.reduce_sum(inner.gradient(total, real) ** 2, axis=[1, 2, 3])
        return tf.reduce_mean(softplus(per_example_mean(D(fake, training=True)))
                              + softplus(-per_example_mean(D(real, training=True))) + r1_weight * penalty)

    sgd_step(discriminator_objective, D.trainable_variables)
    parts = {}

    def generator_objective():
        images, parts["w"] = generated()
        return tf.reduce_mean(softplus(-per_example_mean(D(images, training=True))))

    g_loss = sgd_step(generator_objective, G.trainable_variables)
    assert not draws
    w_avg = w_avg_of(G).mean
    batch_mean = tf.reduce_mean(parts["w"], axis=0)
    w_avg.assign(batch_mean + 0.995 * (w_avg - batch_mean))
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"], logs["r1_penalty"]], [adversarial, g_loss, r1],
                               rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


def test_stylegan_lite_logs_the_r1_penalty_of_its_r1_steps_only():
    """The logged R1 penalty averages the steps that computed it, not the zeros of the steps between."""
    recipe = recipes.get_recipe("stylegan_lite")(latent_dim=4, w_dim=4, mapping_layers=1, width=4, channel_base=16,
                                                 r1_interval=2, image_shape=SHAPE, seed=8)
    recipe.compile()
    first = {name: float(value) for name, value in recipe.train_step(real_images(8)).items()}
    second = {name: float(value) for name, value in recipe.train_step(real_images(9)).items()}
    assert first["r1_penalty"] > 0 and second["r1_penalty"] == first["r1_penalty"]
    assert second["d_loss"] != first["d_loss"]  # the other logs average both steps


def test_stylegan_lite_mixes_an_example_when_its_draw_is_below_the_probability():
    """Style mixing where u < p, as StyleGAN2's `uniform() < mixing_prob`: a draw equal to p does not mix;
    the crossover is 1 + ⌊u'·(L - 1)⌋."""
    recipe = recipes.get_recipe("stylegan_lite")(latent_dim=4, w_dim=4, mapping_layers=1, width=4, channel_base=16,
                                                 style_mixing_prob=0.5, image_shape=SHAPE, seed=8)
    mix_draw, crossover_draw = [0.5, 0.4999, 0.75, 0.0], [0.0, 0.0, 0.9, 0.99]
    uniforms, normals, draw = [tf.constant(mix_draw), tf.constant(crossover_draw)], [], recipe.replica_random

    def chosen(sample, local_batch, *shape):
        if sample is tf.random.stateless_uniform:
            return uniforms.pop(0)
        normals.append(draw(sample, local_batch, *shape))
        return normals[-1]

    recipe.replica_random = chosen
    ws, w = recipe.mixed_styles(BATCH)
    z, z_other = normals
    expected = mixed(recipe.mapping(z), recipe.mapping(z_other), mix_draw, crossover_draw, 0.5, recipe.num_layers)
    np.testing.assert_allclose(ws, expected, rtol=1e-6)
    np.testing.assert_allclose(w, recipe.mapping(z), rtol=1e-6)
    assert not np.allclose(ws[1], ws[1][:1]) and np.allclose(ws[0], ws[0][:1])  # example 1 mixes, 0 does not


def l1_reconstruction(autoencoder, images):
    """BEGAN's L(v) = |v - D(v)|, the mean absolute pixel error per example (D's reconstruction: its first output)."""
    return tf.reduce_mean(tf.abs(images - autoencoder(images, training=True)[0]), axis=[1, 2, 3])


# (k_t, λ_k, γ, where k_t + λ_k(γE[L(x)] - E[L(G(z_G))]) lands): inside (0, 1), above 1, below 0 (a negative balance)
BEGAN_CONTROL = [(0.3, 0.2, 0.7, "inside"), (0.95, 5.0, 0.7, "above"), (0.05, 5.0, 0.2, "below")]


@pytest.mark.parametrize("k, lambda_k, gamma, lands", BEGAN_CONTROL)
def test_began_step_is_the_equilibrium_objective_and_its_control(k, lambda_k, gamma, lands):
    """min_D E[L(x)] - k_t·E[L(G(z_D))]; min_G E[L(G(z_G))] against the updated D; k_{t+1} = clip(k_t + λ_k(γE[L(x)] -
    E[L(G(z_G))]), 0, 1) and M_global = E[L(x)] + |γE[L(x)] - E[L(G(z_G))]| (Berthelot et al. 2017, eq. 4-5), with
    γ ≠ ½ (not the default: a swapped or dropped factor shows), k_t > 0 (the fake term counts), and the control
    landing inside (0, 1) and past either bound (the clip holds k there; below 0 the balance is negative, so M's
    absolute value shows)."""
    keras.utils.set_random_seed(3)  # the initial networks, whatever ran before: where the control lands depends on them
    recipe = recipes.get_recipe("began")(latent_dim=4, width=4, bottleneck=4, image_shape=DEEP, gamma=gamma,
                                         lambda_k=lambda_k, ema_decay=EMA, seed=9)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    recipe.k.assign(k)
    real = real_images(9, shape=DEEP)
    logs, after = golden.run(real)
    (z_d, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator
    fake = G(z_d, training=True)
    real_loss = float(tf.reduce_mean(l1_reconstruction(D, real)))
    d_loss = sgd_step(lambda: tf.reduce_mean(l1_reconstruction(D, real)) - k * tf.reduce_mean(l1_reconstruction(D, fake)),
                      D.trainable_variables)
    g_loss = sgd_step(lambda: tf.reduce_mean(l1_reconstruction(D, G(z_g, training=True))), G.trainable_variables)
    balance = gamma * real_loss - g_loss
    k_next = min(max(k + lambda_k * balance, 0.0), 1.0)
    unclipped = k + lambda_k * balance
    assert {"inside": 0 < unclipped < 1, "above": unclipped > 1, "below": unclipped < 0}[lands], unclipped
    np.testing.assert_allclose([logs[name] for name in ("d_loss", "g_loss", "real_loss", "k", "m_global")],
                               [d_loss, g_loss, real_loss, k_next, real_loss + abs(balance)], rtol=1e-5, atol=1e-6)
    assert float(recipe.k) == pytest.approx(k_next, rel=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)


def power_iteration(kernel, u):
    """(W/σ(W), u'): Algorithm 1 of Miyato et al. 2018 on W [d_out, d_in] = the kernel reshaped [d_in, d_out] and
    transposed: ṽ = Wᵀu/‖Wᵀu‖, u' = Wṽ/‖Wṽ‖, σ(W) = u'ᵀWṽ; ṽ and u' constants for the gradient (the paper's
    ∂σ/∂W = u'ṽᵀ)."""
    w = tf.transpose(tf.reshape(kernel, [-1, kernel.shape[-1]]))
    v = tf.stop_gradient(tf.linalg.l2_normalize(tf.matmul(w, u, transpose_a=True), axis=None))
    u = tf.stop_gradient(tf.linalg.l2_normalize(tf.matmul(w, v), axis=None))
    return kernel / tf.reduce_sum(u * tf.matmul(w, v)), u


def spectral_layer(layer):
    """The layer's W/σ(W) with its power iteration advanced, as a training call does."""
    kernel, u = power_iteration(layer.kernel, layer.singular_vector)
    layer.singular_vector.assign(u)
    return kernel


@pytest.mark.parametrize("conditional", [False, True])
def test_sngan_step_is_n_dis_hinge_steps_on_fresh_batches_then_one_generator_step(conditional):
    """n_dis = 2 discriminator steps, each on its own real batch and fresh z:
    min_D E[relu(1 − D(x, y))] + E[relu(1 + D(G(z, y), y))]; then min_G −E[D(G(z', y), y)] against the updated D
    (y the last batch's labels). D's output written out: ψ(φ(x)) + embed(y)ᵀφ(x) (Miyato & Koyama 2018, eq. 3;
    unconditional: ψ(φ(x))), ψ(h) = h·w/σ(w) + b and embed(y) = onehot(y)ᵀV/σ(V), with σ by one power iteration
    per call from the stored u (Miyato et al. 2018, Alg. 1), which the step advances; φ the network's residual
    trunk. The SGD step moves the raw W through σ(W); the singular vectors are compared too (GoldenStep)."""
    classes = 3 if conditional else None
    recipe = recipes.SNGAN(latent_dim=4, width=4, image_shape=SHAPE, n_dis=2, num_classes=classes, ema_decay=EMA,
                           seed=9)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    batches = [real_images(10), real_images(11)]
    labels = [tf.constant([0, 2, 1, 2], tf.int32), tf.constant([1, 1, 0, 2], tf.int32)]
    images = tf.stack(batches, axis=1)  # [batch, n_dis, H, W, C], as zoo.train feeds it
    logs, after = golden.run((images, tf.stack(labels, axis=1)))  # unconditional: the data's labels are ignored
    draws, G, D = list(golden.draws), recipe.generator, recipe.discriminator
    trunk = keras.Model(D.inputs[0], D.get_layer("sum_pool").output)  # φ, D's own layers
    psi = D.get_layer("logit")

    def critic(x, y):
        features = trunk(x, training=True)
        logit = tf.matmul(features, spectral_layer(psi)) + psi.bias
        if not conditional:
            return logit[:, 0]
        embedded = tf.matmul(tf.one_hot(y, classes), spectral_layer(D.get_layer("projection_embedding")))
        return logit[:, 0] + tf.reduce_sum(embedded * features, axis=1)

    generate = lambda z, y: G([z, y] if conditional else z, training=True)  # noqa: E731
    for real, y in zip(batches, labels):
        fake = generate(draws.pop(0), y)
        d_loss = sgd_step(lambda: tf.reduce_mean(tf.nn.relu(1 - critic(real, y)) + tf.nn.relu(1 + critic(fake, y))),
                          D.trainable_variables)
    z_g = draws.pop(0)
    assert not draws
    g_loss = sgd_step(lambda: -tf.reduce_mean(critic(generate(z_g, labels[-1]), labels[-1])), G.trainable_variables)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)
    assert int(recipe.d_optimizer.iterations) == 2 and int(recipe.g_optimizer.iterations) == 1


def test_a_conditional_sngan_step_refuses_a_batch_without_labels_in_one_line():
    recipe = recipes.SNGAN(latent_dim=4, width=4, image_shape=SHAPE, n_dis=1, num_classes=3, seed=9)
    recipe.compile()
    with pytest.raises(ValueError) as error:
        recipe.train_step(tf.stack([real_images(10)], axis=1))
    assert str(error.value) == ("A class-conditional SNGAN trains on (images, labels) batches; the dataset has no "
                                "labels.")


def squared_reconstruction(autoencoder, images):
    """EBGAN's energy D(v) = ‖Dec(Enc(v)) - v‖², as the mean squared pixel error per example, and Enc(v)."""
    reconstruction, code = autoencoder(images, training=True)
    return tf.reduce_mean((reconstruction - images) ** 2, axis=[1, 2, 3]), code


def pulling_away_pairs(codes):
    """f_PT(S) = 1/(N(N-1)) Σ_{i≠j} (S_iᵀS_j / (‖S_i‖‖S_j‖))², pair by pair."""
    n = int(codes.shape[0])
    pairs = [(tf.reduce_sum(codes[i] * codes[j]) / (tf.norm(codes[i]) * tf.norm(codes[j]))) ** 2
             for i in range(n) for j in range(n) if i != j]
    return tf.add_n(pairs) / (n * (n - 1))


@pytest.mark.parametrize("margin", [1e-3, 10.0])
def test_ebgan_step_is_the_margin_loss_then_energy_plus_pulling_away(margin):
    """min_D E[D(x) + [m - D(G(z))]⁺]; min_G E[D(G(z'))] + λ_PT·f_PT(Enc(G(z'))) against the updated D (Zhao et al.
    2016, eq. 1, 2 and 6), λ_PT = 0.3 (not the default); m = 10⁻³ (the hinge is 0 for every fake) and m = 10 (it is
    m - D(G(z)) for every one)."""
    recipe = recipes.get_recipe("ebgan")(latent_dim=4, width=4, bottleneck=5, image_shape=DEEP, margin=margin,
                                         pt_weight=0.3, ema_decay=EMA, seed=10)
    golden = GoldenStep(recipe, ["generator", "discriminator", "ema_generator"])
    real = real_images(10, shape=DEEP)
    logs, after = golden.run(real)
    (z_d, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator
    fake = G(z_d, training=True)
    real_energy = float(tf.reduce_mean(squared_reconstruction(D, real)[0]))
    fake_energies = squared_reconstruction(D, fake)[0]
    assert bool(tf.reduce_all(fake_energies > margin)) == (margin < 1), fake_energies  # the hinge off; on
    d_loss = sgd_step(lambda: tf.reduce_mean(squared_reconstruction(D, real)[0]
                                             + tf.maximum(margin - squared_reconstruction(D, fake)[0], 0.0)),
                      D.trainable_variables)
    parts = {}

    def generator_objective():
        energy, codes = squared_reconstruction(D, G(z_g, training=True))
        parts["pt"] = pulling_away_pairs(codes)
        return tf.reduce_mean(energy) + 0.3 * parts["pt"]

    g_loss = sgd_step(generator_objective, G.trainable_variables)
    np.testing.assert_allclose([logs[name] for name in ("d_loss", "g_loss", "real_energy", "fake_energy",
                                                        "pulling_away")],
                               [d_loss, g_loss, real_energy, float(tf.reduce_mean(fake_energies)), float(parts["pt"])],
                               rtol=1e-5, atol=1e-6)
    golden.assert_weights(after, ["generator", "discriminator"])
    golden.assert_ema(after, EMA)
