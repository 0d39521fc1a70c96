"""Evaluation cost: feature-extraction throughput and the time of each metric at 10k and 50k samples.

    python benchmarks/eval_throughput.py [--sizes 10000,50000] [--inception]

Feature extraction is timed for the shipped Fashion-MNIST evaluator (28×28 input) and, with
--inception, for Keras InceptionV3 with random weights at 299×299 (the same network cost as
real Inception features; no ImageNet weights are available offline). Metrics run on random
features of the evaluator's width (128) and Inception's (2048); k-NN metrics and 1-NN use at
most `zoo.eval.metric_registry.MAX_PAIRWISE` points per set, as `gan-zoo evaluate` does.
Prints tables; asserts nothing.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from zoo.eval import metric_registry  # noqa: E402
from zoo.metrics import features  # noqa: E402

METRIC_GROUPS = {"fid": ("fid",), "kid": ("kid",), "is": ("is",), "precision/recall": ("precision_recall",),
                 "density/coverage": ("density_coverage",), "1-NN": ("one_nn",), "mode coverage": ("mode_coverage",)}


def images_per_second(extractor, image_shape, batch_size, batches):
    images = np.random.default_rng(0).uniform(-1, 1, (batch_size, *image_shape)).astype(np.float32)
    extractor(images)  # trace
    start = time.perf_counter()
    for _ in range(batches):
        extractor(images)
    return batch_size * batches / (time.perf_counter() - start)


def metric_seconds(count, dim, classes=10):
    rng = np.random.default_rng(1)
    real = {"features": rng.normal(size=(count, dim)).astype(np.float32)}
    fake = {"features": rng.normal(size=(count, dim)).astype(np.float32) + 0.1,
            "logits": rng.normal(size=(count, classes)).astype(np.float32)}
    distribution = np.full(classes, 1.0 / classes)
    seconds = {}
    for label, metrics in METRIC_GROUPS.items():
        start = time.perf_counter()
        metric_registry.compute_metrics(fake, real, metrics, seed=0, real_class_distribution=distribution)
        seconds[label] = time.perf_counter() - start
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--inception", action="store_true", help="also time InceptionV3 (random weights) at 299x299")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    print("| feature extractor | input | batch | images/s |\n|---|---|---:|---:|")
    rate = images_per_second(features.fashion_mnist_evaluator(), (28, 28, 1), 500, 20)
    print(f"| fashion_mnist_evaluator | 28×28×1 | 500 | {rate:,.0f} |", flush=True)
    if args.inception:
        rate = images_per_second(features.inception_keras(None), (28, 28, 1), 50, 4)
        print(f"| InceptionV3 (random weights) | 28×28×1 → 299×299×3 | 50 | {rate:,.1f} |", flush=True)

    print(f"\nSeconds per metric (generated vs reference of equal size; pairwise metrics on ≤ "
          f"{metric_registry.MAX_PAIRWISE} points per set):\n")
    columns = [(count, dim) for dim in (128, 2048) for count in sizes]
    print("| metric | " + " | ".join(f"{c:,} × {d}-d" for c, d in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    timings = [metric_seconds(count, dim) for count, dim in columns]
    for label in METRIC_GROUPS:
        print(f"| {label} | " + " | ".join(f"{t[label]:.2f}" for t in timings) + " |", flush=True)


if __name__ == "__main__":
    main()
