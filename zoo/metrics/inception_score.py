"""Inception Score (Salimans et al. 2016, https://arxiv.org/abs/1606.03498) and Mode
Score (Che et al. 2017, https://arxiv.org/abs/1612.02136) from classifier logits.

    IS = exp(E_x KL(p(y|x) ‖ p(y))),  p(y) = E_x p(y|x)                 (TF-GAN's definition)
    MS = exp(E_x KL(p(y|x) ‖ p(y)) - KL(p(y) ‖ p*(y))) = IS · exp(-KL(p(y) ‖ p*)),
         p* the real data's class distribution (with p* in the first KL instead, as some
         write it, the two terms cancel to log IS exactly)

computed in float64 with log p(y|x) = log_softmax(logits). With `splits` > 1 the logits
are cut into that many contiguous chunks (Salimans et al. use 10) and the mean and
standard deviation of the per-chunk scores are reported.
"""
import numpy as np


def log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _mean_kl_to(log_p, log_q):
    """E_x Σ_y p(y|x) (log p(y|x) - log q(y))."""
    return float(np.mean(np.sum(np.exp(log_p) * (log_p - log_q[None, :]), axis=1)))


def classifier_score_from_logits(logits):
    """exp(E_x KL(p(y|x) ‖ p(y))): TF-GAN's `classifier_score_from_logits`."""
    log_p = log_softmax(logits)
    marginal = np.exp(log_p).mean(axis=0)
    return float(np.exp(_mean_kl_to(log_p, np.log(marginal))))


def mode_score_from_logits(logits, real_class_distribution):
    """exp(E_x KL(p(y|x) ‖ p(y)) - KL(p(y) ‖ p*)): IS penalised by the class-marginal mismatch. Over the classes
    the real data has (p*(y) > 0): when it lacks some, p(y|x) is the classifier's posterior given y is one of
    them (the softmax of their logits), as KL(p(y) ‖ p*) would be infinite (a softmax is never 0) and MS 0 for
    any generator; the generated share of the missing classes is mode_coverage's `off_class_share`."""
    reference = np.asarray(real_class_distribution, np.float64)
    support = reference > 0
    log_p = log_softmax(np.asarray(logits, np.float64)[:, support])
    marginal = np.exp(log_p).mean(axis=0)
    reference = reference[support]
    marginal_kl = float(np.sum(marginal * (np.log(marginal) - np.log(reference))))
    return float(np.exp(_mean_kl_to(log_p, np.log(marginal)) - marginal_kl))


def split_scores(score_fn, logits, splits):
    """(mean, std) of score_fn over `splits` contiguous chunks of the logits."""
    logits = np.asarray(logits)
    if not 1 <= splits <= len(logits):
        raise ValueError(f"`splits` must be in [1, {len(logits)}]. Received: splits={splits}")
    scores = [score_fn(chunk) for chunk in np.array_split(logits, splits)]
    return float(np.mean(scores)), float(np.std(scores))
