"""Which metric should I trust? Every registered metric (zoo.eval.metric_registry) against controlled "generators"
made of real Fashion-MNIST images, in the project evaluator's feature space (issue 34; after Xu et al. 2018, "An
empirical study on evaluation metrics of generative adversarial networks", https://arxiv.org/abs/1806.07755, whose
conclusion the survey of seed 001 quotes: MMD and the 1-NN two-sample test are the most suitable).

    python benchmarks/metric_properties.py [--samples 10000] [--seeds 3] [--metrics fid,kid,...]
                                           [--properties mode_dropping,blur,...] [--quick] [--out-dir docs]
                                           [--work-dir DIR [--report-only]]

Resumable: each finished cell (generated set, seed, metric → values, seconds) is appended to DIR/cells.jsonl
(one fsync-ed JSON line; DIR is locked while a run works in it), and a rerun of the same command skips the
finished cells: a run killed at any point and rerun gives the table an uninterrupted run gives. Every cell's draw
comes from its own generator (seeded by the seed, the set and the strength), so neither the order nor the
subset of cells measured changes a value. Other --metrics or --properties may be added to DIR later (one
invocation per group of slow metrics); other --samples or --seeds are refused (DIR/settings.json). The report
(table, figures) always covers every cell in DIR; `--report-only` writes it at any time, also while a run works
in DIR (a partial run gives a partial table: a ρ cell over fewer seeds says so). Without --work-dir the cells go
to a temporary directory, removed at the end.

The data (one fixed partition, seed 0):
- reference: the test split (10,000 images), as `gan-zoo evaluate` compares with;
- the "generator" draws from 50,000 training images (the pool); the other 10,000 training images are the copy
  set: what C_T (data_copying) calls the training data, and what the copying property presents as samples. The
  pool is real data the copying test never saw, so a clean draw is an honest generator of unseen images (the
  real-train baseline row of `gan-zoo evaluate`); it is the training split rather than the test split so that a
  draw of n = 10,000 from 2 classes needs no repeats (5,000 per class; 1 class repeats each image twice).

Properties; each is a list of strengths, 0 = a clean draw of n pool images (one per seed, against the full
reference: shared by the properties whose first strength it is, and by sample efficiency's n = --samples):
- mode_dropping: keep 10, 9, ..., 1 classes (n images of the kept classes); mode_collapse: k distinct images tiled to
  n, k = n, n/4, n/16, ...; mode_invention: the reference is the test images of 8 classes and a share (0-50%) of the
  samples comes from the 2 held-out classes; noise_invention: that share is uniform noise images (full reference);
- blur (Gaussian σ in pixels), noise (additive Gaussian σ on the [-1, 1] scale, clipped), jpeg (PIL, quality
  90 ... 10);
- robustness: shift (every image moved 1 or 2 pixels in one of 8 directions, background filled), rotation (±2°,
  ±5°, ±10°): a good metric barely moves; their cells also give the move at the largest strength as a share of
  the move at the strongest blur;
- copying: a share (0-100%) of the samples copied from the copy set, the rest unseen pool images;
- sample efficiency: clean draws at n = 100 ... --samples (value, spread over seeds);
- cost: seconds per call of each metric at --samples (median over every call at that size in the work dir).

The table gives Spearman's ρ between the strength and each metric's "badness": the value for ↓ metrics, minus the
value for ↑ ones, the distance to the ideal for 1-NN accuracy (0.5), C_T (0) and density (1, real vs real): ρ = +1
is a metric that worsens at every step, 0 one that does not see the corruption, and for robustness a small ρ (or a
small move) is good. ρ is computed per seed; cells show its mean ± std over seeds. Figures: one per property in
<out-dir>/metric_properties/. Prints tables; asserts nothing. gan_train_test (trains classifiers) and known_modes
(2-D mixtures only) are not measured.
"""
import argparse
import contextlib
import functools
import io
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
import warnings
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import machine_header  # noqa: E402

from zoo import files  # noqa: E402
from zoo.errors import UserError  # noqa: E402
from zoo.eval.metric_registry import METRICS, column_labels, compute_metrics  # noqa: E402
from zoo.eval.scoring import extract_features, in_batches, real_images, reference_features  # noqa: E402
from zoo.images import to_uint8  # noqa: E402
from zoo.metrics import memorization  # noqa: E402
from zoo.metrics.features import fashion_mnist_evaluator  # noqa: E402

DATASET = "fashion_mnist"
BATCH_SIZE = 500
COPY_SET = 10000  # training images C_T treats as the training data (the rest is the generator's pool)
POOL_SIZE = 60000 - COPY_SET
HELD_OUT_CLASSES = (8, 9)  # bag, ankle boot: what mode_invention adds to a reference of the other 8 classes
NOT_MEASURED = {"gan_train_test": "trains classifiers on the samples", "known_modes": "2-D mixtures only"}
IDEALS = {"one_nn_accuracy": 0.5, "data_copying": 0.0, "density": 1.0}  # badness = distance to these
HIGHER_IS_BETTER_UNMARKED = {"classes_covered"}
SIZES = (100, 200, 500, 1000, 2000, 5000, 10000)
DEFAULT_SAMPLES, DEFAULT_SEEDS = 10000, 3
ROBUSTNESS = ("shift", "rotation")


# --- the data ---------------------------------------------------------------------------------------------------
class Setup:
    """The evaluator, the reference (test split) features, the training split's features cut into the generator's
    pool and the copy set; its images and the copying test (fitted on the copy set against the reference) are
    loaded when a cell first needs them: a rerun with every cell done loads nothing."""

    def __init__(self):
        self.extractor = fashion_mnist_evaluator()

    @functools.cached_property
    def test(self):
        return reference_features(self.extractor, DATASET, "test", BATCH_SIZE)[0]

    @functools.cached_property
    def train(self):
        """Features, logits and labels of the training split (cached on disk: the numbers extraction gives)."""
        return reference_features(self.extractor, DATASET, "train", BATCH_SIZE)[0]

    @functools.cached_property
    def images(self):
        return real_images(DATASET, "train", batch_size=BATCH_SIZE)[0]

    @functools.cached_property
    def partition(self):
        order = np.random.default_rng(0).permutation(len(self.train["labels"]))
        return np.sort(order[:COPY_SET]), np.sort(order[COPY_SET:])

    @property
    def copy_set(self):
        return self.partition[0]

    @property
    def pool(self):
        return self.partition[1]

    @functools.cached_property
    def reference(self):
        return self.reference_of(np.ones(len(self.test["labels"]), bool))

    @functools.cached_property
    def reference_without_held_out(self):
        return self.reference_of(~np.isin(self.test["labels"], HELD_OUT_CLASSES))

    @functools.cached_property
    def copying_test(self):
        return memorization.CopyingTest(self.train["features"][self.copy_set], self.test["features"])

    def reference_of(self, mask):
        labels = self.test["labels"][mask]
        return {"features": self.test["features"][mask], "logits": self.test["logits"][mask],
                "distribution": np.bincount(labels, minlength=self.extractor.num_classes) / len(labels)}

    def cached(self, indices):
        """Features and logits of training images (their cached features: the same numbers extraction gives)."""
        return {"features": self.train["features"][indices], "logits": self.train["logits"][indices]}

    def scored(self, images):
        return extract_features(self.extractor, in_batches(images, BATCH_SIZE))

    def pool_of(self, classes):
        return self.pool[np.isin(self.train["labels"][self.pool], classes)]


def draw(indices, n, rng):
    """n of `indices` in random order without repeats; tiled (each repeated as evenly as possible) when fewer."""
    order = rng.permutation(indices)
    return np.resize(order, n)


def joined(*parts):
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


# --- image corruptions ([-1, 1] NHWC floats; strength 0 = unchanged) ---------------------------------------------
def blurred(images, sigma, rng):
    from scipy import ndimage

    return images if sigma == 0 else ndimage.gaussian_filter(images, (0, sigma, sigma, 0), mode="nearest")


def noisy(images, std, rng):
    return np.clip(images + std * rng.standard_normal(images.shape).astype(np.float32), -1, 1)


def jpeg(images, quality, rng):
    from PIL import Image

    if quality is None:
        return images
    out = []
    for image in to_uint8(images)[..., 0]:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        out.append(np.asarray(Image.open(buffer)))
    return (np.stack(out)[..., None].astype(np.float32) / 127.5 - 1.0)


def shifted(images, pixels, rng):
    """Each image moved `pixels` in one of the 8 directions (drawn per image); the uncovered border is background."""
    if pixels == 0:
        return images
    directions = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]) * pixels
    moves = directions[rng.integers(len(directions), size=len(images))]
    padded = np.pad(images, ((0, 0), (pixels, pixels), (pixels, pixels), (0, 0)), constant_values=-1.0)
    height, width = images.shape[1:3]
    return np.stack([padded[i, pixels - dy:pixels - dy + height, pixels - dx:pixels - dx + width]
                     for i, (dy, dx) in enumerate(moves)])


def rotated(images, degrees, rng):
    """Each image rotated by ±`degrees` (sign drawn per image), bilinear, background outside."""
    from scipy import ndimage

    if degrees == 0:
        return images
    signs = rng.choice((-1.0, 1.0), size=len(images))
    return np.stack([ndimage.rotate(image, sign * degrees, axes=(0, 1), reshape=False, order=1, cval=-1.0)
                     for image, sign in zip(images, signs)])


# --- properties: (strengths for n samples, the generated and reference sets at one strength) ----------------------
def mode_dropping(setup, n, level, rng):
    return setup.cached(draw(setup.pool_of(np.arange(10 - level)), n, rng)), setup.reference


def mode_collapse(setup, n, level, rng):
    return setup.cached(draw(draw(setup.pool, collapse_distinct(n, level), rng), n, rng)), setup.reference


def collapse_distinct(n, level):
    return max(1, round(n / 4 ** level))


def mode_invention(setup, n, share, rng):
    invented = round(share * n)
    kept = [c for c in range(10) if c not in HELD_OUT_CLASSES]
    samples = np.concatenate([draw(setup.pool_of(kept), n - invented, rng),
                              draw(setup.pool_of(HELD_OUT_CLASSES), invented, rng)])
    return setup.cached(samples), setup.reference_without_held_out


def noise_invention(setup, n, share, rng):
    invented = round(share * n)
    noise = rng.uniform(-1, 1, (invented, *setup.extractor.input_shape)).astype(np.float32)
    clean = setup.cached(draw(setup.pool, n - invented, rng))
    return (joined(clean, setup.scored(noise)) if invented else clean), setup.reference


def copying(setup, n, share, rng):
    copied = round(share * n)
    return setup.cached(np.concatenate([draw(setup.copy_set, copied, rng), draw(setup.pool, n - copied, rng)])), \
        setup.reference


def corruption(transform):
    def make(setup, n, strength, rng):
        images = setup.images[draw(setup.pool, n, rng)]
        return setup.scored(transform(images, strength, rng)), setup.reference

    return make


PROPERTIES = {  # name → (x-axis label, strengths (a function of n), make(setup, n, strength, rng))
    "mode_dropping": ("classes dropped (of 10)", lambda n: list(range(10)), mode_dropping),
    "mode_collapse": ("collapse level i: n / 4^i distinct images", lambda n: sorted(
        {i for i in range(6) if i == 0 or collapse_distinct(n, i) < collapse_distinct(n, i - 1)}), mode_collapse),
    "mode_invention": ("share from 2 classes the reference lacks", lambda n: [0, .1, .2, .3, .4, .5], mode_invention),
    "noise_invention": ("share of uniform-noise images", lambda n: [0, .1, .2, .3, .4, .5], noise_invention),
    "blur": ("Gaussian blur σ (pixels)", lambda n: [0, .5, 1, 1.5, 2], corruption(blurred)),
    "noise": ("additive Gaussian noise σ ([-1, 1] scale)", lambda n: [0, .05, .1, .2, .4], corruption(noisy)),
    "jpeg": ("JPEG quality (None: original)", lambda n: [None, 90, 70, 50, 30, 10], corruption(jpeg)),
    "shift": ("shift (pixels)", lambda n: [0, 1, 2], corruption(shifted)),
    "rotation": ("rotation (± degrees)", lambda n: [0, 2, 5, 10], corruption(rotated)),
    "copying": ("share copied from the copy set", lambda n: [0, .25, .5, .75, 1], copying),
}
EXTRA = ("sample_efficiency", "cost")  # measured on clean draws; `cost` reads every call's time at --samples
CLEAN = "clean"  # the set of a seed's clean draw of n pool images against the full reference (strength None)
SHARES_CLEAN = set(PROPERTIES) - {"mode_invention"}  # its reference lacks two classes: its clean draw is its own


# --- the generated sets: each drawn by its own generator ----------------------------------------------------------
def plan(name, n, sizes):
    """[(strength, (set, set's strength))] of a property: the generated set each strength measures, named by
    (property, strength), or (CLEAN, None) for the seed's shared clean draw of n pool images."""
    if name == "sample_efficiency":
        return [(size, (CLEAN, None) if size == n else (name, size)) for size in sizes]
    strengths = PROPERTIES[name][1](n)
    return [(strength, (CLEAN, None) if level == 0 and name in SHARES_CLEAN else (name, strength))
            for level, strength in enumerate(strengths)]


def set_rng(name, strength, seed):
    """The generator of one set's draw (and corruption): a function of the seed, the set and its strength only."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), zlib.crc32(json.dumps(strength).encode())])


def generated_set(setup, name, strength, n, seed):
    """(generated, reference) of the set `name` at `strength` for `seed` (see `plan`)."""
    rng = set_rng(name, strength, seed)
    if name in (CLEAN, "sample_efficiency"):
        return setup.cached(draw(setup.pool, n if name == CLEAN else strength, rng)), setup.reference
    return PROPERTIES[name][2](setup, n, strength, rng)


# --- measuring: one cell = (set, strength, seed, metric) ----------------------------------------------------------
def measured(setup, metric, generated, reference, seed):
    """One metric's cell: {"values", "seconds"} (the call alone timed), with "error" and NaN values when it fails."""
    copying_test = setup.copying_test if metric == "data_copying" else None  # fitted once, before the clock
    started = time.perf_counter()
    cell = {}
    try:
        cell["values"] = compute_metrics(generated, reference, [metric], seed, reference["distribution"],
                                         copying_test=copying_test)
    except Exception as error:  # a benchmark records what a metric cannot do here and goes on
        cell["values"] = dict.fromkeys(METRICS[metric].columns, float("nan"))
        cell["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    cell["seconds"] = time.perf_counter() - started
    return cell


def measure(setup, work, metrics, properties, n, seeds, sizes):
    """Measure every cell of `properties` × seeds × `metrics` that `work` lacks, appending each as it finishes;
    seed by seed, so that a partial run already covers every property."""
    done = {cell_key(cell) for cell in work.cells()}
    for seed in range(seeds):
        for name in properties:
            for _, (set_name, strength) in plan(name, n, sizes):
                missing = [metric for metric in metrics if (set_name, json.dumps(strength), seed, metric) not in done]
                if not missing:
                    continue
                generated, reference = generated_set(setup, set_name, strength, n, seed)
                for metric in missing:
                    cell = {"set": set_name, "strength": strength, "seed": seed, "metric": metric,
                            "n": len(generated["features"]), **measured(setup, metric, generated, reference, seed)}
                    work.append(cell)
                    done.add(cell_key(cell))
            print(f"  {name}, seed {seed}: done", flush=True)


def cell_key(cell):
    return cell["set"], json.dumps(cell["strength"]), cell["seed"], cell["metric"]


# --- the work directory: settings.json, cells.jsonl and sessions.jsonl --------------------------------------------
SETTINGS_FILE, CELLS_FILE, SESSIONS_FILE = "settings.json", "cells.jsonl", "sessions.jsonl"
PROTOCOL = 2  # the draws' scheme: 2 = a generator per set, clean draws shared. Bump it when the draws change


class WorkDir:
    """Finished cells kept across killed runs: lines appended and fsync-ed (a kill leaves at most a partial last
    line, which reading skips and the next run cuts off before it appends), under the settings they belong to."""

    def __init__(self, path):
        self.path = path

    def file(self, name):
        return os.path.join(self.path, name)

    def settings(self):
        """The settings.json of the cells here, or None before the first run."""
        path = self.file(SETTINGS_FILE)
        return files.read_json(path) if os.path.exists(path) else None

    def check_settings(self, settings):
        """Write settings.json on the first run; refuse other settings in one line afterwards."""
        held = self.settings()
        if held is None:
            files.write_json(self.file(SETTINGS_FILE), settings)
        elif held != settings:
            changed = ", ".join(f"{key} {held.get(key)!r} there, {settings.get(key)!r} here"
                                for key in sorted(set(held) | set(settings)) if held.get(key) != settings.get(key))
            raise UserError(f"--work-dir {self.path} holds cells of other settings ({changed}); rerun with its "
                            "--samples and --seeds (other --metrics or --properties are fine), or choose another "
                            "--work-dir")

    def cells(self):
        return read_lines(self.file(CELLS_FILE))

    def sessions(self):
        return read_lines(self.file(SESSIONS_FILE))

    def start_session(self, command):
        """Record a measuring session (cut what killed writers left first); returns the function appending cells."""
        for name in (CELLS_FILE, SESSIONS_FILE):
            cut_partial_line(self.file(name))
        session = time.time()
        append_line(self.file(SESSIONS_FILE), {"session": session, "command": command})
        self.append = lambda cell: append_line(self.file(CELLS_FILE), {**cell, "session": session, "at": time.time()})


def append_line(path, record):
    """Append `record` as one JSON line, flushed and fsync-ed before returning."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_lines(path):
    """The records of a JSON-lines file; what follows its last newline (a kill mid-append) is not a record yet."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().split("\n")[:-1]
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise UserError(f"{path} line {number} is not JSON ({error.msg}): the file was edited or damaged; remove "
                            "that line (its cell is measured again)") from None
    return records


def cut_partial_line(path):
    """Remove a partial last line (a writer killed mid-append), so that the next line starts on its own."""
    if not os.path.exists(path):
        return
    with open(path, "rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)
            handle.flush()
            os.fsync(handle.fileno())


# --- reading the results ----------------------------------------------------------------------------------------
def results_of(cells, n, seeds, sizes):
    """{property: {"strengths", "values": [seed][level] → {column: value}}} of every property (and sample
    efficiency) that has a cell of its own (not only the shared clean draw); a cell not measured yet is missing."""
    values = {}
    for cell in cells:
        values.setdefault((cell["set"], json.dumps(cell["strength"]), cell["seed"]), {}).update(cell["values"])
    results = {}
    for name in [*PROPERTIES, "sample_efficiency"]:
        entries = plan(name, n, sizes)
        if any(key[0] == name for key in values):
            results[name] = {"strengths": [strength for strength, _ in entries],
                             "values": [[values.get((set_name, json.dumps(strength), seed), {})
                                         for _, (set_name, strength) in entries] for seed in range(seeds)]}
    return results


def times_of(cells):
    """{(metric, n): [seconds of each call]}."""
    times = {}
    for cell in cells:
        times.setdefault((cell["metric"], cell["n"]), []).append(cell["seconds"])
    return times


def finite_mean(values, axis=None):
    """The mean of the finite values (NaN where there is none: a cell not measured or failed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice"
        return np.nanmean(np.asarray(values, np.float64), axis=axis)


def finite_std(values, axis=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(np.asarray(values, np.float64), axis=axis)


def value_of(level, column):
    """A column's value at one strength; NaN where the metric did not report it (exact W₁ beyond its size limit)
    or the cell is not measured yet."""
    return level.get(column, float("nan"))


def badness(column, value):
    """The value turned so that larger is worse (see the module docstring)."""
    label = column_labels()[column]
    if column in IDEALS:
        return abs(value - IDEALS[column])
    if "↓" in label:
        return value
    if "↑" in label or column in HIGHER_IS_BETTER_UNMARKED:
        return -value
    raise ValueError(f"no direction known for the column {column!r} ({label!r}): add it to IDEALS or the arrows")


def spearman_per_seed(result, column):
    from scipy import stats

    ranks = []
    for per_level in result["values"]:
        values = [badness(column, value_of(level, column)) for level in per_level]
        if np.any(np.isnan(values)) or len(set(values)) == 1:
            ranks.append(float("nan"))  # undefined: a NaN, or a metric that never moved
        else:
            ranks.append(stats.spearmanr(np.arange(len(values)), values).statistic)
    return ranks


def move(result, column):
    """|badness at the largest strength - badness clean|, averaged over the seeds that have both."""
    return float(finite_mean([abs(badness(column, value_of(levels[-1], column))
                                  - badness(column, value_of(levels[0], column))) for levels in result["values"]]))


def rho_cell(result, column):
    """Mean ± std of ρ over the seeds where it is defined; "(k/S seeds)" when that is not every seed."""
    ranks = [r for r in spearman_per_seed(result, column) if np.isfinite(r)]
    if not ranks:
        return "—"
    seeds = len(result["values"])
    return (f"{np.mean(ranks):+.2f}" + (f" ± {np.std(ranks):.2f}" if len(ranks) > 1 else "")
            + (f" ({len(ranks)}/{seeds} seeds)" if len(ranks) < seeds else ""))


def properties_table(results, columns, times, metric_of, n):
    names = [name for name in PROPERTIES if name in results]
    labels = column_labels()
    lines = ["| metric | " + " | ".join(names) + f" | s per call (n = {n}) |",
             "|---|" + "---:|" * (len(names) + 1)]
    for column in columns:
        cells = []
        for name in names:
            cell = rho_cell(results[name], column)
            blur = move(results["blur"], column) if name in ROBUSTNESS and "blur" in results else float("nan")
            if blur > 0 and np.isfinite(move(results[name], column)):  # NaN compares False
                cell += f" ({100 * move(results[name], column) / blur:.0f}% of blur)"
            cells.append(cell)
        seconds = times.get((metric_of[column], n))
        cells.append(f"{statistics.median(seconds):.2f}" if seconds else "")
        lines.append(f"| {labels[column]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def efficiency_table(result, columns):
    labels = column_labels()
    lines = ["| metric | " + " | ".join(f"n = {size}" for size in result["strengths"]) + " |",
             "|---|" + "---:|" * len(result["strengths"])]
    for column in columns:
        cells = []
        for level in range(len(result["strengths"])):
            values = [value for per_seed in result["values"] if np.isfinite(value := value_of(per_seed[level], column))]
            if not values:
                cells.append("")
                continue
            cells.append(f"{np.mean(values):.4g}" + (f" ± {np.std(values):.2g}" if len(values) > 1 else ""))
        lines.append(f"| {labels[column]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost_table(times, metrics, n):
    lines = [f"| metric | median s per call at n = {n} | calls |", "|---|---:|---:|"]
    for name in metrics:
        seconds = times.get((name, n), [])
        lines.append(f"| {name} | {statistics.median(seconds):.2f} | {len(seconds)} |" if seconds else
                     f"| {name} | | 0 |")
    return "\n".join(lines)


# --- figures ------------------------------------------------------------------------------------------------------
def property_figure(name, result, columns, path, xlabel):
    from zoo.plots import pyplot, save_figure

    plt = pyplot()
    labels = column_labels()
    width = 4
    rows = -(-len(columns) // width)
    figure, axes = plt.subplots(rows, width, figsize=(3.2 * width, 2.6 * rows), squeeze=False)
    strengths = result["strengths"]
    positions = np.arange(len(strengths))
    for axis, column in zip(axes.flat, columns):
        values = np.array([[value_of(level, column) for level in per_seed] for per_seed in result["values"]])
        axis.errorbar(positions, finite_mean(values, axis=0), yerr=finite_std(values, axis=0), marker="o", capsize=3)
        axis.set_xticks(positions, [str(s) for s in strengths], fontsize=7)
        axis.set_title(labels[column], fontsize=9)
        axis.grid(alpha=0.3)
        if name == "sample_efficiency":
            axis.set_xlabel("n", fontsize=8)
    for axis in list(axes.flat)[len(columns):]:
        axis.set_visible(False)
    figure.suptitle(f"{name}: {xlabel} (mean ± std over {len(result['values'])} seeds)", fontsize=10)
    save_figure(figure, path)


def cost_figure(times, metrics, n, path):
    from zoo.plots import pyplot, save_figure

    plt = pyplot()
    measured = [name for name in metrics if times.get((name, n))]
    figure, axis = plt.subplots(figsize=(7, 0.35 * len(measured) + 1))
    axis.barh(measured, [statistics.median(times[(name, n)]) for name in measured])
    axis.set_xscale("log")
    axis.set_xlabel(f"seconds per call at n = {n} (median)")
    axis.invert_yaxis()
    save_figure(figure, path)


# --- main -------------------------------------------------------------------------------------------------------
def chosen(value, accepted, option):
    names = [name for name in value.split(",") if name]
    for name in set(names) & set(NOT_MEASURED):
        raise SystemExit(f"{option}: {name} is not measured here ({NOT_MEASURED[name]}); accepted: "
                         f"{', '.join(accepted)}")
    unknown = [name for name in names if name not in accepted]
    if not names or unknown:
        raise SystemExit(f"{option}: unknown {unknown or 'empty list'}; accepted: {', '.join(accepted)}")
    return names


def parse_args(argv=None):
    measurable = [name for name in METRICS if name not in NOT_MEASURED]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, help="generated samples per evaluation (default: --work-dir's, else "
                        f"{DEFAULT_SAMPLES})")
    parser.add_argument("--seeds", type=int, help=f"draws (and metric seeds) per strength (default: --work-dir's, "
                        f"else {DEFAULT_SEEDS})")
    parser.add_argument("--metrics", default=",".join(measurable), help=f"of: {', '.join(measurable)}")
    parser.add_argument("--properties", default=",".join([*PROPERTIES, *EXTRA]),
                        help=f"of: {', '.join([*PROPERTIES, *EXTRA])}")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 samples, 1 seed")
    parser.add_argument("--out-dir", default="docs", help="writes metric_properties.md and metric_properties/*.png")
    parser.add_argument("--work-dir", help="keeps the finished cells: a rerun of the same command resumes (default: "
                        "a temporary directory, removed at the end)")
    parser.add_argument("--report-only", action="store_true", help="measure nothing: write the table and figures "
                        "of --work-dir's cells (also while a run works there)")
    args = parser.parse_args(argv)
    held = WorkDir(args.work_dir).settings() if args.work_dir else None
    if args.report_only and held is None:
        raise SystemExit(f"--report-only reads the cells of a --work-dir; {args.work_dir or 'no --work-dir'} holds "
                         "none (no settings.json): pass the --work-dir of a run")
    if args.quick:
        args.samples, args.seeds = 200, 1
    args.samples = (held or {}).get("samples", DEFAULT_SAMPLES) if args.samples is None else args.samples
    args.seeds = (held or {}).get("seeds", DEFAULT_SEEDS) if args.seeds is None else args.seeds
    args.metrics = chosen(args.metrics, measurable, "--metrics")
    args.properties = chosen(args.properties, [*PROPERTIES, *EXTRA], "--properties")
    needed = max(METRICS[name].min_samples for name in args.metrics)
    if not max(needed, SIZES[0]) <= args.samples <= POOL_SIZE:
        raise SystemExit(f"--samples must be in [{max(needed, SIZES[0])}, {POOL_SIZE}] "
                         f"(the metrics' minimum, the pool of unseen training images); received {args.samples}")
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be ≥ 1; received {args.seeds}")
    if "cost" in args.properties and not set(args.properties) - {"cost"}:
        args.properties.append("sample_efficiency")  # cost alone: time the clean draws
    args.properties = [name for name in args.properties if name != "cost"]  # the report always gives the cost
    return args


def sizes_of(samples):
    return [size for size in SIZES if size < samples] + [samples]


@contextlib.contextmanager
def work_directory(path):
    """The WorkDir at `path`, locked while the block runs; a temporary one (removed afterwards) when None."""
    with contextlib.ExitStack() as stack:
        path = path or stack.enter_context(tempfile.TemporaryDirectory(prefix="metric_properties_"))
        stack.enter_context(files.locked_directory(path, flag="--work-dir"))
        yield WorkDir(path)


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "benchmarks/metric_properties.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        if args.report_only:
            work = WorkDir(args.work_dir)
            work.check_settings({**work.settings(), "samples": args.samples, "seeds": args.seeds})
            return write_report(work, args.out_dir)
        with work_directory(args.work_dir) as work:
            setup = Setup()
            work.check_settings({"protocol": PROTOCOL, "samples": args.samples, "seeds": args.seeds,
                                 "features": f"{setup.extractor.name} {setup.extractor.sha256}"})
            work.start_session(command)
            measure(setup, work, args.metrics, args.properties, args.samples, args.seeds, sizes_of(args.samples))
            return write_report(work, args.out_dir)
    except UserError as error:
        raise SystemExit(f"metric_properties.py: error: {error}") from None


def write_report(work, out_dir):
    """The table (out_dir/metric_properties.md, printed too) and figures (out_dir/metric_properties/) of every cell
    in `work`; returns the table's text."""
    settings, cells, sessions = work.settings(), work.cells(), work.sessions()
    n, seeds = settings["samples"], settings["seeds"]
    results, times = results_of(cells, n, seeds, sizes_of(n)), times_of(cells)
    metrics = [name for name in METRICS if any(cell["metric"] == name for cell in cells)]
    columns = [column for name in metrics for column in METRICS[name].columns
               if any(column in cell["values"] for cell in cells)]
    metric_of = {column: name for name in metrics for column in METRICS[name].columns}

    figures = os.path.join(out_dir, "metric_properties")
    for name, result in results.items():
        xlabel = PROPERTIES[name][0] if name in PROPERTIES else "samples n (clean draws)"
        property_figure(name, result, columns, os.path.join(figures, f"{name}.png"), xlabel)
    if times:
        cost_figure(times, metrics, n, os.path.join(figures, "cost.png"))

    last = {}
    for cell in cells:
        last[cell["session"]] = max(last.get(cell["session"], cell["at"]), cell["at"])
    wall = sum(last.get(session["session"], session["session"]) - session["session"] for session in sessions)
    commands = list(dict.fromkeys(session["command"] for session in sessions))
    sections = [
        "# Which metric should I trust? (issue 34)", "",
        "Generated by `benchmarks/metric_properties.py` (its docstring states the protocol).", "",
        "```", machine_header(), *(f"Command: {command}" for command in commands),
        f"{n} samples × {seeds} seeds per strength; features: {settings['features']}; reference: {DATASET} test "
        f"(10000 images); pool: {POOL_SIZE} training images; copy set: {COPY_SET}; {len(cells)} cells measured in "
        f"{len(sessions)} session(s), wall time {wall:.0f} s (each session to its last cell)", "```", "",
        "Spearman ρ of each metric's badness (larger = worse) against the corruption's strength; mean ± std over "
        "seeds. +1: it worsens at every step; 0 or —: it does not see it (— : undefined, the metric never moved or "
        "failed). Robustness (shift, rotation): small is good; the percentage is the move at the largest strength as "
        "a share of the move at the strongest blur.", "",
        properties_table(results, columns, times, metric_of, n)]
    if "sample_efficiency" in results:
        sections += ["", "## Sample efficiency: value (mean ± std over seeds) on clean draws", "",
                     efficiency_table(results["sample_efficiency"], columns)]
    sections += ["", "## Cost", "", cost_table(times, metrics, n)]
    failures = [f"- {cell['metric']} at {cell['set']}={cell['strength']}, seed {cell['seed']}: {cell['error']}"
                for cell in cells if "error" in cell]
    if failures:
        sections += ["", "## Failures (recorded as NaN)", ""] + failures
    text = "\n".join(sections) + "\n"
    print("\n" + text)
    os.makedirs(out_dir, exist_ok=True)
    files.write_atomically(os.path.join(out_dir, "metric_properties.md"), text)
    print(f"wrote {os.path.join(out_dir, 'metric_properties.md')} and {figures}/*.png")
    return text


if __name__ == "__main__":
    main()
