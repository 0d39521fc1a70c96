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
import inspect
import math
from typing import Callable, Optional

import keras
import numpy as np
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


# --- objectives on a vector head: Sphere GAN, RealnessGAN ----------------------------------------------------
def _float32(values):
    """A head's outputs [batch, ..., units] as float32 (the head is the last axis; the others, positions)."""
    return tf.cast(tf.convert_to_tensor(values), tf.float32)


def north_pole_distance(features):
    """d_s(N, Π⁻¹(p)): the geodesic distance on the unit sphere S^n ⊂ R^{n+1} from the north pole N = (0, …, 0, 1)
    to the inverse stereographic projection Π⁻¹(p) = (2p / (‖p‖² + 1), (‖p‖² - 1) / (‖p‖² + 1)) of the
    discriminator's features p ∈ R^n: Sphere GAN's geometric block (Park & Kwon 2019, CVPR,
    https://openaccess.thecvf.com/content_CVPR_2019/papers/Park_Sphere_Generative_Adversarial_Network_Based_on_Geometric_Moment_Matching_CVPR_2019_paper.pdf;
    the paper's section and equation numbers not verified here; the formula checked against the reference code
    github.com/SWPark92/SphereGAN (apparently the first author's): model_sphere_gan.py `stereo_graphic_proj`,
    SphereGAN.py `_dist_sphere`).
    arccos⟨Π⁻¹(p), N⟩ = arccos((‖p‖² - 1) / (‖p‖² + 1)) is computed as the equal 2·atan2(1, ‖p‖) (‖p‖ = cot(d/2)),
    whose gradient stays finite where arccos's is infinite (‖p‖ → 0 or ∞, the poles) and which keeps float32's
    relative precision near the north pole, where arccos of a value rounded to 1 gives 0.

    Args:
        features: p, [batch, ..., n].

    Returns:
        float32 tensor [batch, ...]: d in [0, π].
    """
    squared_norm = tf.reduce_sum(tf.square(_float32(features)), axis=-1)
    return 2.0 * tf.atan2(1.0, tf.sqrt(tf.maximum(squared_norm, 1e-30)))  # the floor: ∇‖p‖ at p = 0 is 0, not NaN


def sphere_moments(features, moments):
    """Σ_{r=1}^{R} d_s^r(N, Π⁻¹(p)) per example (positions averaged): the moments Sphere GAN matches, R = `moments`."""
    distance = north_pole_distance(features)
    return _per_example(tf.add_n([distance ** r for r in range(1, moments + 1)]))


def sphere_discriminator_loss(real_features, fake_features, moments=3):
    """L_D = Σ_r d_s^r(N, D(G(z))) - Σ_r d_s^r(N, D(x)), r = 1..R: D maximises
    Σ_r E_x[d_s^r(N, D(x))] - Σ_r E_z[d_s^r(N, D(G(z)))], Sphere GAN's min-max objective (Park & Kwon 2019;
    its signs as in the reference code, SphereGAN.py: `eval_moments` with targets -1 for real and +1 for generated
    images): real features far from the north pole, generated ones near it. D's raw outputs are the features p;
    `north_pole_distance` projects them.

    Args:
        real_features: D's features on real images, [batch, ..., n].
        fake_features: D's features on generated images, [batch, ..., n].
        moments: R, the highest moment (3: "suggested" in the reference code, whose default is 1).

    Returns:
        float32 tensor [batch]: the loss per example (the i-th real image with the i-th generated one).
    """
    return sphere_moments(fake_features, moments) - sphere_moments(real_features, moments)


def sphere_generator_loss(fake_features, moments=3):
    """L_G = -Σ_r d_s^r(N, D(G(z))): G minimises Sphere GAN's min-max objective, whose real term does not depend
    on G (Park & Kwon 2019; the reference code's generator loss, `eval_moments` with target -1 for generated
    images): its images' features are pushed away from the
    north pole, where D puts real ones.

    Args:
        fake_features: D's features on generated images, [batch, ..., n].
        moments: R, as in `sphere_discriminator_loss`.

    Returns:
        float32 tensor [batch]: the loss per example.
    """
    return -sphere_moments(fake_features, moments)


def kl_to_outcomes(anchor, logits):
    """KL(A ‖ softmax(v)) = Σ_u A(u)·(log A(u) - log softmax(v)(u)) over the last axis (0·log 0 = 0), per example."""
    anchor = tf.cast(anchor, tf.float32)
    log_probabilities = tf.nn.log_softmax(_float32(logits), axis=-1)
    return _per_example(tf.reduce_sum(tf.math.xlogy(anchor, anchor) - anchor * log_probabilities, axis=-1))


def kl_between_outcomes(logits_p, logits_q):
    """KL(softmax(v_p) ‖ softmax(v_q)) over the last axis, per example."""
    log_p = tf.nn.log_softmax(_float32(logits_p), axis=-1)
    log_q = tf.nn.log_softmax(_float32(logits_q), axis=-1)
    return _per_example(tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1))


def realness_discriminator_loss(real_logits, fake_logits, anchors):
    """L_D = KL(A1 ‖ D(x)) + KL(A0 ‖ D(G(z))): D minimises RealnessGAN's value function
    V(G, D) = E_x[KL(A1 ‖ D(x))] + E_z[KL(A0 ‖ D(G(z)))] (Xiangli et al. 2020, https://arxiv.org/abs/2002.05512;
    the paper's text and equation numbers not verified here); D(·) = softmax of its N outcome logits, a
    distribution over N outcomes of realness. The authors' code (github.com/kam1107/RealnessGAN, training/learnD.py,
    training/loss.py `CategoricalLoss`) minimises cross-entropies -Σ_u A'(u) log D(·)(u) to *skewed* anchors A':
    A1 moved up by `positive_skew` and A0 down by `negative_skew` (1 and -1 by default and in its scripts) on a
    support of [-1, 1], their mass piled at its ends; with no skew those are these KLs plus constants (the
    anchors' entropies). The plain value function is implemented here, not that variant.

    Args:
        real_logits: D's N logits on real images, [batch, ..., N].
        fake_logits: D's N logits on generated images, [batch, ..., N].
        anchors: (A0, A1), the fake and real anchor distributions over the N outcomes.

    Returns:
        float32 tensor [batch]: the loss per example.
    """
    fake_anchor, real_anchor = anchors
    return kl_to_outcomes(real_anchor, real_logits) + kl_to_outcomes(fake_anchor, fake_logits)


def realness_generator_loss(fake_logits, real_logits, anchors):
    """L_G = KL(D(x) ‖ D(G(z))) - KL(A0 ‖ D(G(z))): the generator objective implemented here after Xiangli et al.
    2020 (https://arxiv.org/abs/2002.05512; not verified against the paper's text, nor its equation number): pull
    D's distribution on generated images towards its distribution on real ones and away from the fake anchor A0
    (the i-th generated image with the i-th real one). The authors' code (github.com/kam1107/RealnessGAN,
    training/learnG.py with `relativisticG`, its default) minimises KL(D(x) ‖ D(G(z))) alone (as the cross-entropy
    -Σ_u D(x)(u) log D(G(z))(u)), without the -KL(A0 ‖ D(G(z))) term. Kept here until checked against the paper's
    text (not available to check).

    Args:
        fake_logits: D's N logits on generated images, [batch, ..., N].
        real_logits: D's N logits on real images, [batch, ..., N].
        anchors: (A0, A1), as in `realness_discriminator_loss`.

    Returns:
        float32 tensor [batch]: the loss per example.
    """
    fake_anchor, _ = anchors
    return kl_between_outcomes(real_logits, fake_logits) - kl_to_outcomes(fake_anchor, fake_logits)


ANCHOR_RANGE = 3.0  # A0: a standard normal's mass on [-3, 3]


def realness_anchors(outcomes):
    """(A0, A1) over `outcomes` outcomes: A1 (real) uniform and A0 (fake) a standard normal's mass in `outcomes` equal
    bins over [-3, 3], renormalised: deterministic versions of the authors' anchors (their code's histograms of
    U(-1, 1) and N(0, 0.1) samples, whose bins span the samples). At 2 outcomes both are (½, ½)."""
    edges = np.linspace(-ANCHOR_RANGE, ANCHOR_RANGE, outcomes + 1)
    normal = np.diff([0.5 * (1.0 + math.erf(edge / math.sqrt(2.0))) for edge in edges])
    return [[float(mass) for mass in normal / normal.sum()], [1.0 / outcomes] * outcomes]


def _anchor_problem(fake_anchor, real_anchor):
    """What keeps (A0, A1) from being two different distributions over the same N ≥ 2 outcomes, or None."""
    if fake_anchor.ndim != 1 or fake_anchor.shape != real_anchor.shape:
        return "A0 and A1 must be lists of the same length"
    if fake_anchor.size < 2:
        return "at least 2 outcomes"
    both = np.concatenate([fake_anchor, real_anchor])
    if not np.all(np.isfinite(both)) or np.any(both < 0):
        return "entries must be finite and ≥ 0"
    if not np.allclose([fake_anchor.sum(), real_anchor.sum()], 1.0, rtol=0.0, atol=1e-6):
        return f"each must sum to 1 (sums {fake_anchor.sum():.6g}, {real_anchor.sum():.6g})"
    if np.allclose(fake_anchor, real_anchor, rtol=0.0, atol=1e-6):
        return "A0 and A1 are equal: D would have nothing to tell apart"
    return None


def check_anchors(anchors):
    """`anchors` [A0, A1] as two float32 arrays, or a ValueError saying what is wrong and what is accepted."""
    try:
        fake_anchor, real_anchor = (np.asarray(anchor, dtype=np.float64) for anchor in anchors)
        problem = _anchor_problem(fake_anchor, real_anchor)
    except (TypeError, ValueError):
        problem = "expected two lists of numbers"
    if problem:
        raise ValueError(f"`anchors` of loss 'realness' must be [A0, A1], two different distributions over the same "
                         f"N ≥ 2 outcomes: {problem}. Received: anchors={anchors!r}")
    return fake_anchor.astype(np.float32), real_anchor.astype(np.float32)


def _check_count(loss, name, value, minimum, meaning):
    """An integer setting of a loss, ≥ `minimum`, or a ValueError naming it and what it means."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` of loss {loss!r} must be an integer ≥ {minimum} ({meaning}). "
                         f"Received: {name}={value!r}")
    return value


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
HEAD_KINDS = {"scalar": "one value", "features": "a vector of features", "outcomes": "logits over outcomes"}


@dataclasses.dataclass(frozen=True)
class Head:
    """The discriminator output an objective reads per image: `kind` "scalar" (one value: a logit, a critic's value),
    "features" (p ∈ R^n, n = `units`: Sphere GAN) or "outcomes" (`units` logits of a distribution over outcomes:
    RealnessGAN). A recipe's discriminator ends in `units` outputs; it states the kinds it can give
    (`GAN.discriminator_heads`)."""

    kind: str = "scalar"
    units: int = 1

    def describe(self):
        return HEAD_KINDS[self.kind] + ("" if self.kind == "scalar" else f" ({self.units})") + " per image"


SCALAR_HEAD = Head()


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
    per generator step its paper takes (a recipe's default when the user sets none). `head`: the discriminator
    output its losses read (`Head`; one value for most). `configure(**settings)`: the objective with the user's
    settings (Sphere GAN's `features`, `moments`; RealnessGAN's `outcomes`, `anchors`), None for one without."""

    discriminator_loss: Callable
    generator_loss: Callable
    penalty: Optional[Callable] = None
    penalty_weight: float = 0.0
    generator_uses_real: bool = False
    clip: Optional[float] = None
    optimizer: Optional[Callable] = None
    n_critic: int = 1
    head: Head = SCALAR_HEAD
    configure: Optional[Callable] = None

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


def sphere(features=1024, moments=3):
    """Sphere GAN (Park & Kwon 2019): D's head is `features` values p ∈ R^n (the paper's S^1024), projected on the
    sphere S^n; moments r = 1..R, R = `moments` (the paper's 3); Adam(1e-4, β1 = 0, β2 = 0.9), the paper's."""
    _check_count("sphere", "features", features, 1, "n, the width of the discriminator's feature head")
    _check_count("sphere", "moments", moments, 1, "R: the moments r = 1..R of the distance to the north pole")
    return Objective(functools.partial(sphere_discriminator_loss, moments=moments),
                     functools.partial(sphere_generator_loss, moments=moments), head=Head("features", features),
                     optimizer=functools.partial(keras.optimizers.Adam, learning_rate=1e-4, beta_1=0.0, beta_2=0.9),
                     configure=sphere)


def realness(outcomes=None, anchors=None):
    """RealnessGAN (Xiangli et al. 2020): D's head is N = `outcomes` logits (default 10, or the anchors' length),
    `anchors` [A0, A1] the fake and real anchor distributions (default `realness_anchors(N)`)."""
    given = None if anchors is None else check_anchors(anchors)
    outcomes = (10 if given is None else len(given[0])) if outcomes is None else outcomes
    _check_count("realness", "outcomes", outcomes, 2, "N, the outcomes of the realness distribution")
    if given is None and outcomes == 2:  # a discretised normal and a uniform are both (½, ½) on 2 outcomes
        raise ValueError("`outcomes` of loss 'realness' must be ≥ 3 with the default anchors, which coincide at 2 "
                         "outcomes; or give `anchors` [A0, A1]. Received: outcomes=2")
    if given is not None and len(given[0]) != outcomes:
        raise ValueError(f"`anchors` of loss 'realness' must have `outcomes` = {outcomes} entries each. "
                         f"Received: anchors={anchors!r}")
    anchors = check_anchors(realness_anchors(outcomes)) if given is None else given
    return Objective(functools.partial(realness_discriminator_loss, anchors=anchors),
                     functools.partial(realness_generator_loss, anchors=anchors), generator_uses_real=True,
                     head=Head("outcomes", outcomes), configure=realness)


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
    # objectives on a vector head, Sphere GAN (Park & Kwon 2019) and RealnessGAN (Xiangli et al. 2020)
    "sphere": sphere(),
    "realness": realness(),
}

def objective(name, settings=None):
    """The `Objective` registered in `LOSSES` under `name`, with the loss's own `settings` if any.

    Args:
        name: a key of LOSSES (the registry names `DCGAN(loss=...)` and `gan-zoo study --losses` take).
        settings: None, or {setting: value} for a loss that takes settings (its `configure`'s arguments).

    Returns:
        Objective: its discriminator and generator losses and optional penalty with its weight.
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}. Known losses: {', '.join(LOSSES)}")
    if settings is None or settings == {}:
        return LOSSES[name]
    configure = LOSSES[name].configure
    accepted = [] if configure is None else list(inspect.signature(configure).parameters)
    if not isinstance(settings, dict) or set(settings) - set(accepted):
        takes = f"takes {', '.join(accepted)}" if accepted else "takes no settings"
        raise ValueError(f"loss {name!r} {takes} in `loss_settings` (losses with settings: "
                         f"{', '.join(loss for loss, o in LOSSES.items() if o.configure)}). Received: "
                         f"loss_settings={settings!r}")
    return configure(**settings)


def check_head(loss, head, recipe, heads):
    """A ValueError unless the discriminator of `recipe` (a name), which gives the `Head` kinds `heads`, gives the
    head `head` that loss `loss` reads."""
    if head.kind not in heads:
        refused = [name for name, o in LOSSES.items() if o.head.kind not in heads]
        raise ValueError(f"loss {loss!r} reads {head.describe()} from the discriminator; {recipe}'s discriminator "
                         f"gives {' or '.join(HEAD_KINDS[kind] for kind in heads)} per image (losses it takes: every "
                         f"one but {', '.join(refused)})")
