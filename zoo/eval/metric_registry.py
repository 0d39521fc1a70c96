"""The metrics `gan-zoo evaluate --metrics` accepts, one entry each: its name, the columns it reports
with their table labels, and the function that computes them (after StyleGAN3's `register_metric`).
Adding a metric is one decorated function here; the CLI, the evaluation and the report tables read it."""
import dataclasses
import functools

import numpy as np

from zoo.metrics import (critic, frechet, inception_score, kernel, manifold, memorization, mmd, modes, topology,
                         transport)

MAX_PAIRWISE = 10000  # k-NN metrics and 1-NN use at most this many points per set (O(n²) work)
PRDC_K = 3  # precision/recall and density/coverage: radii to the k-th nearest neighbour
KID_BLOCK_SIZE = 1024
IS_SPLITS = 10


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    columns: dict  # result key → label in report tables (↑/↓: which way is better)
    compute: object = None  # Features → {result key: value}; None: the evaluation computes it from the images
    min_samples: int = 2  # generated samples per seed it needs (a covariance or a pair; k-NN: k + 1)
    default: bool = False  # measured when --metrics is not given
    protocol: dict = None  # its parameters, for the evaluation's protocol (metric_protocols)


METRICS = {}


def register_metric(name, columns, min_samples=2, default=False, protocol=None):
    def register(compute):
        METRICS[name] = Metric(name, columns, compute, min_samples, default, protocol)
        return compute

    return register


def metric_protocols(metrics):
    """{metric: its parameters} of the named metrics that state any (the critic's budget, the transport limit, ...)."""
    return {name: METRICS[name].protocol for name in metrics if METRICS[name].protocol}


def random_subset(count, limit, seed):
    """Sorted indices of `limit` of `count` items drawn by numpy's generator seeded by `seed`
    (independent of TensorFlow's global seed); all of them when limit >= count."""
    if limit >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, limit, replace=False))


class Features:
    """What a metric reads: real (reference) and generated features, the generated images' class logits
    (None without a classifier), the reference's class distribution (None without labels), the data-copying
    test fitted on the training split and the reference (None unless a metric needs it), and seeded
    subsets of at most MAX_PAIRWISE points per set for the O(n²) metrics."""

    def __init__(self, generated, reference, seed=0, real_class_distribution=None, kid_block_size=KID_BLOCK_SIZE,
                 copying_test=None, known_modes=None):
        self.fake, self.real, self.logits = generated["features"], reference["features"], generated.get("logits")
        self.seed, self.real_class_distribution, self.kid_block_size = seed, real_class_distribution, kid_block_size
        self.copying_test = copying_test  # a memorization.CopyingTest of the training split vs the reference, or None
        self.known_modes = known_modes  # (centres [K, d], sigma) of data whose modes are known (2-D mixtures), or None

    @functools.cached_property
    def small_real(self):
        return self.real[random_subset(len(self.real), MAX_PAIRWISE, self.seed)]

    @functools.cached_property
    def small_fake(self):
        return self.fake[random_subset(len(self.fake), MAX_PAIRWISE, self.seed + 1)]

    @property
    def has_classes(self):
        return self.logits is not None and self.real_class_distribution is not None


@register_metric("fid", {"fid": "FID ↓"}, default=True)
def fid(f):
    return {"fid": frechet.fid_from_activations(f.real, f.fake)}


@register_metric("kid", {"kid": "KID ↓"}, default=True)
def kid(f):
    rng = np.random.default_rng(f.seed)  # the block estimator needs random order
    value, std = kernel.kid_from_activations(rng.permutation(f.real), rng.permutation(f.fake), f.kid_block_size)
    return {"kid": value, "kid_std": std}


@register_metric("is", {"is": "IS ↑"}, default=True)
def inception(f):
    if f.logits is None:
        return {}
    value, std = inception_score.split_scores(inception_score.classifier_score_from_logits, f.logits,
                                              min(IS_SPLITS, len(f.logits)))
    return {"is": value, "is_split_std": std}


@register_metric("mode_score", {"mode_score": "Mode score ↑"})
def mode_score(f):
    if not f.has_classes:
        return {}
    value, _ = inception_score.split_scores(  # the splits of IS, so MS ≤ IS holds (a full reference)
        lambda chunk: inception_score.mode_score_from_logits(chunk, f.real_class_distribution), f.logits,
        min(IS_SPLITS, len(f.logits)))
    return {"mode_score": value}


@register_metric("precision_recall", {"precision": "Precision ↑", "recall": "Recall ↑"}, PRDC_K + 1, default=True)
def precision_recall(f):
    precision, recall = manifold.precision_recall(f.small_real, f.small_fake, PRDC_K)
    return {"precision": precision, "recall": recall}


@register_metric("density_coverage", {"density": "Density", "coverage": "Coverage ↑"}, PRDC_K + 1, default=True)
def density_coverage(f):
    density, coverage = manifold.density_coverage(f.small_real, f.small_fake, PRDC_K)
    return {"density": density, "coverage": coverage}


@register_metric("one_nn", {"one_nn_accuracy": "1-NN acc (0.5 best)"})
def one_nn(f):
    size = min(len(f.small_real), len(f.small_fake))  # equal sets (0.5 is chance), each a seeded random draw:
    real = f.small_real[random_subset(len(f.small_real), size, f.seed + 2)]  # the first `size` of a sorted subset
    fake = f.small_fake[random_subset(len(f.small_fake), size, f.seed + 3)]  # would lean to the early indices
    return {"one_nn_accuracy": manifold.one_nn_accuracy(real, fake)}


@register_metric("mode_coverage", {"classes_covered": "Classes covered", "class_kl": "Class KL ↓",
                                   "off_class_share": "Off-class share ↓"}, default=True)
def mode_coverage(f):
    """Classes covered and the class KL over the reference's classes; the share predicted as a class the
    reference lacks only when it lacks some (zoo.metrics.modes.mode_coverage)."""
    if not f.has_classes:
        return {}
    coverage = modes.mode_coverage(np.argmax(f.logits, axis=1), f.real_class_distribution)
    return {"classes_covered": coverage["classes_covered"], "class_kl": coverage["kl_generated_to_real"],
            **({"off_class_share": coverage["off_class_share"]} if "off_class_share" in coverage else {})}


@register_metric("known_modes", {"modes_captured": "Modes captured ↑", "high_quality": "High quality ↑"},
                 default=True, protocol={"quality_sigmas": modes.QUALITY_SIGMAS, "min_share": modes.MIN_SHARE})
def known_modes(f):
    """Modes captured and the share of high-quality samples (zoo.metrics.modes.known_modes) on data whose modes
    are known (ring8, grid25: their features are the points); nothing on other data."""
    if f.known_modes is None:
        return {}
    result = modes.known_modes(f.fake, *f.known_modes)
    return {"modes_captured": result["modes_captured"], "high_quality": result["high_quality"]}


@register_metric("data_copying", {"data_copying": "Data copying C_T (≈0; <-3 copies)"}, memorization.MIN_PER_CELL)
def data_copying(f):
    """Meehan et al. 2020's C_T with the reference split as held-out data and the training split as what a
    copy would copy (zoo.metrics.memorization); needs the fitted `copying_test`."""
    if f.copying_test is None:
        return {}
    return {"data_copying": f.copying_test.score(f.fake)["c_t"]}


# Two-sample metrics of issue 34, on the seeded subsets of at most MAX_PAIRWISE points. None is measured by default:
# one call at 10k × 10k 128-d features took 47 s (kernel_mmd), 39 s (wasserstein_distance, sliced), 76 s
# (geometry_score) and 12 s (wasserstein_critic) on the shared 2-core machine (load ≈ 8), times rows × seeds per
# evaluation; and the defaults are what a preset's card evaluation recomputes.
@register_metric("kernel_mmd", {"kernel_mmd": "Kernel MMD² ↓"},
                 protocol={"kernel": "gaussian", "bandwidth": "median heuristic of the pooled sample",
                           "median_points": mmd.MEDIAN_POINTS})
def kernel_mmd(f):
    return {"kernel_mmd": mmd.kernel_mmd(f.small_real, f.small_fake, seed=f.seed)}


@register_metric("wasserstein_distance", {"wasserstein": "W₁ (exact OT) ↓",
                                          "sliced_wasserstein": f"Sliced W₁ ({transport.SLICED_PROJECTIONS} dirs) ↓"},
                 min_samples=1, protocol={"ground_cost": "euclidean", "exact_up_to_pairs": transport.EXACT_PAIRS,
                                          "beyond": "sliced", "sliced_projections": transport.SLICED_PROJECTIONS})
def wasserstein_distance(f):
    """Exact W₁ where it fits (`wasserstein`), and the sliced SW₁ (`sliced_wasserstein`) always: comparable at
    every size, never reported as W₁."""
    result = transport.wasserstein_distance(f.small_real, f.small_fake, max_pairs=transport.EXACT_PAIRS, seed=f.seed)
    sliced = result if result.method == "sliced" else transport.wasserstein_distance(
        f.small_real, f.small_fake, max_pairs=0, seed=f.seed)
    return {**({"wasserstein": result.distance} if result.method == "exact" else {}),
            "sliced_wasserstein": sliced.distance}


@register_metric("geometry_score", {"geometry_score": "Geometry score ↓"}, topology.LANDMARKS,
                 protocol={"landmarks": topology.LANDMARKS, "gamma": "N / (128 * 5000)", "i_max": topology.MAX_BETTI,
                           "repetitions": topology.REPETITIONS, "real_points": "as many as generated"})
def geometry_score(f):
    """On as many real points as generated ones (a seeded subset): γ and so the filtration's scale grow with N."""
    real = f.real[random_subset(len(f.real), len(f.small_fake), f.seed)]
    return {"geometry_score": topology.geometry_score(real, f.small_fake, topology.REPETITIONS, f.seed)}


@register_metric("wasserstein_critic", {"wasserstein_critic": "Critic W₁ (held out) ↓"}, 4,
                 protocol={**critic.budget(), "seed": "the evaluation seed"})
def wasserstein_critic(f):
    return {"wasserstein_critic": critic.wasserstein_critic(f.small_real, f.small_fake, critic.STEPS, critic.BATCH_SIZE,
                                                            critic.LEARNING_RATE, f.seed)}


# GAN-train / GAN-test train and test classifiers on the images themselves: zoo.eval.scoring.GanTrainTest.
METRICS["gan_train_test"] = Metric("gan_train_test", {"gan_test": "GAN-test ↑", "gan_train": "GAN-train ↑"})
DEFAULT_METRICS = tuple(name for name, metric in METRICS.items() if metric.default)
# Columns a task's evaluation adds (its Task.columns, registered with the task: zoo.tasks), for report tables.
TASK_COLUMNS = {}


def register_columns(columns):
    """Add {result key: table label} columns of a task's evaluation rows to the report tables."""
    for key, label in columns.items():
        if TASK_COLUMNS.get(key, label) != label or key in column_labels() and key not in TASK_COLUMNS:
            raise ValueError(f"Column {key!r} is taken (as {column_labels()[key]!r}); received {label!r}")
        TASK_COLUMNS[key] = label


def column_labels():
    """{result key: table label} of every registered metric, then the task columns, in table order."""
    return {**{column: label for metric in METRICS.values() for column, label in metric.columns.items()},
            **TASK_COLUMNS}


def compute_metrics(generated, reference, metrics, seed=0, real_class_distribution=None, kid_block_size=KID_BLOCK_SIZE,
                    copying_test=None, known_modes=None):
    """Metric values of generated features/logits against reference ones (dicts of arrays); metrics that
    need class logits (or the data-copying test, or known modes) are left out when there are none."""
    features = Features(generated, reference, seed, real_class_distribution, kid_block_size, copying_test,
                        known_modes)
    results = {}
    for name, metric in METRICS.items():  # registry order: the same report whatever order they were asked in
        if name in metrics and metric.compute is not None:
            results.update(metric.compute(features))
    return results
