"""Invariants of the metrics and losses on generated inputs (Hypothesis), where example tests are
thin (issue 18): FID(a, a) = 0 and FID ≥ 0 including rank-deficient features, KID unbiased, precision
and recall swap with their arguments, 1 ≤ IS ≤ classes, and every loss per example for any output
shape."""
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recipes import losses
from zoo.metrics import frechet, inception_score, kernel, manifold

FAST = settings(max_examples=25, deadline=None, derandomize=True,  # the same examples every run: CI cannot flake
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def feature_sets(draw, min_count=2, max_count=40):
    """[n, d] float features: a seed, sizes (n < d gives rank-deficient covariances), a scale and an
    optional number of duplicated columns (exactly collinear features)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    count, dim = draw(st.integers(min_count, max_count)), draw(st.integers(1, 12))
    features = rng.normal(size=(count, dim)) * draw(st.sampled_from([1e-3, 1.0, 50.0]))
    copies = draw(st.integers(0, dim - 1)) if dim > 1 else 0
    features[:, :copies] = features[:, -1:]  # rank-deficient by construction when copies > 0
    return features


EPS = 1e-10  # TF-GAN's: singular values below it are left unrooted in the matrix square roots


@FAST
@given(feature_sets())
def test_fid_of_a_set_with_itself_is_zero(features):
    """Up to TF-GAN's ε, which this FID keeps: an eigenvalue λ of Σ with λ² < ε (λ < 1e-5) enters
    Tr((ΣΣ)^½) as λ² instead of λ, so FID(a, a) can be up to 2·Σλ ≤ 2·d·1e-5 (found by this test:
    two points of scale 1e-4 give 6.6e-8); negligible for the evaluator's O(1) features."""
    scale = float(np.mean(features ** 2)) + 1e-12
    bound = 1e-6 * scale * features.shape[1] + 2 * features.shape[1] * np.sqrt(EPS)
    assert abs(frechet.fid_from_activations(features, features)) <= bound


@FAST
@given(feature_sets(), feature_sets())
def test_fid_is_not_negative(a, b):
    if a.shape[1] != b.shape[1]:
        b = np.resize(b, (len(b), a.shape[1]))
    scale = float(np.mean(a ** 2) + np.mean(b ** 2)) + 1e-12
    assert frechet.fid_from_activations(a, b) >= -1e-6 * scale * a.shape[1] - 2 * a.shape[1] * np.sqrt(EPS)


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_kid_is_unbiased_for_two_samples_of_one_distribution(seed, dim):
    """Unbiased MMD²: its mean over independent blocks is within 4 standard errors of 0 (a biased
    estimator, e.g. one keeping the kernel matrices' diagonals, sits ~1/n above)."""
    rng = np.random.default_rng(seed)
    real, fake = rng.normal(size=(2000, dim)), rng.normal(size=(2000, dim))
    kid, standard_error = kernel.kid_from_activations(real, fake, block_size=100)
    assert abs(kid) <= 4 * standard_error


@FAST
@given(feature_sets(min_count=5), feature_sets(min_count=5))
def test_precision_and_recall_swap_when_the_sets_swap(real, fake):
    fake = np.resize(fake, (len(fake), real.shape[1]))
    precision, recall = manifold.precision_recall(real, fake)
    assert manifold.precision_recall(fake, real) == (recall, precision)
    assert 0 <= precision <= 1 and 0 <= recall <= 1


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(1, 50), st.integers(2, 12), st.sampled_from([0.01, 1.0, 30.0]))
def test_inception_score_lies_between_one_and_the_number_of_classes(seed, count, classes, scale):
    logits = np.random.default_rng(seed).normal(size=(count, classes)) * scale
    score = inception_score.classifier_score_from_logits(logits)
    assert 1 - 1e-9 <= score <= classes + 1e-9


@FAST
@given(st.sampled_from(sorted(losses.LOSSES)), st.integers(1, 5),
       st.lists(st.integers(1, 4), min_size=0, max_size=3), st.integers(0, 2**32 - 1))
def test_every_loss_is_per_example_for_any_output_shape(name, batch, dims, seed):
    """[batch, *dims] outputs (logits, critic values, PatchGAN maps) → [batch] losses; an objective on a vector
    head (`losses.Head`: Sphere GAN's features, RealnessGAN's outcomes) reads [batch, *dims, units]."""
    rng = np.random.default_rng(seed)
    objective = losses.LOSSES[name]
    head = () if objective.head.kind == "scalar" else (objective.head.units,)
    real, fake = (tf.constant(rng.normal(size=(batch, *dims, *head)).astype(np.float32)) for _ in range(2))
    assert objective.discriminator_loss(real, fake).shape == (batch,)
    assert objective.generator_loss(fake, *[real] * objective.generator_uses_real).shape == (batch,)


@pytest.mark.parametrize("dims", [(), (3,), (2, 2, 1)])
def test_penalties_are_per_example(dims):
    critic = lambda x: tf.reduce_sum(x ** 2, axis=list(range(1, x.shape.rank)))  # noqa: E731
    real = tf.constant(np.random.default_rng(0).normal(size=(3, 4, 4, 1)).astype(np.float32))
    uniform = lambda *shape: tf.fill([3, *shape], 0.5)  # noqa: E731
    for name, objective in losses.LOSSES.items():
        if objective.penalty:
            assert objective.penalty(critic, real, real * 0.5, uniform).shape == (3,), name
