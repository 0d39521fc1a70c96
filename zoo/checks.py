"""Checks of values users pass (counts, seeds, class ids, truncation ψ): a one-line UserError saying what was
wrong and what is accepted, never a silent truncation or a NaN carried into images."""
import math

import numpy as np

from zoo.errors import UserError

MAX_TRUNCATION = 2.0  # ψ in [0, 1] trades variety for quality (0: the mean image w̄); ψ in (1, 2] extrapolates past the
# generator's own w, as StyleGAN's figures do; beyond that, or below 0, w leaves the region the synthesis network saw


def whole_number(name, value, minimum, maximum=None):
    """`value` as an int in [minimum, maximum]; bools, floats, strings and None are refused (no silent
    truncation)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum \
            or (maximum is not None and value > maximum):
        bound = f"≥ {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise UserError(f"{name} must be an integer {bound}; received {value!r}")
    return int(value)


def integers_in(values, low, high, accepted):
    """`values` (one integer or a 1-D sequence) as a 1-D int64 array, each in [low, high]; anything else
    (floats, strings, nesting, empty, out of range) is refused with `accepted`, never truncated."""
    array = np.asarray(values)
    if array.ndim > 1 or array.size == 0 or array.dtype.kind not in "iu":
        raise UserError(f"{accepted}; received {values!r}")
    if array.min() < low or array.max() > high:
        raise UserError(f"{accepted}; received {np.atleast_1d(array).tolist()}")
    return np.atleast_1d(array).astype(np.int64)


def checked_seeds(seeds):
    """The user's seeds as int64: one or a 1-D sequence of integers in [0, 2**63)."""
    from recipes.latents import MAX_SEED  # here: the other checks stay free of TensorFlow (configs, the CLI)

    return integers_in(seeds, 0, MAX_SEED, "seeds must be integers in [0, 2**63), one or a 1-D list")


def real_number(value):
    """Whether `value` is a real number (Python's or NumPy's int or float; bools, strings and arrays are not)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def checked_truncation(truncation):
    """Truncation ψ as a float: a finite number in [0, MAX_TRUNCATION] (NaN, ±inf and 1e38 would make
    images of NaN, drawn black)."""
    if not real_number(truncation) or not math.isfinite(truncation) or not 0 <= truncation <= MAX_TRUNCATION:
        raise UserError(f"truncation ψ must be a number in [0, {MAX_TRUNCATION:g}] (1: none, 0: the mean image); "
                        f"received {truncation!r}")
    return float(truncation)


def image_size(value):
    """None, an int or (height, width) → None or (height, width) of positive ints; 28.5, "28", True refused."""
    if value is None:
        return None
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 \
            or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) for v in pair):
        raise UserError(f"image_size={value!r} is invalid; pass an int or (height, width)")
    if min(pair) <= 0:
        raise UserError(f"image_size={value!r} is invalid; height and width must be positive")
    return int(pair[0]), int(pair[1])
