"""Which metric should I trust? Every registered metric (zoo.eval.metric_registry) against controlled "generators"
made of real Fashion-MNIST images, in the project evaluator's feature space (issue 34; after Xu et al. 2018, "An
empirical study on evaluation metrics of generative adversarial networks", https://arxiv.org/abs/1806.07755, whose
conclusion the survey of seed 001 quotes: MMD and the 1-NN two-sample test are the most suitable).

    python benchmarks/metric_properties.py [--samples 10000] [--seeds 3] [--metrics fid,kid,...]
                                           [--properties mode_dropping,blur,...] [--quick] [--out-dir docs]

The data (one fixed partition, seed 0):
- reference: the test split (10,000 images), as `gan-zoo evaluate` compares with;
- the "generator" draws from 50,000 training images (the pool); the other 10,000 training images are the copy
  set: what C_T (data_copying) calls the training data, and what the copying property presents as samples. The
  pool is real data the copying test never saw, so a clean draw is an honest generator of unseen images (the
  real-train baseline row of `gan-zoo evaluate`); it is the training split rather than the test split so that a
  draw of n = 10,000 from 2 classes needs no repeats (5,000 per class; 1 class repeats each image twice).

Properties; each is a list of strengths, 0 = a clean draw of n pool images:
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
- cost: seconds per call of each metric at --samples (median over every call at that size in the run).

The table gives Spearman's ρ between the strength and each metric's "badness": the value for ↓ metrics, minus the
value for ↑ ones, the distance to the ideal for 1-NN accuracy (0.5), C_T (0) and density (1, real vs real): ρ = +1
is a metric that worsens at every step, 0 one that does not see the corruption, and for robustness a small ρ (or a
small move) is good. ρ is computed per seed; cells show its mean ± std over seeds. Figures: one per property in
<out-dir>/metric_properties/. Prints tables; asserts nothing. gan_train_test (trains classifiers) and known_modes
(2-D mixtures only) are not measured.
"""
import argparse
import io
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from profile_step import machine_header  # noqa: E402

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
ROBUSTNESS = ("shift", "rotation")


# --- the data ---------------------------------------------------------------------------------------------------
class Setup:
    """The evaluator, the reference (test split) features, the training split's images and features cut into the
    generator's pool and the copy set, and the copying test fitted on the copy set against the reference."""

    def __init__(self, needs_copying_test):
        self.extractor = fashion_mnist_evaluator()
        test, _ = reference_features(self.extractor, DATASET, "test", BATCH_SIZE)
        self.train, _ = reference_features(self.extractor, DATASET, "train", BATCH_SIZE)
        self.images, self.labels = real_images(DATASET, "train", batch_size=BATCH_SIZE)
        order = np.random.default_rng(0).permutation(len(self.images))
        self.copy_set, self.pool = np.sort(order[:COPY_SET]), np.sort(order[COPY_SET:])
        self.reference = self.reference_of(test, np.ones(len(test["labels"]), bool))
        kept = ~np.isin(test["labels"], HELD_OUT_CLASSES)
        self.reference_without_held_out = self.reference_of(test, kept)
        self.copying_test = (memorization.CopyingTest(self.train["features"][self.copy_set], test["features"])
                             if needs_copying_test else None)

    def reference_of(self, test, mask):
        labels = test["labels"][mask]
        return {"features": test["features"][mask], "logits": test["logits"][mask],
                "distribution": np.bincount(labels, minlength=self.extractor.num_classes) / len(labels)}

    def cached(self, indices):
        """Features and logits of training images (their cached features: the same numbers extraction gives)."""
        return {"features": self.train["features"][indices], "logits": self.train["logits"][indices]}

    def scored(self, images):
        return extract_features(self.extractor, in_batches(images, BATCH_SIZE))

    def pool_of(self, classes):
        return self.pool[np.isin(self.labels[self.pool], classes)]


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
    noise = rng.uniform(-1, 1, (invented, *setup.images.shape[1:])).astype(np.float32)
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


# --- measuring ----------------------------------------------------------------------------------------------------
class Measurer:
    """Each metric's values for one generated set (each timed alone); failures become NaN with a note."""

    def __init__(self, setup, metrics):
        self.setup, self.metrics = setup, metrics
        self.times = {}  # (metric, n) → [seconds]
        self.notes = []

    def __call__(self, generated, reference, seed, where):
        values = {}
        for name in self.metrics:
            started = time.perf_counter()
            try:
                values.update(compute_metrics(generated, reference, [name], seed, reference["distribution"],
                                              copying_test=self.setup.copying_test))
            except Exception as error:  # a benchmark records what a metric cannot do here and goes on
                values.update(dict.fromkeys(METRICS[name].columns, float("nan")))
                self.notes.append(f"{name} at {where}: {type(error).__name__}: {str(error).splitlines()[0]}")
            self.times.setdefault((name, len(generated["features"])), []).append(time.perf_counter() - started)
        return values


def measure(setup, measurer, properties, n, seeds, sizes):
    """{property: {"strengths", "values": [seed][level] → {column: value}}} and, with sample_efficiency,
    {"sizes", "values": [seed][size]}."""
    results = {}
    for name in properties:
        if name == "cost":
            continue
        if name == "sample_efficiency":
            strengths, make = sizes, lambda setup, n, size, rng: (setup.cached(draw(setup.pool, size, rng)),
                                                                 setup.reference)
        else:
            strengths, make = PROPERTIES[name][1](n), PROPERTIES[name][2]
        values = []
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            values.append([measurer(*make(setup, n, strength, rng), seed, f"{name}={strength}, seed {seed}")
                           for strength in strengths])
            print(f"  {name}, seed {seed}: {len(strengths)} strengths done", flush=True)
        results[name] = {"strengths": strengths, "values": values}
    return results


# --- reading the results ----------------------------------------------------------------------------------------
def value_of(level, column):
    """A column's value at one strength; NaN where the metric did not report it (exact W₁ beyond its size limit)."""
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
    """|badness at the largest strength - badness clean|, averaged over seeds."""
    return float(np.mean([abs(badness(column, value_of(levels[-1], column))
                              - badness(column, value_of(levels[0], column))) for levels in result["values"]]))


def rho_cell(result, column):
    ranks = [r for r in spearman_per_seed(result, column) if np.isfinite(r)]
    if not ranks:
        return "—"
    return f"{np.mean(ranks):+.2f}" + (f" ± {np.std(ranks):.2f}" if len(ranks) > 1 else "")


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
            values = [value_of(per_seed[level], column) for per_seed in result["values"]]
            if np.all(np.isnan(values)):
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
        axis.errorbar(positions, values.mean(axis=0), yerr=values.std(axis=0), marker="o", capsize=3)
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
    parser.add_argument("--samples", type=int, default=10000, help="generated samples per evaluation")
    parser.add_argument("--seeds", type=int, default=3, help="draws (and metric seeds) per strength")
    parser.add_argument("--metrics", default=",".join(measurable), help=f"of: {', '.join(measurable)}")
    parser.add_argument("--properties", default=",".join([*PROPERTIES, *EXTRA]),
                        help=f"of: {', '.join([*PROPERTIES, *EXTRA])}")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 samples, 1 seed")
    parser.add_argument("--out-dir", default="docs", help="writes metric_properties.md and metric_properties/*.png")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.seeds = 200, 1
    args.metrics = chosen(args.metrics, measurable, "--metrics")
    args.properties = chosen(args.properties, [*PROPERTIES, *EXTRA], "--properties")
    needed = max(METRICS[name].min_samples for name in args.metrics)
    if not max(needed, SIZES[0]) <= args.samples <= POOL_SIZE:
        raise SystemExit(f"--samples must be in [{max(needed, SIZES[0])}, {POOL_SIZE}] "
                         f"(the metrics' minimum, the pool of unseen training images); received {args.samples}")
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be ≥ 1; received {args.seeds}")
    return args


def main(argv=None):
    args = parse_args(argv)
    command = "python benchmarks/metric_properties.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started = time.time()
    setup = Setup(needs_copying_test="data_copying" in args.metrics)
    measurer = Measurer(setup, args.metrics)
    sizes = [size for size in SIZES if size < args.samples] + [args.samples]
    if "cost" in args.properties and not set(args.properties) - {"cost"}:
        args.properties.append("sample_efficiency")  # cost alone: time the clean draws
    results = measure(setup, measurer, args.properties, args.samples, args.seeds, sizes)
    columns = [column for name in args.metrics for column in METRICS[name].columns
               if any(column in level for result in results.values() for level in result["values"][0])]
    metric_of = {column: name for name in args.metrics for column in METRICS[name].columns}

    figures = os.path.join(args.out_dir, "metric_properties")
    for name, result in results.items():
        xlabel = PROPERTIES[name][0] if name in PROPERTIES else "samples n (clean draws)"
        property_figure(name, result, columns, os.path.join(figures, f"{name}.png"), xlabel)
    if "cost" in args.properties:
        cost_figure(measurer.times, args.metrics, args.samples, os.path.join(figures, "cost.png"))

    sections = [
        "# Which metric should I trust? (issue 34)", "",
        "Generated by `benchmarks/metric_properties.py` (its docstring states the protocol).", "",
        "```", machine_header(), f"Command: {command}",
        f"{args.samples} samples × {args.seeds} seeds per strength; features: {setup.extractor.name}; reference: "
        f"{DATASET} test ({len(setup.reference['features'])} images); pool: {len(setup.pool)} training images; copy "
        f"set: {len(setup.copy_set)}; wall time {time.time() - started:.0f} s", "```", "",
        "Spearman ρ of each metric's badness (larger = worse) against the corruption's strength; mean ± std over "
        "seeds. +1: it worsens at every step; 0 or —: it does not see it (— : undefined, the metric never moved or "
        "failed). Robustness (shift, rotation): small is good; the percentage is the move at the largest strength as "
        "a share of the move at the strongest blur.", "",
        properties_table(results, columns, measurer.times, metric_of, args.samples)]
    if "sample_efficiency" in results:
        sections += ["", "## Sample efficiency: value (mean ± std over seeds) on clean draws", "",
                     efficiency_table(results["sample_efficiency"], columns)]
    if "cost" in args.properties:
        sections += ["", "## Cost", "", cost_table(measurer.times, args.metrics, args.samples)]
    if measurer.notes:
        sections += ["", "## Failures (recorded as NaN)", ""] + [f"- {note}" for note in measurer.notes]
    text = "\n".join(sections) + "\n"
    print("\n" + text)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "metric_properties.md"), "w") as handle:
        handle.write(text)
    print(f"wrote {os.path.join(args.out_dir, 'metric_properties.md')} and {figures}/*.png")


if __name__ == "__main__":
    main()
