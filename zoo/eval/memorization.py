"""Does a generator copy its training images? `gan-zoo memorization`: the data-copying statistic C_T
(zoo.metrics.memorization, Meehan et al. 2020) of its samples, with real unseen images as the reference,
and a grid of samples beside their nearest training images (in evaluator features and in pixels)."""
import time

import numpy as np

from recipes.latents import MAX_SEED
from zoo.checks import whole_number
from zoo.eval.scoring import (Progress, extract_features, generated_batches, library_versions, real_images,
                              reference_features)
from zoo.images import make_grid, to_uint8
from zoo.metrics import memorization

NEIGHBOURS = 3  # nearest training images shown per sample, in each space
GRID_SAMPLES = 8
REFERENCE_ROW = "real test images (reference)"


def split_test(count, seed=0):
    """Two disjoint halves of the test split: the held-out data C_T compares against, and the real images
    whose own C_T is the reference (what "no copying" measures as)."""
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[:count // 2]), np.sort(order[count // 2:])


def memorization_report(sample_fns, extractor, *, dataset="fashion_mnist", num_samples=10000, seed=0,
                        batch_size=500, data_dir=None, image_size=None, cache_dir=None, progress=None, channels=None,
                        crop="none"):
    """{"results": {row: {"c_t", "cells_used", "cells"}}, "protocol"}: a row per generator of `sample_fns`
    ({label: sample_fn(seed)}, as `gan-zoo evaluate` samples), all scored against one partition of the
    training split, and a row for real test images none of them saw (the reference). `progress(done, total)` is
    called after each batch of samples scored. `image_size`, `channels`, `crop`: how real images are loaded (a
    DataRecord's `load_options`)."""
    whole_number("--seed", seed, 0, MAX_SEED)
    started = time.time()
    real = {"channels": channels, "crop": crop}
    features = {split: reference_features(extractor, dataset, split, batch_size, data_dir, image_size, cache_dir,
                                          **real)[0] for split in ("train", "test")}
    held_out, fresh = split_test(len(features["test"]["features"]))
    train, test = features["train"]["features"], features["test"]["features"]
    test_of_copying = memorization.CopyingTest(train, test[held_out])
    scored = Progress(progress, len(sample_fns) * num_samples)
    results = {label: test_of_copying.score(extract_features(
                   extractor, scored.over(generated_batches(sample_fn(seed), num_samples, batch_size)))["features"])
               for label, sample_fn in sample_fns.items()}
    results[REFERENCE_ROW] = test_of_copying.score(test[fresh])
    return {
        "results": results,
        "protocol": {"statistic": "C_T, Meehan, Chaudhuri & Dasgupta 2020 (https://arxiv.org/abs/2004.05675)",
                     "dataset": dataset, "training_split": "train", "held_out": f"test, {len(held_out)} images",
                     "reference": f"the other {len(fresh)} test images", "num_samples": num_samples, "seed": seed,
                     "cells": memorization.CELLS, "min_per_cell": memorization.MIN_PER_CELL,
                     "feature_extractor": extractor.describe(), "versions": library_versions(),
                     "wall_time_seconds": round(time.time() - started, 1)},
    }


def nearest_neighbour_grid(sample_fn, extractor, *, dataset="fashion_mnist", seed=0, count=GRID_SAMPLES,
                           batch_size=500, data_dir=None, image_size=None, cache_dir=None, channels=None, crop="none"):
    """uint8 grid, one row per sample: the sample, its NEIGHBOURS nearest training images in the
    evaluator's features, then its NEIGHBOURS nearest in pixels (Euclidean)."""
    samples = sample_fn(seed)(0, count)
    real = {"channels": channels, "crop": crop}
    train_images, _ = real_images(dataset, "train", data_dir, image_size, batch_size, **real)
    train = reference_features(extractor, dataset, "train", batch_size, data_dir, image_size, cache_dir,
                               **real)[0]["features"]
    by_features = memorization.nearest(extractor(samples)["features"], train, NEIGHBOURS)[1]
    by_pixels = memorization.nearest(samples.reshape(count, -1), train_images.reshape(len(train_images), -1),
                                     NEIGHBOURS)[1]
    rows = [np.concatenate([samples[i:i + 1], train_images[by_features[i]], train_images[by_pixels[i]]])
            for i in range(count)]
    return make_grid(to_uint8(np.concatenate(rows)), columns=1 + 2 * NEIGHBOURS)
