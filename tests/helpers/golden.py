"""The golden-step harness (issue 18): one `train_step` of a recipe next to the same step recomputed
in the test from the paper's formulas.

A recipe is compiled with plain SGD for every player (Δw = -lr·∇L: the update is proportional to the
gradient, so a wrongly weighted term shows in the weights; Adam's first step is lr·sign(∇L) and would
hide it). `GoldenStep.run` records every random draw the step makes (`replica_random`: latents,
α, DiffAugment...), keeps the weights the step produced, and puts the networks back to where they
started, so the test can redo the step with `sgd_step` on the same networks and the same noise and
compare losses and weights."""
import keras
import numpy as np
import tensorflow as tf

LR = 0.05
RTOL, ATOL = 1e-4, 1e-6


def softplus(t):
    """log(1 + eᵗ), written out (not the recipes' helpers)."""
    return tf.math.log1p(tf.exp(-tf.abs(t))) + tf.maximum(t, 0.0)


def per_example_mean(t):
    """Mean over every axis but the batch axis."""
    return tf.reduce_mean(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


def input_gradient_norm(critic, points):
    """Per-example sqrt(‖∇ₓ Σ critic(x)‖² + 1e-10) (TF-GAN's ε)."""
    with tf.GradientTape() as tape:
        tape.watch(points)
        total = tf.reduce_sum(critic(points))
    grads = tape.gradient(total, points)
    return tf.sqrt(tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(grads)[0], -1]), axis=1) + 1e-10)


def sgd_step(loss_fn, variables):
    """One SGD step of `variables` on the scalar loss_fn() (lr = LR); returns the loss."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    for variable, grad in zip(variables, tape.gradient(loss, variables)):
        variable.assign_sub(LR * tf.convert_to_tensor(grad))  # embeddings' gradients come as IndexedSlices
    return float(loss)


class GoldenStep:
    """A compiled recipe and the networks it trains (`networks`: attribute names)."""

    def __init__(self, recipe, networks):
        self.recipe, self.names = recipe, list(networks)
        recipe.compile(**{name: keras.optimizers.SGD(LR) for name in recipe.players})
        self.draws = []

    def network(self, name):
        return getattr(self.recipe, name)

    def weights(self):
        return {name: [np.array(w) for w in self.network(name).weights] for name in self.names}

    def run(self, data):
        """(logs, weights after) of one eager `train_step`; the networks are then reset to before it
        and `draws` holds the step's random draws in order (each with one row per example of the batch)."""
        recipe, draws = self.recipe, self.draws
        before = self.weights()
        draw = recipe.replica_random

        def recording(*args):
            values = draw(*args)
            draws.append(values)
            return values

        recipe.replica_random = recording
        try:
            logs = {name: float(value) for name, value in recipe.train_step(data).items()}
        finally:
            del recipe.replica_random
        batch = tf.nest.flatten(data)[0].shape[0]
        assert [int(values.shape[0]) for values in draws] == [batch] * len(draws), "one row per example"
        after = self.weights()
        for name, values in before.items():
            for variable, value in zip(self.network(name).weights, values):
                variable.assign(value)
        self.before = before
        return logs, after

    def assert_weights(self, after, names=None):
        """The networks (as the test's own step left them) equal the recipe's step, weight by weight."""
        for name in names or self.names:
            mine = self.network(name).weights
            assert len(mine) == len(after[name])
            for variable, expected in zip(mine, after[name]):
                np.testing.assert_allclose(np.array(variable), expected, rtol=RTOL, atol=ATOL,
                                           err_msg=f"{name}/{variable.path}")
            moved = [not np.allclose(a, b) for a, b in zip(self.before[name], after[name])]
            assert any(moved), f"{name} did not change: the comparison would prove nothing"

    def assert_ema(self, after, decay, generator="generator", ema="ema_generator"):
        """ema' = d·ema + (1 - d)·w' for trainable weights (w' the generator after the step);
        non-trainable ones (batch-norm statistics) copied."""
        trainable = len(self.network(ema).trainable_weights)
        paired = zip(self.network(ema).trainable_weights + self.network(ema).non_trainable_weights,
                     self.network(generator).trainable_weights + self.network(generator).non_trainable_weights)
        index = {variable.path: i for i, variable in enumerate(self.network(ema).weights)}
        gindex = {variable.path: i for i, variable in enumerate(self.network(generator).weights)}
        for k, (ema_variable, weight) in enumerate(paired):
            ema_before = self.before[ema][index[ema_variable.path]]
            new_weight = after[generator][gindex[weight.path]]
            expected = decay * ema_before + (1 - decay) * new_weight if k < trainable else new_weight
            np.testing.assert_allclose(after[ema][index[ema_variable.path]], expected, rtol=RTOL, atol=ATOL,
                                       err_msg=ema_variable.path)
