"""Adversarial losses and penalties, named as in TF-GAN (`tfgan.losses`).

Every function returns a *per-example* tensor of shape [batch]: discriminator
outputs with more than one value per example (PatchGAN maps) are averaged over
their non-batch axes. Reducing over the batch is the caller's job, so that the
recipes can average over the *global* batch under a distribution strategy
(`recipes.base.global_batch_mean`). The relativistic average losses are the exception
that needs a batch statistic inside the loss: their E[C(x)] is the global batch's mean
(`recipes.base.cross_replica_mean`).

Notation: D(x) is the discriminator's raw output (a logit for the minimax
family, a critic value for Wasserstein), σ the logistic sigmoid, softplus(t) =
log(1 + e^t), so that -log σ(t) = softplus(-t) and -log(1 - σ(t)) = softplus(t).
"""
import dataclasses
import functools
import math
from typing import Callable, Optional

import keras
import tensorflow as tf

from recipes.base import cross_replica_mean


def _per_example(values):
    """Mean over every axis but the first: [batch, ...] -> [batch]."""
    values = tf.convert_to_tensor(values)
    values = tf.cast(values, tf.float32)
    if values.shape.rank == 1:
        return values
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def minimax_discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """L_D = -log σ(D(x)) - log(1 - σ(D(G(z)))), the discriminator's side of
    Goodfellow et al. 2014 (https://arxiv.org/abs/1406.2661).

    With one-sided `label_smoothing` s (Salimans et al. 2016), real targets are 1 - s:
    L_D = (1 - s)·softplus(-D(x)) + s·softplus(D(x)) + softplus(D(G(z))).
    Note: TF-GAN's default smoothing is 0.25; ours is 0.

    Args:
        real_logits: D's raw outputs on real images, [batch, ...].
        fake_logits: D's raw outputs on generated images, [batch, ...].
        label_smoothing: one-sided smoothing s in [0, 1) of the real targets.

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    real = tf.cast(real_logits, tf.float32)
    target = 1.0 - label_smoothing
    real_term = target * tf.nn.softplus(-real) + (1.0 - target) * tf.nn.softplus(real)
    return _per_example(real_term) + _per_example(tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


def minimax_generator_loss(fake_logits):
    """L_G = log(1 - σ(D(G(z)))) = -softplus(D(G(z))): the original, saturating
    generator objective of Goodfellow et al. 2014 (https://arxiv.org/abs/1406.2661).

    Args:
        fake_logits: D's raw outputs on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return -_per_example(tf.nn.softplus(tf.cast(fake_logits, tf.float32)))


modified_discriminator_loss = minimax_discriminator_loss


def modified_generator_loss(fake_logits):
    """L_G = -log σ(D(G(z))) = softplus(-D(G(z))): the non-saturating generator loss
    of Goodfellow et al. 2014 (https://arxiv.org/abs/1406.2661), used by DCGAN.

    Args:
        fake_logits: D's raw outputs on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return _per_example(tf.nn.softplus(-tf.cast(fake_logits, tf.float32)))


def wasserstein_discriminator_loss(real_outputs, fake_outputs):
    """L_D = D(G(z)) - D(x): the critic's loss of WGAN, Arjovsky et al. 2017
    (https://arxiv.org/abs/1701.07875). Its negation estimates the Wasserstein-1
    distance when D is 1-Lipschitz.

    Args:
        real_outputs: the critic's values on real images, [batch, ...].
        fake_outputs: the critic's values on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return _per_example(fake_outputs) - _per_example(real_outputs)


def wasserstein_generator_loss(fake_outputs):
    """L_G = -D(G(z)), Arjovsky et al. 2017 (https://arxiv.org/abs/1701.07875).

    Args:
        fake_outputs: the critic's values on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return -_per_example(fake_outputs)


def least_squares_discriminator_loss(real_outputs, fake_outputs, real_label=1.0, fake_label=0.0):
    """L_D = ½(D(x) - b)² + ½(D(G(z)) - a)², LSGAN, Mao et al. 2016
    (https://arxiv.org/abs/1611.04076), with b = `real_label`, a = `fake_label`.

    Args:
        real_outputs: D's outputs on real images, [batch, ...].
        fake_outputs: D's outputs on generated images, [batch, ...].
        real_label: b, the target for real images.
        fake_label: a, the target for generated images.

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    real = tf.cast(real_outputs, tf.float32)
    fake = tf.cast(fake_outputs, tf.float32)
    return 0.5 * _per_example(tf.square(real - real_label)) + 0.5 * _per_example(tf.square(fake - fake_label))


def least_squares_generator_loss(fake_outputs, real_label=1.0):
    """L_G = ½(D(G(z)) - c)², LSGAN, Mao et al. 2016 (https://arxiv.org/abs/1611.04076),
    with c = `real_label`.

    Args:
        fake_outputs: D's outputs on generated images, [batch, ...].
        real_label: c, the value G wants D to give its images.

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return 0.5 * _per_example(tf.square(tf.cast(fake_outputs, tf.float32) - real_label))


def hinge_discriminator_loss(real_outputs, fake_outputs):
    """L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z))), Lim & Ye 2017
    (https://arxiv.org/abs/1705.02894), as used by SNGAN and BigGAN.

    Args:
        real_outputs: D's outputs on real images, [batch, ...].
        fake_outputs: D's outputs on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    real = tf.cast(real_outputs, tf.float32)
    fake = tf.cast(fake_outputs, tf.float32)
    return _per_example(tf.nn.relu(1.0 - real)) + _per_example(tf.nn.relu(1.0 + fake))


def hinge_generator_loss(fake_outputs):
    """L_G = -D(G(z)), the generator's side of the hinge loss (Lim & Ye 2017).

    Args:
        fake_outputs: D's outputs on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return -_per_example(fake_outputs)

def auxiliary_classifier_loss(class_logits, labels):
    """L = -log P(C = y | x) = -log softmax(c(x))_y: the negated log-likelihood of the correct class under the
    discriminator's K-way class head c, one term of AC-GAN's L_C (Odena et al. 2017,
    https://arxiv.org/abs/1610.09585, section 3), on real images and on fakes generated for class y alike.

    Args:
        class_logits: the class head's raw outputs, [batch, K].
        labels: int class ids y in [0, K), [batch].

    Returns:
        float32 tensor [batch]: the loss per example.
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32),
                                                          logits=tf.cast(class_logits, tf.float32))


# --- f-GAN: Nowozin, Cseke & Tomioka 2016, https://arxiv.org/abs/1606.00709 ---------------------------------
@dataclasses.dataclass(frozen=True)
class FDivergence:
    """One row of Table 2 of Nowozin et al. 2016: the output activation g_f that maps the discriminator's
    raw output v to dom f*, the Fenchel conjugate f*(t) as the paper writes it, and f*(g_f(v)) simplified
    into a form that stays finite where the textbook composition overflows or takes log 0."""

    activation: Callable  # g_f(v)
    conjugate: Callable  # f*(t), the paper's form (for the tests)
    conjugate_of_activation: Callable  # f*(g_f(v)), numerically safe


LOG_2 = math.log(2.0)

F_DIVERGENCES = {
    # KL: g = v, f*(t) = exp(t - 1)
    "kl": FDivergence(lambda v: v, lambda t: tf.exp(t - 1.0), lambda v: tf.exp(v - 1.0)),
    # reverse KL: g = -exp(-v), f*(t) = -1 - log(-t); f*(g(v)) = v - 1 (the paper's form takes log 0 for v ≳ 88)
    "reverse_kl": FDivergence(lambda v: -tf.exp(-v), lambda t: -1.0 - tf.math.log(-t), lambda v: v - 1.0),
    # Pearson χ²: g = v, f*(t) = t²/4 + t
    "pearson": FDivergence(lambda v: v, lambda t: 0.25 * t * t + t, lambda v: 0.25 * v * v + v),
    # squared Hellinger: g = 1 - exp(-v), f*(t) = t/(1 - t); f*(g(v)) = exp(v) - 1 (0/0-free)
    "squared_hellinger": FDivergence(lambda v: -tf.math.expm1(-v), lambda t: t / (1.0 - t), tf.math.expm1),
    # Jensen-Shannon: g = log 2 - log(1 + exp(-v)), f*(t) = -log(2 - exp(t)); f*(g(v)) = softplus(v) - log 2
    "jensen_shannon": FDivergence(lambda v: LOG_2 - tf.nn.softplus(-v), lambda t: -tf.math.log(2.0 - tf.exp(t)),
                                  lambda v: tf.nn.softplus(v) - LOG_2),
}  # Table 2's "GAN" row (g = -log(1 + exp(-v)), f*(t) = -log(1 - exp(t))) is LOSSES["minimax"]


def f_gan_discriminator_loss(real_outputs, fake_outputs, divergence):
    """L_D = -g_f(V(x)) + f*(g_f(V(G(z)))): the negated variational lower bound
    E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))] of the f-divergence D_f(P‖Q) that the discriminator maximises,
    f-GAN, Nowozin et al. 2016 (https://arxiv.org/abs/1606.00709), eq. (6) with Table 2's activation g_f.

    Args:
        real_outputs: V(x), the discriminator's raw outputs on real images, [batch, ...].
        fake_outputs: V(G(z)) on generated images, [batch, ...].
        divergence: an `FDivergence` (a value of F_DIVERGENCES).

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    real = tf.cast(real_outputs, tf.float32)
    fake = tf.cast(fake_outputs, tf.float32)
    return _per_example(-divergence.activation(real)) + _per_example(divergence.conjugate_of_activation(fake))


def f_gan_generator_loss(fake_outputs, divergence):
    """L_G = -g_f(V(G(z))): the generator maximises E_Q[g_f(V(G(z)))], the objective Nowozin et al. 2016
    (https://arxiv.org/abs/1606.00709, section 3.2) use in their experiments in place of minimising
    -E_Q[f*(g_f(V(G(z))))] (the saddle point's; same fixed point, stronger gradients early, as Goodfellow
    et al.'s non-saturating loss, which it is for the GAN row).

    Args:
        fake_outputs: V(G(z)), the discriminator's raw outputs on generated images, [batch, ...].
        divergence: an `FDivergence` (a value of F_DIVERGENCES).

    Returns:
        float32 tensor [batch]: the loss per example (PatchGAN maps averaged).
    """
    return _per_example(-divergence.activation(tf.cast(fake_outputs, tf.float32)))


# --- relativistic GANs: Jolicoeur-Martineau 2018, https://arxiv.org/abs/1807.00734 -----------------------
def relativistic_discriminator_loss(real_outputs, fake_outputs):
    """L_D = -log σ(C(x_r) - C(x_f)) = softplus(C(x_f) - C(x_r)), RSGAN, Jolicoeur-Martineau 2018
    (https://arxiv.org/abs/1807.00734): the i-th real image is paired with the i-th generated one.
    C is the critic's raw output (PatchGAN maps averaged per image).

    Args:
        real_outputs: C(x_r) on real images, [batch, ...].
        fake_outputs: C(x_f) on generated images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per pair.
    """
    return tf.nn.softplus(_per_example(fake_outputs) - _per_example(real_outputs))


def relativistic_generator_loss(fake_outputs, real_outputs):
    """L_G = -log σ(C(x_f) - C(x_r)): RSGAN's generator loss, the discriminator's with real and fake
    swapped (Jolicoeur-Martineau 2018, https://arxiv.org/abs/1807.00734).

    Args:
        fake_outputs: C(x_f) on generated images, [batch, ...].
        real_outputs: C(x_r) on real images, [batch, ...].

    Returns:
        float32 tensor [batch]: the loss per pair.
    """
    return relativistic_discriminator_loss(fake_outputs, real_outputs)


# (f1, f2) of the relativistic average losses: L_D = E_r[f1(C(x_r) - E_f C(x_f))] + E_f[f2(C(x_f) - E_r C(x_r))]
RELATIVISTIC_AVERAGE_TERMS = {
    "standard": (lambda y: tf.nn.softplus(-y), tf.nn.softplus),  # -log σ(y), -log(1 - σ(y)): RaSGAN
    "least_squares": (lambda y: tf.square(y - 1.0), lambda y: tf.square(y + 1.0)),  # RaLSGAN
    "hinge": (lambda y: tf.nn.relu(1.0 - y), lambda y: tf.nn.relu(1.0 + y)),  # RaHingeGAN
}


def relativistic_average_discriminator_loss(real_outputs, fake_outputs, kind="standard"):
    """L_D = f1(C(x_r) - E_f[C(x_f)]) + f2(C(x_f) - E_r[C(x_r)]), the relativistic average GANs of
    Jolicoeur-Martineau 2018 (https://arxiv.org/abs/1807.00734, eqs. for RaSGAN, RaLSGAN, RaHingeGAN):
    `kind` "standard" f1(y) = -log σ(y), f2(y) = -log(1 - σ(y)); "least_squares" f1(y) = (y - 1)²,
    f2(y) = (y + 1)²; "hinge" f1(y) = max(0, 1 - y), f2(y) = max(0, 1 + y). E is the mean over the
    *global* batch (all replicas: `recipes.base.cross_replica_mean`), so two replicas take the step of one
    device.

    Args:
        real_outputs: C(x_r) on real images, [batch, ...].
        fake_outputs: C(x_f) on generated images, [batch, ...].
        kind: a key of RELATIVISTIC_AVERAGE_TERMS.

    Returns:
        float32 tensor [batch]: per example i, the real image i's term plus the generated image i's.
    """
    first, second = RELATIVISTIC_AVERAGE_TERMS[kind]
    real, fake = _per_example(real_outputs), _per_example(fake_outputs)
    return first(real - cross_replica_mean(fake)) + second(fake - cross_replica_mean(real))


def relativistic_average_generator_loss(fake_outputs, real_outputs, kind="standard"):
    """L_G = f1(C(x_f) - E_r[C(x_r)]) + f2(C(x_r) - E_f[C(x_f)]): the discriminator's loss with real and
    fake swapped, Jolicoeur-Martineau 2018 (https://arxiv.org/abs/1807.00734); f1, f2 and E as in
    `relativistic_average_discriminator_loss`.

    Args:
        fake_outputs: C(x_f) on generated images, [batch, ...].
        real_outputs: C(x_r) on real images, [batch, ...].
        kind: a key of RELATIVISTIC_AVERAGE_TERMS.

    Returns:
        float32 tensor [batch]: the loss per example.
    """
    return relativistic_average_discriminator_loss(fake_outputs, real_outputs, kind)


def clip_weights(variables, clip):
    """w ← min(max(w, -c), c) for every variable: WGAN's weight clipping, Arjovsky et al. 2017
    (https://arxiv.org/abs/1701.07875, Algorithm 1), applied after every critic update."""
    for variable in variables:
        variable.assign(tf.clip_by_value(variable, -clip, clip))


def squared_gradient_norm(discriminator, inputs):
    """Per-example ‖∇ₓ D(x)‖₂² at `inputs` (D's outputs summed per example)."""
    inputs = tf.convert_to_tensor(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = tf.reduce_sum(tf.cast(discriminator(inputs), tf.float32))
    grads = tf.cast(tape.gradient(outputs, inputs), tf.float32)
    return tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(grads)[0], -1]), axis=1)


def gradient_norm(discriminator, inputs, epsilon=1e-10):
    """Per-example ‖∇ₓ D(x)‖₂ as sqrt(Σ g² + ε): ε inside the root keeps the norm
    differentiable at 0 (TF-GAN uses ε = 1e-10)."""
    return tf.sqrt(squared_gradient_norm(discriminator, inputs) + epsilon)


def _interpolate(real, other, alpha):
    """x̂ = x + α(x' - x) with α of shape [batch] (one weight per example)."""
    alpha = tf.reshape(tf.cast(alpha, real.dtype), [-1] + [1] * (real.shape.rank - 1))
    return real + alpha * (tf.cast(other, real.dtype) - real)


def wasserstein_gradient_penalty(discriminator, real, fake, alpha, target=1.0, one_sided=False):
    """(‖∇D(x̂)‖₂ - t)² / t², x̂ = x + α(G(z) - x), α ~ U(0, 1) per example: WGAN-GP,
    Gulrajani et al. 2017 (https://arxiv.org/abs/1704.00028). `alpha` has shape
    [batch] and is drawn by the caller. `one_sided` uses max(0, ‖∇‖ - t)² instead.
    `discriminator` is a callable of the images alone (close over labels if any).

    Args:
        discriminator: a callable of images alone, [batch, H, W, C] → outputs.
        real, fake: real and generated images, [batch, H, W, C].
        alpha: the interpolation weights, [batch], U(0, 1).
        target: t, the gradient norm aimed at (1: WGAN-GP).
        one_sided: penalise only norms above t.

    Returns:
        float32 tensor [batch]: the penalty per example.
    """
    slopes = gradient_norm(discriminator, _interpolate(real, fake, alpha))
    excess = tf.nn.relu(slopes - target) if one_sided else slopes - target
    return tf.square(excess) / (target * target)


def dragan_gradient_penalty(discriminator, real, noise, alpha, scale=0.5):
    """(‖∇D(x̂)‖₂ - 1)² around the data: DRAGAN, Kodali et al. 2017
    (https://arxiv.org/abs/1705.07215). The perturbed point is
    x_p = x + `scale`·std(x)·u with u ~ U(0, 1) (`noise`, shaped like `real`),
    std over the (replica's) batch, and x̂ = x + α(x_p - x) with α ~ U(0, 1) per example.

    Args:
        discriminator: a callable of images alone.
        real: real images, [batch, H, W, C].
        noise: u ~ U(0, 1), shaped like `real`.
        alpha: the interpolation weights, [batch], U(0, 1).
        scale: the perturbation's size in units of the batch's standard deviation.

    Returns:
        float32 tensor [batch]: the penalty per example.
    """
    real = tf.convert_to_tensor(real)
    std = tf.math.reduce_std(real)
    perturbed = real + scale * std * tf.cast(noise, real.dtype)
    slopes = gradient_norm(discriminator, _interpolate(real, perturbed, alpha))
    return tf.square(slopes - 1.0)


def r1_penalty(discriminator, real):
    """‖∇ₓ D(x)‖₂² on real data: the R1 regulariser of Mescheder et al. 2018
    (https://arxiv.org/abs/1801.04406). The loss term is (γ/2)·R1.

    Args:
        discriminator: a callable of images alone.
        real: real images, [batch, H, W, C].

    Returns:
        float32 tensor [batch]: ‖∇ₓ D(x)‖₂² per example.
    """
    return squared_gradient_norm(discriminator, real)


# --- named objectives (what `DCGAN(loss=...)` and `gan-zoo study --losses` accept) ---------------
@dataclasses.dataclass(frozen=True)
class Objective:
    """A GAN objective on D's raw outputs: per-example `discriminator_loss(real_outputs, fake_outputs)` and
    `generator_loss(fake_outputs)`, or `generator_loss(fake_outputs, real_outputs)` when `generator_uses_real`
    (the relativistic losses: the generator's loss compares its images with real ones, so its step runs D
    on a real batch too); an optional discriminator `penalty(D, real, fake, uniform)` weighted by
    `penalty_weight` (`uniform(*shape)` draws U(0, 1) values of shape [batch, *shape]).

    `clip` c > 0: the critic's weights are clipped to [-c, c] after every discriminator update
    (`clip_weights`: WGAN's Lipschitz constraint, part of the objective so a recipe cannot forget it).
    `optimizer`: a factory of the optimizer the objective's paper trains both players with (called with
    the recipe's overrides, e.g. learning_rate); None: the recipe's Adam. `n_critic`: the discriminator steps
    per generator step its paper takes (a recipe's default when the user sets none)."""

    discriminator_loss: Callable
    generator_loss: Callable
    penalty: Optional[Callable] = None
    penalty_weight: float = 0.0
    generator_uses_real: bool = False
    clip: Optional[float] = None
    optimizer: Optional[Callable] = None
    n_critic: int = 1

def interpolate_gradient_penalty(discriminator, real, fake, uniform):
    """WGAN-GP's penalty at x̂ = x + α(G(z) - x), α ~ U(0, 1) per example."""
    return wasserstein_gradient_penalty(discriminator, real, fake, uniform())


def perturbed_data_gradient_penalty(discriminator, real, fake, uniform):
    """DRAGAN's penalty around the data (`fake` is not used)."""
    return dragan_gradient_penalty(discriminator, real, uniform(*real.shape[1:]), uniform())


def f_gan(name):
    """f-GAN's objective for the divergence F_DIVERGENCES[name] (Nowozin et al. 2016)."""
    divergence = F_DIVERGENCES[name]
    return Objective(functools.partial(f_gan_discriminator_loss, divergence=divergence),
                     functools.partial(f_gan_generator_loss, divergence=divergence))


def relativistic_average(kind):
    """The relativistic average objective with RELATIVISTIC_AVERAGE_TERMS[kind] (Jolicoeur-Martineau 2018)."""
    return Objective(functools.partial(relativistic_average_discriminator_loss, kind=kind),
                     functools.partial(relativistic_average_generator_loss, kind=kind), generator_uses_real=True)


# One line per loss: the five of Lucic et al. 2018 (https://arxiv.org/abs/1711.10337) that `gan-zoo study`
# compares, the original minimax game and WGAN, f-GAN's divergences and the relativistic GANs.
LOSSES = {
    "non_saturating": Objective(modified_discriminator_loss, modified_generator_loss),
    "minimax": Objective(minimax_discriminator_loss, minimax_generator_loss),
    "least_squares": Objective(least_squares_discriminator_loss, least_squares_generator_loss),
    "hinge": Objective(hinge_discriminator_loss, hinge_generator_loss),
    "wasserstein_gp": Objective(wasserstein_discriminator_loss, wasserstein_generator_loss,
                                interpolate_gradient_penalty, penalty_weight=10.0),
    "dragan": Objective(modified_discriminator_loss, modified_generator_loss,
                        perturbed_data_gradient_penalty, penalty_weight=10.0),
    # WGAN, Arjovsky et al. 2017 (https://arxiv.org/abs/1701.07875): clipping c = 0.01, RMSProp(5e-5)
    "wasserstein": Objective(wasserstein_discriminator_loss, wasserstein_generator_loss, clip=0.01, n_critic=5,
                             optimizer=functools.partial(keras.optimizers.RMSprop, learning_rate=5e-5)),
    **{f"f_{name}": f_gan(name) for name in F_DIVERGENCES},
    "relativistic": Objective(relativistic_discriminator_loss, relativistic_generator_loss, generator_uses_real=True),
    **{name: relativistic_average(kind) for name, kind in (("relativistic_average", "standard"),
                                                          ("relativistic_average_ls", "least_squares"),
                                                          ("relativistic_average_hinge", "hinge"))},
}

def objective(name):
    """The `Objective` registered in `LOSSES` under `name`.

    Args:
        name: a key of LOSSES (the registry names `DCGAN(loss=...)` and `gan-zoo study --losses` take).

    Returns:
        Objective: its discriminator and generator losses and optional penalty with its weight.
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}. Known losses: {', '.join(LOSSES)}")
    return LOSSES[name]
