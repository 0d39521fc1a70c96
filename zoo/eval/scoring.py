"""Evaluate a generator against real data with a recorded protocol.

Protocol: `num_samples` generated images per sampling seed, `seeds` seeds (mean ± std
over seeds), the reference split's features (cached on disk with a checksum), one
feature extractor (named in every metric), and real-data baselines: the same metrics
for real train images vs the reference split (the ceiling) and, where the recipe is
known, for an untrained generator of the same architecture (the floor).
"""
import os
import platform
import time

import numpy as np

from recipes import latents
from zoo import checks, files
from zoo.checks import whole_number
from zoo.data import datasets, points, record
from zoo.errors import UserError
from zoo.eval.metric_registry import (DEFAULT_METRICS, IS_SPLITS, KID_BLOCK_SIZE, MAX_PAIRWISE, METRICS,
                                     PRDC_K, column_labels, compute_metrics, metric_protocols, random_subset)
from zoo.metrics import classification, memorization
from zoo.sampling import balanced_labels


# --- features of image streams ---------------------------------------------------------
def extract_features(extractor, batches):
    """Run the extractor over an iterable of image batches; concatenate its outputs."""
    parts = {}
    for images in batches:
        for key, value in extractor(images).items():
            parts.setdefault(key, []).append(value.astype(np.float32))
    if not parts:
        raise UserError("No images to evaluate (the image stream was empty)")
    return {key: np.concatenate(values) for key, values in parts.items()}


def real_images(dataset, split, data_dir=None, image_size=None, batch_size=1000, *, channels=None, crop="none"):
    """All images (float [-1, 1]) and labels (or None) of a real split, as numpy arrays (`image_size`,
    `channels`, `crop`: as datasets.load takes them; a DataRecord's `load_options` give a generator's)."""

    whole_number("--batch-size", batch_size, 1)  # every evaluation reads real images or features here
    if dataset in points.MIXTURES:  # a mixture's train split is an endless stream: a fixed draw stands for it
        return points.reference_points(dataset, split).reshape((-1, *points.POINT_SHAPE)), None
    data = datasets.load(dataset, split, data_dir=data_dir, image_size=image_size, channels=channels, crop=crop,
                         batch_size=batch_size, drop_remainder=False)
    batches = [batch if isinstance(batch, tuple) else (batch, None) for batch in data]
    images = np.concatenate([np.asarray(image) for image, _ in batches])
    labels = None if batches[0][1] is None else np.concatenate([np.asarray(label) for _, label in batches])
    return images, labels


def in_batches(array, batch_size):
    return (array[start : start + batch_size] for start in range(0, len(array), batch_size))


class Progress:
    """Images scored so far out of `total`: `over(batches)` yields them and calls `callback(done, total)` after
    each (a CLI's progress line; None: nothing is reported)."""

    def __init__(self, callback, total):
        self.callback, self.total, self.done = callback, total, 0

    def over(self, batches):
        for images in batches:
            yield images
            self.done += len(images)
            if self.callback is not None:
                self.callback(self.done, self.total)


def generated_batches(sample_fn, num_samples, batch_size):
    """Chunks of `sample_fn(start, count)` so memory does not grow with num_samples."""
    for start in range(0, num_samples, batch_size):
        yield sample_fn(start, min(batch_size, num_samples - start))


# --- reference cache ---------------------------------------------------------------------
def data_source_key(dataset, data_dir=None):
    """The cache's name for the data: a registered dataset from its default place is its name; data in a
    directory (a folder dataset, or `data_dir`) also carries a digest of that directory's path and of its
    files' names, sizes and modification times, so other or changed data never reads a stale cache."""
    directories = [path for path in (dataset, data_dir) if path and os.path.isdir(path)]
    if not directories:
        return dataset
    listing = []
    for directory in directories:
        for root, _, names in sorted(os.walk(os.path.realpath(directory))):
            for name in sorted(names):
                stat = os.stat(os.path.join(root, name))
                listing.append(f"{os.path.join(root, name)}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = files.sha256_of_bytes("\n".join(listing).encode(errors="surrogateescape"))[:16]  # any file name
    return f"{os.path.basename(os.path.normpath(dataset))}-{digest}"


def reference_features(extractor, dataset, split, batch_size, data_dir=None, image_size=None, cache_dir=None, *,
                       channels=None, crop="none"):
    """Features (+ logits, labels) of a whole real split, cached as .npz with its sha256 (`files.cached_arrays`:
    a cache whose checksum does not match is recomputed; a study's parallel runs compute it once)."""
    whole_number("--batch-size", batch_size, 1)  # every evaluation reads real images or features here
    datasets.check_data_dir(data_dir)  # also when the features are cached: a wrong --data-dir is never ignored
    size = "x".join(map(str, checks.image_size(image_size) or ())) or "native"
    key = f"{extractor.name}-{(extractor.sha256 or 'nohash')[:16]}-{data_source_key(dataset, data_dir)}-{split}-" \
          f"{size}" + ("" if crop == "none" else f"-{crop}") + (f"-{channels}ch" if channels else "")
    name = key + ".npz"
    path = os.path.join(cache_dir, "reference", name) if cache_dir else files.cache_path("reference", name)

    def compute():
        images, labels = real_images(dataset, split, data_dir, image_size, batch_size, channels=channels, crop=crop)
        result = extract_features(extractor, in_batches(images, batch_size))
        return result if labels is None else {**result, "labels": labels}

    result, cached = files.cached_arrays(path, compute)
    return result, {"cache": path, "cached": cached}


def summarize(per_seed):
    """{metric: {"mean", "std", "values"}} over a list of per-seed result dicts."""
    summary = {}
    for name in per_seed[0]:
        values = [float(result[name]) for result in per_seed]
        summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}
    return summary


def check_sample_counts(metrics, num_samples, seeds):
    """Enough samples for every requested metric: a k-NN metric needs each point's k-th nearest other
    point (k + 1 points), the rest a covariance or a pair (2)."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UserError(f"--seeds must be an integer ≥ 1; received {seeds!r}")
    needed = {metric: METRICS[metric].min_samples for metric in metrics}
    metric = max(needed, key=needed.get)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < needed[metric]:
        raise UserError(f"--num-samples {num_samples!r} is too few for {metric}: it needs at least {needed[metric]}"
                        + (f" (the k-th nearest neighbour, k = {PRDC_K})" if needed[metric] == PRDC_K + 1 else "")
                        + "; pass a larger --num-samples or leave the metric out of --metrics")


def check_metrics(metrics):
    if not metrics:
        raise UserError(f"--metrics names no metric; accepted: {', '.join(METRICS)}")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise UserError(f"Unknown metric(s) {unknown}; accepted: {', '.join(METRICS)}")
    return tuple(metrics)


class GanTrainTest:
    """GAN-train / GAN-test for a conditional generator (zoo.metrics.classification): the
    real reference split's images and labels are the test set."""

    def __init__(self, extractor, reference_images, reference_labels, steps):
        if extractor.builder is None:
            raise UserError(f"gan_train_test needs a classifier architecture to train; {extractor.name} has none "
                            "(use --features fashion_mnist_evaluator)")
        self.extractor, self.images, self.labels, self.steps = extractor, reference_images, reference_labels, steps

    def __call__(self, images, labels, logits, seed):
        return {"gan_test": classification.accuracy_from_logits(logits, labels),
                "gan_train": classification.trained_accuracy(self.extractor.builder, images, labels, self.images,
                                                             self.labels, self.steps, seed)}


def evaluate(sample_fns, extractor, *, dataset="fashion_mnist", reference="test", num_samples=10000, seeds=3,
             batch_size=500, metrics=DEFAULT_METRICS, data_dir=None, image_size=None, cache_dir=None,
             baselines=True, num_classes=None, gan_train_steps=600, progress=None, channels=None, crop="none"):
    """Evaluate generators given as {label: sample_fn(seed) -> (start, count) -> images}.

    Every generator is sampled with seeds 0..seeds-1. With `baselines`, real train images
    (a seeded random subset of the same size per seed) are evaluated the same way.
    `num_classes` marks conditional generators (labels from `balanced_labels`); GAN-train
    classifiers train for `gan_train_steps` steps of batch 128. `progress(done, total)` is called after each
    batch of images scored. Real images are `dataset`'s, loaded with `image_size`, `channels` and `crop` (a
    DataRecord's `load_options`: in the frame its generator's samples are scored in)."""
    metrics = check_metrics(metrics)
    check_sample_counts(metrics, num_samples, seeds)
    if "gan_train_test" in metrics:
        whole_number("--gan-train-steps", gan_train_steps, 1)
    started = time.time()
    real = {"channels": channels, "crop": crop}
    ref, cache = reference_features(extractor, dataset, reference, batch_size, data_dir, image_size, cache_dir, **real)
    distribution = None
    if "labels" in ref and extractor.num_classes:
        distribution = np.bincount(ref["labels"], minlength=extractor.num_classes) / len(ref["labels"])
    copying_test = None  # the training split's cells and the reference's distances to it, fitted once
    if "data_copying" in metrics:
        train, _ = reference_features(extractor, dataset, "train", batch_size, data_dir, image_size, cache_dir, **real)
        copying_test = memorization.CopyingTest(train["features"], ref["features"])
    gan_train_test = None
    if "gan_train_test" in metrics and num_classes:
        gan_train_test = GanTrainTest(extractor, *real_images(dataset, reference, data_dir, image_size, batch_size,
                                                              **real), gan_train_steps)
    scored = Progress(progress, (len(sample_fns) + bool(baselines)) * seeds * num_samples)

    def row(batches_for_seed, labels):
        """Metrics per seed over an image stream; it is materialised only for GAN-train."""
        per_seed = []
        for seed in range(seeds):
            batches = scored.over(batches_for_seed(seed))
            if gan_train_test is not None:
                images = np.concatenate(list(batches))
                batches = in_batches(images, batch_size)
            generated = extract_features(extractor, batches)
            results = compute_metrics(generated, ref, metrics, seed, distribution, copying_test=copying_test,
                                      known_modes=extractor.modes)
            if gan_train_test is not None:
                results.update(gan_train_test(images, labels(seed), generated["logits"], seed))
            per_seed.append(results)
        return summarize(per_seed)

    rows = {}
    for label, sample_fn in sample_fns.items():
        rows[label] = row(lambda seed: generated_batches(sample_fn(seed), num_samples, batch_size),
                          lambda seed: balanced_labels(0, num_samples, num_classes or 1))
    if baselines:
        train_images, train_labels = real_images(dataset, "train", data_dir, image_size, batch_size, **real)
        subsets = [random_subset(len(train_images), num_samples, seed) for seed in range(seeds)]
        rows["real train (baseline)"] = row(lambda seed: in_batches(train_images[subsets[seed]], batch_size),
                                            lambda seed: None if train_labels is None else train_labels[subsets[seed]])
    return {
        "results": rows,
        "protocol": {
            "num_samples": num_samples, "seeds": list(range(seeds)), "latents": latents.STREAM, "dataset": dataset,
            "reference_split": reference,
            "reference_size": int(len(ref["features"])), "metrics": list(metrics),
            "pairwise_subsample": MAX_PAIRWISE, "kid_block_size": KID_BLOCK_SIZE, "is_splits": IS_SPLITS,
            "prdc_k": PRDC_K,
            "gan_train_steps": gan_train_steps if gan_train_test else None,
            **({"metric_protocols": metric_protocols(metrics)} if metric_protocols(metrics) else {}),
            **({"data_copying": {"training_split": "train", "cells": memorization.CELLS,
                                 "min_per_cell": memorization.MIN_PER_CELL}} if copying_test is not None else {}),
            "feature_extractor": extractor.describe(), "reference_cache": cache,
            "versions": library_versions(), "wall_time_seconds": round(time.time() - started, 1),
        },
    }


def single_run(results):
    """One deterministic pass (image-to-image evaluations) in the {"mean", "std", "values"} shape of seed summaries."""
    return summarize([results])


def pass_protocol(dataset, reference, num_images, extractor, cache, started, **extra):
    """The protocol of a one-pass evaluation of `num_images` real inputs (image-to-image tasks)."""
    return {"num_samples": num_images, "seeds": [0], "dataset": dataset, "reference_split": reference,
            "reference_size": num_images, "feature_extractor": extractor.describe(), "reference_cache": cache,
            "versions": library_versions(), "wall_time_seconds": round(time.time() - started, 1), **extra}


def library_versions():
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


def table_cell(row, metric, seeds):
    """mean ± std over seeds; a single pass shows its value (KID with its block standard error)."""
    if metric not in row:
        return ""
    if seeds > 1:
        return f"{row[metric]['mean']:.4g} ± {row[metric]['std']:.2g}"
    error = row.get(f"{metric}_std", {}).get("mean", float("nan"))
    return f"{row[metric]['mean']:.4g}" + (f" ± {error:.2g} (s.e.)" if np.isfinite(error) else "")


def markdown_table(report):
    """Rows = generators and baselines; columns = metrics as mean ± std over seeds."""
    rows = report["results"]
    labels = column_labels()
    columns = [name for name in labels if any(name in row for row in rows.values())]
    extractor = report["protocol"]["feature_extractor"]["name"]
    lines = [f"Features: {extractor}; {report['protocol']['num_samples']} samples × "
             f"{len(report['protocol']['seeds'])} seeds vs {report['protocol']['dataset']} "
             f"{report['protocol']['reference_split']} ({report['protocol']['reference_size']} images)", "",
             "| | " + " | ".join(labels[c] for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for label, row in rows.items():
        cells = [table_cell(row, c, len(report["protocol"]["seeds"])) for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(report, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    files.write_json(path, report)


# --- what `gan-zoo evaluate` and `memorization` score ------------------------------------
def sampling_rows(recipe, truncations=(1.0,), untrained_baseline=True):
    """{row label: sample function} scored for a z → image recipe: "generator" (one row per truncation ψ when
    other ψ are asked) and, unless `untrained_baseline` is False, "untrained generator (baseline)" for a recipe
    that can be initialised (not a SavedModel)."""
    from recipes.capabilities import TRAIN
    from zoo import sampling
    from zoo.plots import truncation_label

    if list(truncations) == [1.0]:
        rows = {"generator": sampling.sampler(recipe)}
    else:
        rows = {truncation_label(psi): sampling.sampler(recipe, psi) for psi in truncations}
    if untrained_baseline and TRAIN in recipe.capabilities:  # a SavedModel has no initialisation
        rows["untrained generator (baseline)"] = sampling.sampler(sampling.untrained_like(recipe))
    return rows


def dataset_frame(recipe, description, split=None, data_dir=None):
    """(frame, image_size) of `real_frame` for the description's data record (as callers from before the record
    took it: `split` and `data_dir` are no longer needed): the sample function's frame and the size real images
    are resized to (None: their own)."""
    frame, load = real_frame(record.from_description(description, recipe.image_shape))
    return frame, load["image_size"]


def real_frame(data):
    """(frame, load): how a generator's samples meet its data's real images, as its data record `data`
    (zoo.data.record) says. `frame(sample_fn)` is the sample function scored (center-cropped to the dataset's own
    size for a generator trained on padded images); `load` the datasets.load options (image_size, channels, crop)
    that give the real images in that frame."""
    from zoo import sampling

    if data.padding:  # trained on padded images: compare the real frame
        return (lambda sample_fn: sampling.center_cropped(sample_fn, data.native)), data.load_options()
    return (lambda sample_fn: sample_fn), data.load_options()


def check_fits(extractor, data, target, remedy=""):
    """Refuse, before anything is sampled, features that cannot take the data's images (`data`: the target's
    DataRecord, `target` its name): one line saying what the data is, what the extractor takes, and `remedy`."""
    frame = (*data.frame, data.channels)
    if all(takes in (None, has) for takes, has in zip(extractor.input_shape, frame)):
        return
    takes = "×".join("any" if side is None else str(side) for side in extractor.input_shape)
    what = ("the Fashion-MNIST evaluator fits only 28×28 grayscale Fashion-MNIST"
            if extractor.name == "fashion_mnist_evaluator" else f"{extractor.name} takes {takes} images")
    raise UserError(f"{target} trained on {data.describe()}; {what}{remedy}")


def reference_split(data, wanted=None):
    """The real split generated images are compared with: `wanted`, else "test" where the data has one (a folder
    without a test/ subfolder has only its images: "train")."""
    return wanted or ("test" if data.has_split("test") else "train")
