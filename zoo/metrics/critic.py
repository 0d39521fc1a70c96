"""The Wasserstein critic as a metric: an independent critic trained to tell real from generated features and its
estimate of the Wasserstein-1 distance measured on held-out samples (Arjovsky et al. 2017,
https://arxiv.org/abs/1701.07875; as an evaluation measure in Borji 2019, https://arxiv.org/abs/1802.03446, §2.1.6).

Each set is split in two halves at random (numpy's generator seeded with `seed`). On the training halves an MLP
critic C (CRITIC_WIDTH-unit ReLU layers, then one linear unit) minimises the WGAN-GP objective (Gulrajani et al.
2017, https://arxiv.org/abs/1704.00028)

    L = E[C(g)] - E[C(r)] + λ E[(‖∇C(x̂)‖₂ - 1)²],   x̂ = ε r + (1 - ε) g,  ε ~ U(0, 1) per example,  λ = 10

for STEPS steps of BATCH_SIZE real and BATCH_SIZE generated features drawn with replacement, Adam (LEARNING_RATE,
β = (0.5, 0.9)), weights initialised from `seed`. The critic reads the features centred on the real training
half's mean and divided by s, the root mean per-feature standard deviation of that half; the penalty makes it
1-Lipschitz in those units, so the estimate is returned in feature units:

    Ŵ₁ = s · (mean_{r ∈ held-out real} C(r) - mean_{g ∈ held-out generated} C(g)).

A lower bound on W₁ up to the critic's fit and sampling noise: ≈ 0 for one distribution (it can be negative), and
growing with the distance between the two.
"""
import numpy as np

from zoo.checks import real_number, whole_number
from zoo.errors import UserError
from zoo.metrics.samples import feature_sets

STEPS = 1000
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
PENALTY_WEIGHT = 10.0  # λ
CRITIC_WIDTH = 128
CRITIC_DEPTH = 2  # hidden layers


def budget():
    """The training budget, as evaluation protocols record it."""
    return {"steps": STEPS, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE, "adam_betas": [0.5, 0.9],
            "penalty_weight": PENALTY_WEIGHT, "hidden_layers": [CRITIC_WIDTH] * CRITIC_DEPTH,
            "split": "half of each set trains, the other half measures"}


def halves(features, rng):
    """A random split of the rows into (training half, held-out half)."""
    order = rng.permutation(len(features))
    return features[order[: len(features) // 2]], features[order[len(features) // 2:]]


def build_critic(width, seed):
    import keras

    def initializer(index):
        return keras.initializers.GlorotUniform(seed * (CRITIC_DEPTH + 1) + index)  # one seed per layer and critic

    layers = [keras.layers.Dense(width, activation="relu", kernel_initializer=initializer(i)) for i in range(CRITIC_DEPTH)]
    return keras.Sequential(layers + [keras.layers.Dense(1, kernel_initializer=initializer(CRITIC_DEPTH))])


def train_critic(real, fake, rng, steps, batch_size, learning_rate, seed):
    """A WGAN-GP critic fitted to real and generated features [n, d] (float32, already scaled)."""
    import keras
    import tensorflow as tf

    critic = build_critic(CRITIC_WIDTH, seed)
    critic.build((None, real.shape[1]))
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.9)

    @tf.function
    def step(real_batch, fake_batch, epsilon):
        mixed = epsilon * real_batch + (1.0 - epsilon) * fake_batch
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(mixed)
                mixed_scores = critic(mixed)
            slopes = tf.sqrt(tf.reduce_sum(tf.square(inner.gradient(mixed_scores, mixed)), axis=1) + 1e-12)
            loss = (tf.reduce_mean(critic(fake_batch)) - tf.reduce_mean(critic(real_batch))
                    + PENALTY_WEIGHT * tf.reduce_mean(tf.square(slopes - 1.0)))
        optimizer.apply_gradients(zip(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables))

    for _ in range(steps):
        step(real[rng.integers(0, len(real), batch_size)], fake[rng.integers(0, len(fake), batch_size)],
             rng.uniform(size=(batch_size, 1)).astype(np.float32))
    return critic


def mean_score(critic, features, batch_size=4096):
    return float(np.mean(np.concatenate([np.asarray(critic(features[start:start + batch_size]))
                                         for start in range(0, len(features), batch_size)])))


def wasserstein_critic(real, fake, steps=STEPS, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, seed=0):
    """Ŵ₁ of a WGAN-GP critic trained on half of the real and generated features [n, d], measured on the other
    half (see the module docstring)."""
    real, fake = feature_sets(real, fake, "wasserstein_critic", min_samples=4)  # two per half
    steps = whole_number("the Wasserstein critic's steps", steps, 1)
    batch_size = whole_number("the Wasserstein critic's batch_size", batch_size, 1)
    if not real_number(learning_rate) or not 0 < learning_rate < np.inf:
        raise UserError(f"the Wasserstein critic's learning_rate must be a positive number; received {learning_rate!r}")
    rng = np.random.default_rng(seed)
    (real_train, real_test), (fake_train, fake_test) = halves(real, rng), halves(fake, rng)
    centre = real_train.mean(axis=0)
    scale = float(np.sqrt(np.mean(real_train.var(axis=0)))) or 1.0  # constant features: unit scale

    def scaled(features):
        return ((features - centre) / scale).astype(np.float32)

    critic = train_critic(scaled(real_train), scaled(fake_train), rng, steps, batch_size, learning_rate, seed)
    return scale * (mean_score(critic, scaled(real_test)) - mean_score(critic, scaled(fake_test)))
