"""The mode-collapse remedies of the DCGAN family's train step: the unrolled discriminator (Metz et al. 2016),
feature matching and historical averaging (Salimans et al. 2016). Minibatch discrimination is a layer
(`recipes.layers.MinibatchDiscrimination`); one-sided label smoothing is the loss's (`losses.minimax_discriminator_loss`).

Every batch statistic here is over the global batch (all replicas), like the rest of the step, and every
scalar that belongs to the whole batch enters `update()` as `batch_constant`, so two replicas take one
device's step.
"""
import keras
import tensorflow as tf

from recipes.base import cross_replica_mean, replica_total


def batch_constant(value, local_batch):
    """A scalar of the whole batch (a penalty on weights, a loss between batch means) as per-example values: each
    replica's `global_batch_mean` of them is value / replicas, and the replicas' gradients sum to the gradient of
    `value` (statistics inside it are all-reduced: `cross_replica_mean`)."""
    return tf.fill([local_batch], tf.cast(value, tf.float32))


# --- unrolled GAN: Metz, Poole, Pfau & Sohl-Dickstein 2016, https://arxiv.org/abs/1611.02163 --------------------------
def unrollable_optimizer(optimizer):
    """The optimizer whose rule the unrolled steps copy (a LossScaleOptimizer's inner one); refused in one line
    when `simulated_update` cannot copy its rule."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    kind = type(optimizer).__name__
    unsupported = [setting for setting in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
                   if getattr(optimizer, setting, None)] + (["use_ema"] if optimizer.use_ema else [])
    if kind == "Adam" and optimizer.amsgrad:
        unsupported.append("amsgrad")
    if kind == "RMSprop" and (optimizer.momentum or optimizer.centered):
        unsupported.append("momentum" if optimizer.momentum else "centered")
    if kind not in ("SGD", "Adam", "RMSprop") or unsupported:
        raise ValueError(f"`unroll_steps` simulates the discriminator optimizer's updates: SGD (with or without "
                         f"momentum), Adam and RMSprop, without {', '.join(('weight_decay', 'clipnorm', 'clipvalue'))}"
                         f", global_clipnorm, use_ema, amsgrad or a centered/momentum RMSprop. Received: {kind}"
                         + (f" with {', '.join(unsupported)}" if unsupported else ""))
    return optimizer


def safe_sqrt(value):
    """√v with the gradient 0 (not ∞) where v = 0: Adam's second moment of a weight that never had a gradient
    (a dead ReLU's), whose ∞·0 would make the generator's gradient NaN. Exact in value."""
    positive = value > 0
    return tf.where(positive, tf.sqrt(tf.where(positive, value, tf.ones_like(value))), tf.zeros_like(value))


def slot_values(optimizer, variables, slots):
    """The current values of the optimizer's slot list `slots` ("_momentums", ...) for `variables`; zeros when
    it has none (SGD without momentum)."""
    stored = getattr(optimizer, slots, None) or []
    return [tf.cast(stored[optimizer._get_variable_index(v)].value, tf.float32) if stored
            else tf.zeros(v.shape, tf.float32) for v in variables]


def optimizer_state(optimizer, variables):
    """What `simulated_update` reads of `optimizer` for `variables`: {"step": iterations, "first": per-variable
    momentum (SGD) or first moment (Adam), "second": per-variable second moment (Adam) or mean square (RMSprop)}."""
    optimizer = unrollable_optimizer(optimizer)
    kind = type(optimizer).__name__
    first = slot_values(optimizer, variables, "momentums" if kind == "SGD" else "_momentums")
    second = slot_values(optimizer, variables, "_velocities")
    return {"step": tf.cast(optimizer.iterations, tf.float32), "first": first, "second": second}


def simulated_update(optimizer, values, gradients, state):
    """(new values, new state): one step of `optimizer`'s own rule (Keras 3's, read from its settings now) on
    weight `values` (tensors) with `gradients`, from `state` (`optimizer_state`), as a differentiable function:
      SGD:     m ← μm - ηg;  θ ← θ + m  (Nesterov: θ + μm - ηg; μ = 0: θ - ηg);
      Adam:    m ← m + (1-β₁)(g - m);  v ← v + (1-β₂)(g² - v);  θ ← θ - η√(1-β₂ᵗ)/(1-β₁ᵗ)·m/(√v + ε), t = step + 1;
      RMSprop: v ← ρv + (1-ρ)g²;  θ ← θ - ηg/√(v + ε)."""
    optimizer = unrollable_optimizer(optimizer)
    kind, lr = type(optimizer).__name__, tf.cast(optimizer.learning_rate, tf.float32)
    step, first, second = state["step"] + 1.0, [], []
    new_values = []
    for value, g, m, v in zip(values, gradients, state["first"], state["second"]):
        g = tf.cast(g, tf.float32)
        if kind == "SGD":
            m = optimizer.momentum * m - lr * g
            value = value + (optimizer.momentum * m - lr * g if optimizer.nesterov else m)
        elif kind == "Adam":
            m = m + (1.0 - optimizer.beta_1) * (g - m)
            v = v + (1.0 - optimizer.beta_2) * (tf.square(g) - v)
            alpha = lr * tf.sqrt(1.0 - optimizer.beta_2 ** step) / (1.0 - optimizer.beta_1 ** step)
            value = value - alpha * m / (safe_sqrt(v) + optimizer.epsilon)
        else:  # RMSprop
            v = optimizer.rho * v + (1.0 - optimizer.rho) * tf.square(g)
            value = value - lr * g / tf.sqrt(v + optimizer.epsilon)
        new_values.append(value)
        first.append(m)
        second.append(v)
    return new_values, {"step": step, "first": first, "second": second}


class FunctionalNetwork:
    """A network computed at weights given as tensors (Keras's `stateless_call`): the unrolled copy of the
    discriminator. Calls run in training mode and carry the non-trainable state they advance (batch-norm
    statistics, spectral norm's singular vectors) to the next call, as the network's own calls would; the network's
    variables are never written. `model` (optional): a functional model on the network's layers that returns more
    (the discriminator with its features), called instead at the same weights."""

    def __init__(self, network, trainable, non_trainable, model=None):
        self.network, self.model = network, model or network
        self.trainable, self.non_trainable = list(trainable), list(non_trainable)

    @classmethod
    def of(cls, network, model=None):
        """A copy at the network's current weights."""
        return cls(network, [v.value for v in network.trainable_variables],
                   [v.value for v in network.non_trainable_variables], model)

    def __call__(self, inputs):
        network, model = self.network, self.model
        trainable = dict(zip(map(id, network.trainable_variables), self.trainable))
        state = dict(zip(map(id, network.non_trainable_variables), self.non_trainable))
        outputs, updated = model.stateless_call([trainable[id(v)] for v in model.trainable_variables],
                                                [state[id(v)] for v in model.non_trainable_variables], inputs,
                                                training=True)
        state.update(zip(map(id, model.non_trainable_variables), updated))
        self.non_trainable = [state[id(v)] for v in network.non_trainable_variables]
        return outputs

    def updated(self, trainable):
        """The same network at new trainable weights, with the state its calls advanced."""
        return FunctionalNetwork(self.network, trainable, self.non_trainable, self.model)


def unroll(copy, optimizer, loss_fn, steps, clip=None):
    """θ_D^{k+1} = θ_D^k + the optimizer's step on ∇ L_D(θ_D^k), k = 0 … steps-1, from the FunctionalNetwork
    `copy` (θ_D^0: the discriminator now, the optimizer's moments now): Metz et al.'s eq. (7) with the
    discriminator's own update rule (`simulated_update`), differentiable, so the generator's gradient through
    L_G(θ_G, θ_D^K(θ_G, θ_D)) has the term dθ_D^K/dθ_G (their eq. 12's second term). `loss_fn(copy)` returns the
    discriminator's global-batch mean loss at `copy`; its gradient is summed over replicas (each replica's copy
    takes the global batch's step); `clip` c: the weights are clipped to [-c, c] after each step (WGAN's
    constraint, part of its discriminator update). Returns the FunctionalNetwork at θ_D^K."""
    state = optimizer_state(optimizer, copy.network.trainable_variables)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(copy.trainable)
            loss = loss_fn(copy)
        gradients = replica_total(tape.gradient(loss, copy.trainable))
        values, state = simulated_update(optimizer, copy.trainable, gradients, state)
        if clip:
            values = [tf.clip_by_value(value, -clip, clip) for value in values]
        copy = copy.updated(values)
    return copy


# --- feature matching: Salimans et al. 2016, https://arxiv.org/abs/1606.03498, section 3.1 ---------------------------
def feature_matching_loss(real_features, fake_features):
    """‖E_x f(x) - E_z f(G(z))‖₂²: f the discriminator's intermediate features [batch, ...], each expectation
    the global batch's mean (all replicas); a scalar."""
    flat = lambda t: tf.reshape(tf.cast(t, tf.float32), [tf.shape(t)[0], -1])  # noqa: E731
    return tf.reduce_sum(tf.square(cross_replica_mean(flat(real_features)) - cross_replica_mean(flat(fake_features))))


# --- historical averaging: Salimans et al. 2016, section 3.3 ------------------------------------------------------------
class HistoricalAverage(keras.layers.Layer):
    """The running average θ̄_t = (1/t) Σ_{i=1}^t θ_i of a player's trainable weights `variables`, θ_i its weights
    when it took its i-th update (θ_t: now, before this update), and the penalty ‖θ - θ̄_t‖² (θ̄_t a constant: past
    weights). A layer of the recipe holding its state (θ̄ per weight, t) as non-trainable weights, so checkpoints
    and .keras files keep it."""

    def __init__(self, variables, **kwargs):
        super().__init__(**kwargs)
        self.variables_averaged = list(variables)
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="float32", name="count",
                                     aggregation="only_first_replica")
        for index, v in enumerate(self.variables_averaged):  # attributes: TensorFlow's checkpoints track those
            setattr(self, f"average_{index}", self.add_weight(shape=v.shape, initializer="zeros", trainable=False,
                                                              dtype="float32", name=f"average_{index}",
                                                              aggregation="only_first_replica"))
        self.built = True

    @property
    def averages(self):
        return [getattr(self, f"average_{index}") for index in range(len(self.variables_averaged))]

    def advance(self):
        """t ← t + 1; θ̄ ← θ̄ + (θ - θ̄)/t: the weights now join the average."""
        self.count.assign_add(1.0)
        for average, variable in zip(self.averages, self.variables_averaged):
            average.assign(average + (tf.cast(variable, tf.float32) - average) / self.count)

    def penalty(self):
        """‖θ - θ̄‖² summed over every weight of the player."""
        return tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32) - tf.stop_gradient(average)))
                         for v, average in zip(self.variables_averaged, self.averages)])
