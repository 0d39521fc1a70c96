"""The Wasserstein critic: ≈ 0 for two samples of one distribution, and for a translation by δ (whose W₁ is δ
exactly) an estimate that grows with δ and stays within 0.3 of it, measured on held-out halves, and that does not
move when both sets do; the parts (the halves, the network, the mean score) by their definitions; the protocol's
budget is the training's."""
import numpy as np
import pytest

from zoo.metrics import critic

STEPS = 300  # a shorter budget than the metric's 1000 steps: the same behaviour, a third of the time


def gaussian(n, seed, shift=0.0, d=8):
    points = np.random.default_rng(seed).normal(size=(n, d))
    points[:, 0] += shift  # W₁ between N(0, I) and its translate by δ·e₁ is δ
    return points


def test_one_distribution_scores_near_zero():
    values = [critic.wasserstein_critic(gaussian(800, 0), gaussian(800, 1), steps=STEPS, seed=seed)
              for seed in range(3)]
    assert max(abs(value) for value in values) < 0.15, values  # measured |Ŵ₁| ≤ 0.091 over seeds 0-4


def test_the_estimate_grows_with_the_shift_and_stays_near_w1():
    shifts = (0.5, 1.0, 2.0)
    values = [critic.wasserstein_critic(gaussian(800, 0), gaussian(800, 1, shift), steps=STEPS) for shift in shifts]
    assert values[0] < values[1] < values[2], values
    for shift, value in zip(shifts, values):  # measured 0.46, 1.01, 2.20 (seed 0) and 0.32, 0.88, 2.11 (seed 1)
        assert abs(value - shift) < 0.3, (shift, value)


def test_the_estimate_is_in_feature_units_and_seeded():
    """Scaling every feature by 10 scales W₁ by 10: the critic reads standardised features and scales back."""
    real, fake = gaussian(400, 2), gaussian(400, 3, 1.0)
    value = critic.wasserstein_critic(real, fake, steps=100, seed=5)
    assert critic.wasserstein_critic(real * 10, fake * 10, steps=100, seed=5) == pytest.approx(10 * value, rel=1e-3)
    assert critic.wasserstein_critic(real, fake, steps=100, seed=5) == value


def test_the_budget_states_how_the_critic_is_trained(monkeypatch):
    import keras

    adam, optimizers = keras.optimizers.Adam, []
    monkeypatch.setattr(keras.optimizers, "Adam", lambda *args, **kwargs: optimizers.append(adam(*args, **kwargs))
                        or optimizers[-1])
    features = gaussian(8, 0, d=2).astype(np.float32)
    trained = critic.train_critic(features, features, np.random.default_rng(0), 1, 4, 0.02, 0)
    (optimizer,) = optimizers
    assert float(optimizer.learning_rate) == pytest.approx(0.02, rel=1e-7)  # the rate given, not Adam's default
    assert critic.budget() == {
        "steps": critic.STEPS, "batch_size": critic.BATCH_SIZE, "learning_rate": critic.LEARNING_RATE,  # passed by
        # the registry
        "adam_betas": [optimizer.beta_1, optimizer.beta_2], "penalty_weight": critic.PENALTY_WEIGHT,
        "hidden_layers": [layer.units for layer in trained.layers[:-1]],
        "split": "half of each set trains, the other half measures"}


def test_the_estimate_does_not_move_with_both_sets_and_is_seed_0_unless_given():
    """W₁ is invariant under translating both sets (the critic reads features centred on the real training half)."""
    real, fake = gaussian(400, 2), gaussian(400, 3, 1.0)
    value = critic.wasserstein_critic(real, fake, steps=100, seed=0)
    away = np.array([100.0, -100.0, 0, 0, 0, 0, 0, 50.0])
    assert critic.wasserstein_critic(real + away, fake + away, steps=100, seed=0) == pytest.approx(value, rel=1e-3)
    assert critic.wasserstein_critic(real, fake, steps=100) == value


def test_the_halves_split_the_rows_at_random_into_two_disjoint_halves():
    rows = np.arange(11.0)[:, None]
    splits = [critic.halves(rows, np.random.default_rng(seed)) for seed in (0, 1)]
    for training, held_out in splits:
        assert (len(training), len(held_out)) == (5, 6)
        assert sorted(np.concatenate([training, held_out])[:, 0]) == list(range(11))  # every row once
    assert splits[0][0].tolist() != splits[1][0].tolist()  # drawn by the generator


def test_the_critic_is_relu_layers_then_one_linear_score_every_layer_seeded_on_its_own():
    models = [critic.build_critic(4, seed) for seed in (0, 1, 2, 3, 0)]
    for model in models:
        model.build((None, 4))
    assert [layer.units for layer in models[0].layers] == [4] * critic.CRITIC_DEPTH + [1]
    assert [layer.get_config()["activation"] for layer in models[0].layers] == ["relu"] * critic.CRITIC_DEPTH + [
        "linear"]
    assert all(np.array_equal(a, b) for a, b in zip(models[0].get_weights(), models[-1].get_weights()))  # seeded
    kernels = [layer.kernel.numpy() for model in models[:-1] for layer in model.layers[:-1]]  # all [4, 4]
    assert all(not np.array_equal(a, b) for i, a in enumerate(kernels) for b in kernels[i + 1:])


def test_the_mean_score_reads_every_row_once_whatever_the_batch():
    rows = np.arange(14.0).reshape(7, 2)
    for batch_size in (3, 7, 4096):
        assert critic.mean_score(lambda batch: batch[:, :1] ** 2, rows, batch_size) == pytest.approx(
            np.mean(rows[:, 0] ** 2), rel=1e-12)


@pytest.mark.parametrize("setting, value, message", [
    ("steps", -1, "the Wasserstein critic's steps must be an integer ≥ 1; received -1"),
    ("steps", 10.5, "the Wasserstein critic's steps must be an integer ≥ 1; received 10.5"),
    ("batch_size", 0, "the Wasserstein critic's batch_size must be an integer ≥ 1; received 0"),
    ("learning_rate", 0.0, "the Wasserstein critic's learning_rate must be a positive number; received 0.0"),
    ("learning_rate", float("nan"), "the Wasserstein critic's learning_rate must be a positive number; received nan"),
    ("learning_rate", "1e-3", "the Wasserstein critic's learning_rate must be a positive number; received '1e-3'"),
])
def test_a_bad_training_budget_is_refused_before_any_training(setting, value, message):
    """steps=-1 used to return an untrained critic's score as if it were the metric."""
    from zoo.errors import UserError

    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        critic.wasserstein_critic(gaussian(8, 0), gaussian(8, 1), **{setting: value})
