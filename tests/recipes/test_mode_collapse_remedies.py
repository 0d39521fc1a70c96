"""The mode-collapse remedies as options of the DCGAN family (issue 33): unrolled GANs (Metz et al. 2016), feature
matching, minibatch discrimination, historical averaging and one-sided label smoothing (Salimans et al. 2016).
Golden steps: the MLP discriminator (2-D points) written out here as formulas on its weights, so every remedy's
formula is the test's own; the step's generator and noise are the recipe's (tests/helpers/golden.py)."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import recipes
from golden import LR, GoldenStep, sgd_step
from recipe_checks import check_keras_reload, run_recipe_test
from recipes import remedies
from recipes.layers import MinibatchDiscrimination

BATCH, POINT = 6, (1, 1, 2)
TINY = {"latent_dim": 3, "width": 4, "image_shape": POINT}


def softplus(t):
    """log(1 + eᵗ), written out with its exact gradient σ(t) at t = 0 too (a tiny MLP's dead ReLUs give D(x) = its
    logit bias, 0 at the start: golden.softplus's max(t, 0) would take the gradient 1 there)."""
    return tf.math.log1p(tf.exp(t))


def dcgan(**settings):
    """The tiny DCGAN on points, its initial weights from a fixed seed (a random start can leave every ReLU of the
    4-wide discriminator dead on the generated points: G's gradient 0, and the comparison would prove nothing)."""
    keras.utils.set_random_seed(settings.get("seed", 0))
    return recipes.DCGAN(**TINY, **settings)


def real_points(seed=0, count=BATCH):
    return tf.constant(np.random.default_rng(seed).normal(0, 1, (count, *POINT)).astype(np.float32))


def weights_of(D):
    """{name: variable} of the MLP discriminator's trainable weights."""
    named = {}
    for layer in ("hidden_0", "hidden_1", "logit"):
        named[f"{layer}/w"], named[f"{layer}/b"] = D.get_layer(layer).kernel, D.get_layer(layer).bias
    if "minibatch_discrimination" in [layer.name for layer in D.layers]:
        named["T"] = D.get_layer("minibatch_discrimination").kernel
    return named


def minibatch_features(f, T):
    """o(x_i)_b = Σ_j exp(-Σ_c |M_{i,b,c} - M_{j,b,c}|), M_i = f(x_i)·T (T: A×B×C), concatenated to f."""
    M = tf.einsum("na,abc->nbc", f, T)
    o = tf.reduce_sum(tf.exp(-tf.reduce_sum(tf.abs(M[:, None] - M[None, :]), axis=-1)), axis=1)
    return tf.concat([f, o], axis=1)


def mlp(theta, points):
    """(D(x), f(x)): two ReLU layers, [minibatch discrimination], a linear logit; f the second layer's output."""
    h = tf.reshape(points, [points.shape[0], -1])
    for layer in ("hidden_0", "hidden_1"):
        h = tf.nn.relu(h @ theta[f"{layer}/w"] + theta[f"{layer}/b"])
    top = minibatch_features(h, theta["T"]) if "T" in theta else h
    return (top @ theta["logit/w"] + theta["logit/b"])[:, 0], h


def values(theta):
    return {name: tf.convert_to_tensor(v) for name, v in theta.items()}


def d_loss_of(theta, real, fake, smoothing=0.0):
    """E[(1 - s)·softplus(-D(x)) + s·softplus(D(x)) + softplus(D(G(z)))]: the sigmoid cross-entropy, real targets 1 - s."""
    r, f = mlp(theta, real)[0], mlp(theta, fake)[0]
    return tf.reduce_mean((1 - smoothing) * softplus(-r) + smoothing * softplus(r) + softplus(f))


def sgd_theta_step(theta_vars, loss_fn):
    """One SGD step on the named variables (assigned); returns the loss."""
    names = list(theta_vars)
    return sgd_step(lambda: loss_fn({n: theta_vars[n] for n in names}), [theta_vars[n] for n in names])


def non_saturating(theta, fake, real):
    """E[softplus(-D(G(z')))]: the generator's loss of the step, on `mlp` at `theta`."""
    return tf.reduce_mean(softplus(-mlp(theta, fake)[0]))


def check_step(recipe, real, generator_loss=non_saturating, smoothing=0.0, pull=lambda player: 0.0, golden=None):
    """One train_step of `recipe` on `real` against the test's: SGD on E[L_D(x, G(z))] (real targets 1 - `smoothing`)
    + pull("d") on the weights of `mlp`, then SGD of G on generator_loss(θ_D after its step, G(z'), x) + pull("g");
    the logs and both networks' new weights compared. `golden`: a GoldenStep of `recipe` made before."""
    golden = golden or GoldenStep(recipe, ["generator", "discriminator"])
    logs, after = golden.run(real)
    (z, z_g), G, D = golden.draws, recipe.generator, recipe.discriminator
    theta = weights_of(D)
    d_loss = sgd_theta_step(theta, lambda t: d_loss_of(t, real, G(z, training=True), smoothing) + pull("d"))
    g_loss = sgd_step(lambda: generator_loss(values(theta), G(z_g, training=True), real) + pull("g"),
                      G.trainable_variables)
    np.testing.assert_allclose([logs["d_loss"], logs["g_loss"]], [d_loss, g_loss], rtol=1e-5, atol=1e-6)
    golden.assert_weights(after)


# --- unrolled GAN --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3])
def test_unrolled_step_differentiates_the_generator_loss_through_k_discriminator_updates(k):
    """Metz et al. 2016, eqs. (7)-(12): θ_D^{j+1} = θ_D^j - η∇L_D(θ_D^j; x, G(z')) (SGD, the optimizer's rule here),
    min_G E[softplus(-D(G(z'); θ_D^k(θ_G)))] with the gradient through the unrolling; D's own step is the plain one,
    taken first (on z), and the unrolled copy starts from it."""
    def unrolled_generator_loss(theta, fake, real):
        unrolled = theta
        for _ in range(k):
            with tf.GradientTape() as tape:
                tape.watch(list(unrolled.values()))
                loss = d_loss_of(unrolled, real, fake)
            grads = tape.gradient(loss, unrolled)
            unrolled = {name: unrolled[name] - LR * grads[name] for name in unrolled}
        return non_saturating(unrolled, fake, real)

    check_step(dcgan(unroll_steps=k, seed=3), real_points(), unrolled_generator_loss)


@pytest.mark.parametrize("optimizer", [
    lambda: keras.optimizers.SGD(0.1), lambda: keras.optimizers.SGD(0.1, momentum=0.7),
    lambda: keras.optimizers.SGD(0.1, momentum=0.7, nesterov=True), lambda: keras.optimizers.Adam(0.1, beta_1=0.5),
    lambda: keras.optimizers.RMSprop(0.1, rho=0.8), lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.1)),
], ids=["sgd", "momentum", "nesterov", "adam", "rmsprop", "loss_scale_adam"])
def test_simulated_updates_are_the_optimizers_own_steps_from_its_moments_now(optimizer):
    """Two simulated steps from an optimizer that has taken two real ones (moments and step count not at their
    start) equal its next two real steps on the same gradients; the optimizer's variables are not touched."""
    optimizer = optimizer()
    rng = np.random.default_rng(1)
    variables = [keras.Variable(rng.normal(size=shape).astype("float32")) for shape in ((3, 2), (2,))]
    optimizer.build(variables)
    gradients = [[tf.constant(rng.normal(size=v.shape).astype("float32")) for v in variables] for _ in range(4)]
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    for step in gradients[:2]:
        inner.apply_gradients(zip(step, variables))
    state = remedies.optimizer_state(optimizer, variables)
    before = [np.array(v) for v in inner.variables]
    simulated = [v.value for v in variables]
    for step in gradients[2:]:
        simulated, state = remedies.simulated_update(optimizer, simulated, step, state)
    for after, was in zip(inner.variables, before):
        np.testing.assert_array_equal(after, was)
    for step in gradients[2:]:
        inner.apply_gradients(zip(step, variables))
    for mine, real in zip(simulated, variables):
        np.testing.assert_allclose(mine, real, rtol=1e-5, atol=1e-6)


def test_adams_square_root_has_a_finite_gradient_where_a_weight_never_had_one():
    """√v of v = g² at g = 0 (a dead unit's Adam moment): tf.sqrt's gradient there is ∞·0 = NaN; safe_sqrt's is 0."""
    g = tf.constant([0.0, 2.0])
    for root, expected in ((remedies.safe_sqrt, [0.0, 1.0]), (tf.sqrt, [np.nan, 1.0])):
        with tf.GradientTape() as tape:
            tape.watch(g)
            total = tf.reduce_sum(root(tf.square(g)))
        np.testing.assert_array_equal(tape.gradient(total, g), expected)
    np.testing.assert_array_equal(remedies.safe_sqrt(tf.constant([0.0, 4.0])), [0.0, 2.0])


# --- feature matching -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("feature_matching", [True, 0.5])
def test_feature_matching_is_the_distance_between_mean_features(feature_matching):
    """Salimans et al. 2016, section 3.1: FM = ‖E f(x) - E f(G(z'))‖², f the second hidden layer's ReLU output (the
    logit's input); the generator minimises FM (True) or E[softplus(-D(G(z')))] + w·FM (w = 0.5)."""
    def generator_loss(theta, fake, real):
        f_fake, f_real = mlp(theta, fake)[1], mlp(theta, real)[1]
        matching = tf.reduce_sum(tf.square(tf.reduce_mean(f_real, 0) - tf.reduce_mean(f_fake, 0)))
        return matching if feature_matching is True else non_saturating(theta, fake, real) + 0.5 * matching

    check_step(dcgan(feature_matching=feature_matching, seed=4), real_points(1), generator_loss)


# --- minibatch discrimination -----------------------------------------------------------------------------------------
def test_minibatch_discrimination_layer_sums_the_l1_kernel_of_every_pair():
    """o(x_i)_b = Σ_j exp(-‖M_{i,b} - M_{j,b}‖_L1), M_i = f(x_i)T, written as loops; [f, o] out; C = 5 by default."""
    layer = MinibatchDiscrimination(3)
    f = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    out = np.asarray(layer(f))
    T = np.asarray(layer.kernel)
    assert T.shape == (6, 3, 5) and out.shape == (4, 9)
    M = np.einsum("na,abc->nbc", f, T)
    expected = [[sum(np.exp(-np.abs(M[i, b] - M[j, b]).sum()) for j in range(4)) for b in range(3)] for i in range(4)]
    np.testing.assert_allclose(out, np.concatenate([f, expected], axis=1), rtol=1e-5)
    assert np.all(out[:, 6:] >= 1.0)  # j = i contributes exp(0)


def test_minibatch_discrimination_step_and_the_conv_discriminator():
    """The step with a minibatch layer of B = 2 before the logit: the sigmoid cross-entropy on the discriminator
    of `mlp` with T; the conv discriminator gets the layer between its trunk and its logit too."""
    recipe = dcgan(minibatch_discrimination=2, seed=5)
    assert recipe.discriminator.get_layer("minibatch_discrimination").kernel.shape == (4, 2, 5)
    check_step(recipe, real_points(2))
    conv = recipes.DCGAN(latent_dim=3, width=4, image_shape=(8, 8, 1), minibatch_discrimination=3, seed=0)
    layer = conv.discriminator.get_layer("minibatch_discrimination")
    assert layer.input.shape == (None, 4 * 4 * 4) and conv.discriminator.get_layer("logit").input.shape == (None, 67)


# --- historical averaging --------------------------------------------------------------------------------------------
def test_historical_averaging_pulls_each_player_to_the_mean_of_its_past_weights():
    """Salimans et al. 2016, section 3.3, at each player's second update: loss + λ‖θ₂ - (θ₁ + θ₂)/2‖² (θ₁ the weights
    at its first update, θ₂ now; the average a constant); at the first the average is θ₁ itself (no pull)."""
    lam = 2.0
    recipe = dcgan(historical_averaging=lam, seed=6)
    golden = GoldenStep(recipe, ["generator", "discriminator"])
    G, D = recipe.generator, recipe.discriminator
    first = {name: [np.array(w) for w in net.trainable_variables] for name, net in (("g", G), ("d", D))}
    recipe.train_step(real_points(3))
    for tracker in recipe.metrics:  # the logs of the second step alone
        tracker.reset_state()
    averages = {name: [(a + np.array(w)) / 2 for a, w in zip(first[name], net.trainable_variables)]
                for name, net in (("g", G), ("d", D))}

    def pull(player):
        variables = (G if player == "g" else D).trainable_variables
        return lam * tf.add_n([tf.reduce_sum(tf.square(v - a)) for v, a in zip(variables, averages[player])])

    check_step(recipe, real_points(4), pull=pull, golden=golden)
    for name in ("g", "d"):
        history = getattr(recipe, f"{name}_history")
        assert float(history.count) == 2.0
        for kept, expected in zip(history.averages, averages[name]):
            np.testing.assert_allclose(kept, expected, rtol=1e-6, atol=1e-7)


# --- one-sided label smoothing ----------------------------------------------------------------------------------------
def test_one_sided_label_smoothing_moves_only_the_real_targets():
    """Salimans et al. 2016, section 3.4: real targets 0.9 (s = 0.1), fake targets 0; the generator's loss unchanged."""
    check_step(dcgan(label_smoothing=0.1, seed=7), real_points(5), smoothing=0.1)
    for loss in ("minimax", "dragan"):  # the other sigmoid cross-entropy losses take it
        assert recipes.DCGAN(**TINY, loss=loss, label_smoothing=0.2).label_smoothing == 0.2


# --- together: distribution, .keras, checkpoints ------------------------------------------------------------------------
def test_the_options_together_pass_the_recipe_contract_on_two_replicas():
    """Unrolling (through SGD with momentum: the contract's optimizers), feature matching, historical averaging and
    label smoothing on the conv networks with synchronized batch norm: two replicas take one device's step (the
    unrolled copy's gradients and the feature means are the global batch's), the .keras reload keeps the options and
    the averages, bfloat16 trains. (Minibatch discrimination sees each replica's batch: not in this comparison.)"""
    settings = {"latent_dim": 3, "width": 4, "image_shape": (8, 8, 1), "discriminator_norm": "sync_batch",
                "generator_norm": "sync_batch", "unroll_steps": 2, "feature_matching": 0.5, "historical_averaging": 0.1,
                "label_smoothing": 0.1, "seed": 8, "ema_decay": 0.9}
    images = tf.constant(np.random.default_rng(8).uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32))
    checked = run_recipe_test(recipes.DCGAN, settings, images, steps=2)
    assert [float(checked.reloaded.g_history.count), float(checked.reloaded.d_history.count)] == [3.0, 3.0]


def test_minibatch_discrimination_reloads_from_keras():
    recipe = recipes.DCGAN(**TINY, minibatch_discrimination=3, historical_averaging=0.5, seed=9)
    recipe.compile()
    recipe.train_step(real_points(6))
    reloaded = check_keras_reload(recipe, real_points(6))
    assert reloaded.discriminator.get_layer("minibatch_discrimination").num_kernels == 3


def test_a_ring8_run_with_every_remedy_resumes_exactly_and_old_runs_resume(tmp_path):
    """`gan-zoo train dcgan --dataset ring8 --set network=mlp --set unroll_steps=2` with the other remedies: stopped
    after 1 step and resumed to 2, the weights and the historical averages equal an uninterrupted 2-step run's; a
    run.json from before the options existed resumes (their defaults are off)."""
    from hub_export import cli
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    options = ["unroll_steps=2", "feature_matching=0.5", "minibatch_discrimination=2", "historical_averaging=0.1",
               "label_smoothing=0.1", "network=mlp", "width=8", "latent_dim=4"]

    def train(out, steps):
        argv = ["train", "dcgan", "--dataset", "ring8", "--batch-size", "8", "--checkpoint-every", "1", "--steps",
                str(steps), "--sample-every", "100", "--log-every", "1", "--out", str(out), "--seed", "1"]
        assert cli.main([*argv, *[arg for option in options for arg in ("--set", option)]]) == 0

    def restored(out):
        run = json.load(open(os.path.join(out, "run.json")))
        settings = {key: value for key, value in run["recipe_config"].items() if key not in ("image_shape", "seed")}
        config = TrainConfig(recipe="dcgan", out=str(out), dataset="ring8", recipe_args=settings)
        recipe = build_recipe(config, POINT)
        checkpoint, _ = checkpoint_manager(recipe, str(out), True, 1)
        restore_latest(checkpoint, str(out))
        return recipe

    train(tmp_path / "straight", 2)
    train(tmp_path / "resumed", 1)
    train(tmp_path / "resumed", 2)
    straight, resumed = restored(tmp_path / "straight"), restored(tmp_path / "resumed")
    assert resumed.unroll_steps == 2 and float(resumed.d_history.count) == 2.0
    for a, b in zip(straight.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=a.path)
    options = options[-3:]  # a run from before the options: run.json without them resumes with them off
    train(tmp_path / "old", 1)
    run_json = tmp_path / "old" / "run.json"
    description = json.load(open(run_json))
    for key in ("unroll_steps", "feature_matching", "minibatch_discrimination", "historical_averaging",
                "label_smoothing"):
        del description["recipe_config"][key]
    json.dump(description, open(run_json, "w"))
    train(tmp_path / "old", 2)
    assert json.load(open(tmp_path / "old" / "train_state.json"))["step"] == 2


# --- refusals -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("settings, message", [
    ({"unroll_steps": -1}, r"`unroll_steps` must be an integer ≥ 0 \(0: no unrolling\)\. Received: unroll_steps=-1"),
    ({"unroll_steps": 1.5}, r"Received: unroll_steps=1\.5"),
    ({"unroll_steps": True}, r"Received: unroll_steps=True"),
    ({"feature_matching": "yes"}, r"`feature_matching` must be true .* Received: feature_matching='yes'"),
    ({"feature_matching": -1.0}, r"Received: feature_matching=-1\.0"),
    ({"feature_matching": float("nan")}, r"Received: feature_matching=nan"),
    ({"minibatch_discrimination": -2}, r"`minibatch_discrimination` must be an integer ≥ 0 \(the number of kernels B"),
    ({"minibatch_discrimination": 2.5}, r"Received: minibatch_discrimination=2\.5"),
    ({"historical_averaging": -0.1}, r"`historical_averaging` must be a finite number ≥ 0\. Received: "),
    ({"label_smoothing": 1.0}, r"`label_smoothing` must be a number in \[0, 1\) .*Received: label_smoothing=1\.0"),
    ({"label_smoothing": -0.1}, r"Received: label_smoothing=-0\.1"),
    ({"label_smoothing": 0.1, "loss": "hinge"}, r"loss 'hinge' has no sigmoid cross-entropy targets to smooth: drop "
                                                r"`label_smoothing` \(losses with them: non_saturating, minimax, dragan"),
])
def test_bad_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(ValueError, match=message) as error:
        recipes.DCGAN(**TINY, **settings)
    assert "\n" not in str(error.value)
    if "label_smoothing" in settings and "loss" not in settings:
        with pytest.raises(ValueError, match=message):
            recipes.WGANGP(**TINY, **{key: value for key, value in settings.items()})


@pytest.mark.parametrize("optimizer, named", [
    (lambda: keras.optimizers.Adam(amsgrad=True), "Adam with amsgrad"),
    (lambda: keras.optimizers.Nadam(), "Nadam"),
    (lambda: keras.optimizers.SGD(0.1, weight_decay=0.01), "SGD with weight_decay"),
    (lambda: keras.optimizers.RMSprop(centered=True), "RMSprop with centered"),
])
def test_unrolling_refuses_an_optimizer_whose_rule_it_cannot_copy(optimizer, named):
    recipe = recipes.DCGAN(**TINY, unroll_steps=2)
    with pytest.raises(ValueError, match=rf"`unroll_steps` simulates the discriminator optimizer's updates: SGD .* "
                                         rf"Received: {named}$") as error:
        recipe.compile(d_optimizer=optimizer())
    assert "\n" not in str(error.value)
    recipes.DCGAN(**TINY).compile(d_optimizer=optimizer())  # without unrolling: any optimizer
