"""Mode coverage on labelled data (Srivastava et al. 2017, VEEGAN, https://arxiv.org/abs/1705.07761):
the evaluator's predicted-class histogram of generated samples, the number of classes it
covers, and KL(generated histogram ‖ real class distribution) in nats — the plainest view
of mode collapse (dropping 1 of 10 balanced classes gives log(10/9) ≈ 0.105); and on data whose modes are known
(the 2-D mixtures of zoo.data.points) the modes captured and the share of high-quality samples (`known_modes`)."""
import numpy as np

from zoo.errors import UserError
from zoo.metrics.samples import numbers


def class_histogram(predicted, num_classes):
    """Share of samples predicted as each class."""
    counts = np.bincount(np.asarray(predicted, np.int64), minlength=num_classes)
    return counts / max(1, counts.sum())


def mode_coverage(predicted, real_distribution, min_share=None):
    """Histogram over all K classes; over the classes the real data has (p*(y) > 0: all of them for a full
    reference), q the histogram of the samples predicted as one of them, the classes covered (q ≥ `min_share`,
    default a quarter of the uniform share over them) and KL(q ‖ p*) in nats.

    When the real data lacks some classes, KL(p_generated ‖ p*) is infinite as soon as one sample is predicted as
    one of those; the mass there is reported apart instead, `off_class_share` (mode invention), and q, KL and the
    coverage are over the real data's classes. With no sample in them, KL = log(1 / min p*), the largest any
    histogram over them can have."""
    real = np.asarray(real_distribution, np.float64)
    histogram = class_histogram(predicted, len(real))
    support = real > 0
    inside, reference = histogram[support], real[support]
    shares = inside / inside.sum() if inside.sum() > 0 else inside
    threshold = 0.25 / len(reference) if min_share is None else min_share
    present = shares > 0
    kl = float(np.sum(shares[present] * (np.log(shares[present]) - np.log(reference[present])))) if present.any() \
        else float(-np.log(reference.min()))
    report = {"histogram": histogram.tolist(), "classes_covered": int(np.sum(shares >= threshold)),
              "kl_generated_to_real": kl}
    if not support.all():
        report["off_class_share"] = float(histogram[~support].sum())
    return report


# Known modes (2-D mixtures, zoo.data.points): Srivastava et al. 2017's protocol on Metz et al.'s ring and their grid.
QUALITY_SIGMAS = 3.0  # a sample is high quality within 3σ of a mode
MIN_SHARE = 20 / 2500  # a mode counts with ≥ 20 of 2500 samples within 3σ (Lin et al. 2018, PacGAN, Table 1's protocol)


def known_modes(samples, centres, sigma, min_share=MIN_SHARE):
    """Mode drop and quality on a mixture with known modes (Srivastava et al. 2017, VEEGAN,
    https://arxiv.org/abs/1705.07761, section 5.1; the protocol PacGAN, https://arxiv.org/abs/1712.04086, follows):

        d_i = min_k ‖x_i − μ_k‖₂,   high quality: d_i ≤ 3σ,   n_k = #{i : high quality, nearest mode k}
        high_quality = mean_i [d_i ≤ 3σ],   modes_captured = #{k : n_k ≥ max(1, min_share · N)}

    with N samples and the default min_share = 20/2500 (20 of the protocol's 2500 samples). On ring8 and grid25
    the modes are ≥ 1.5 apart and 3σ ≤ 0.15, so a high-quality sample is within 3σ of exactly one mode.

    Args:
        samples: [N, d] generated points, N ≥ 1, finite.
        centres: [K, d] the modes μ_k.
        sigma: the components' standard deviation σ > 0.
        min_share: share of the N samples a mode needs, in [0, 1].

    Returns:
        {"modes_captured", "num_modes", "high_quality" (share in [0, 1]), "mode_counts" (n_k per mode)}.
    """
    samples, centres = _known_mode_arrays(samples, centres)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating)) or not 0 < sigma < np.inf:
        raise UserError(f"known_modes needs the modes' sigma > 0 (finite); received sigma={sigma!r}")
    if isinstance(min_share, bool) or not isinstance(min_share, (int, float, np.floating)) or not 0 <= min_share <= 1:
        raise UserError(f"known_modes needs min_share in [0, 1]; received min_share={min_share!r}")
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=-1)  # [N, K]
    good = distances.min(axis=1) <= QUALITY_SIGMAS * sigma
    counts = np.bincount(distances.argmin(axis=1)[good], minlength=len(centres))
    needed = max(1.0, min_share * len(samples))
    return {"modes_captured": int(np.sum(counts >= needed)), "num_modes": len(centres),
            "high_quality": float(good.mean()), "mode_counts": counts.tolist()}


def _known_mode_arrays(samples, centres):
    """(samples [N, d], centres [K, d]) as float64, N, K ≥ 1, one width, finite; else a one-line UserError."""
    samples, centres = numbers(samples, "known_modes", "the samples"), numbers(centres, "known_modes", "the centres")
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1] or 0 in samples.shape \
            or 0 in centres.shape:
        raise UserError(f"known_modes takes samples [N, d] and mode centres [K, d] of one width, N, K, d ≥ 1; "
                        f"received samples {list(samples.shape)} and centres {list(centres.shape)}")
    if not (np.isfinite(samples).all() and np.isfinite(centres).all()):
        raise UserError(f"known_modes: the samples or centres hold NaN or infinite values "
                        f"({int(np.sum(~np.isfinite(samples)))} of {samples.size} samples' values)")
    return samples, centres
