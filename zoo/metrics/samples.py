"""The two feature sets a two-sample metric compares, checked once for every metric: real and generated
features as float64 [n, d] arrays of one width d, enough rows for the metric, every value finite. Bad input
is refused in one line (a UserError, which is a ValueError) naming the metric and what was received."""
import numpy as np

from zoo.errors import UserError


def numbers(values, metric, what):
    """`values` as a float64 array; a one-line UserError naming `metric` and `what` ("the generated features")
    when they are not a regular array of numbers (strings, ragged rows)."""
    try:
        return np.asarray(values, np.float64)
    except (TypeError, ValueError) as error:
        reason = str(error).splitlines()[0]
        raise UserError(f"{metric} takes arrays of numbers; {what} are not one ({reason})") from None


def feature_sets(real, fake, metric, min_samples=2):
    """(real, fake) as float64 arrays [n_real, d] and [n_fake, d], each with at least `min_samples` rows."""
    real, fake = numbers(real, metric, "the real features"), numbers(fake, metric, "the generated features")
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] == 0:
        raise UserError(f"{metric} takes two feature arrays of shape [n, d] with d ≥ 1; received real "
                        f"{list(real.shape)} and generated {list(fake.shape)}")
    if real.shape[1] != fake.shape[1]:
        raise UserError(f"{metric} compares features of one width; received real [n, {real.shape[1]}] and "
                        f"generated [n, {fake.shape[1]}]")
    if min(len(real), len(fake)) < min_samples:
        raise UserError(f"{metric} needs at least {min_samples} samples per set; received {len(real)} real and "
                        f"{len(fake)} generated")
    for name, features in (("real", real), ("generated", fake)):
        if not np.isfinite(features).all():
            raise UserError(f"{metric}: the {name} features hold NaN or infinite values "
                            f"({int(np.sum(~np.isfinite(features)))} of {features.size})")
    return real, fake
