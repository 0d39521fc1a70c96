"""Mode coverage on labelled data (Srivastava et al. 2017, VEEGAN, https://arxiv.org/abs/1705.07761):
the evaluator's predicted-class histogram of generated samples, the number of classes it
covers, and KL(generated histogram ‖ real class distribution) in nats — the plainest view
of mode collapse (dropping 1 of 10 balanced classes gives log(10/9) ≈ 0.105)."""
import numpy as np


def class_histogram(predicted, num_classes):
    """Share of samples predicted as each class."""
    counts = np.bincount(np.asarray(predicted, np.int64), minlength=num_classes)
    return counts / max(1, counts.sum())


def mode_coverage(predicted, real_distribution, min_share=None):
    """Histogram, classes covered (share ≥ `min_share`, default a quarter of the uniform
    share) and KL(p_generated ‖ p_real)."""
    real = np.asarray(real_distribution, np.float64)
    histogram = class_histogram(predicted, len(real))
    threshold = 0.25 / len(real) if min_share is None else min_share
    present = histogram > 0
    kl = float(np.sum(histogram[present] * (np.log(histogram[present]) - np.log(real[present]))))
    return {"histogram": histogram.tolist(), "classes_covered": int(np.sum(histogram >= threshold)),
            "kl_generated_to_real": kl}
