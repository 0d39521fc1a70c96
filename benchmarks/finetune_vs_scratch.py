"""Does fine-tuning a preset help? Train the same architecture for N steps on images the preset
never saw — one Fashion-MNIST class of the *test* split (the presets train on the train split) —
once from the preset's weights (plain, and with DiffAugment `--augment`, Zhao et al. 2020) and once
from scratch, and compare FID (evaluator features) of their samples against the same class of the
*train* split.

    python benchmarks/finetune_vs_scratch.py --preset dcgan_fashion_mnist_28 --steps 500 --ema-decay 0.95 --cls bag

Both runs sample their EMA generator with the same (shorter) `--ema-decay`: with the preset's
0.999 a few hundred steps would mostly show the EMA's starting point.
"""
import argparse
import os
import tempfile
import time

import numpy as np

from zoo import sampling
from zoo.data import datasets
from zoo.eval.metric_registry import compute_metrics
from zoo.eval.scoring import extract_features, generated_batches, real_images
from zoo.metrics import features
from zoo.presets import store
from zoo.train import run_directory
from zoo.train.config import TrainConfig
from zoo.train.loop import train


def class_reference(extractor, cls):
    images, labels = real_images("fashion_mnist", "train")
    class_id = datasets.class_ids([cls], datasets.FASHION_MNIST_CLASSES, 10, "fashion_mnist")[0]
    return extract_features(extractor, [images[labels == class_id]])


def fid_of(recipe, extractor, reference, num_samples):
    generated = extract_features(extractor, generated_batches(sampling.sampler(recipe)(0), num_samples, 500))
    return compute_metrics(generated, reference, ("fid",))["fid"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="dcgan_fashion_mnist_28")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--cls", default="bag", help="the Fashion-MNIST class to adapt to")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--ema-decay", type=float, default=0.95, help="EMA decay of all runs (if the preset has EMA)")
    parser.add_argument("--augment", default="translation,cutout", help="DiffAugment policies of the third run")
    args = parser.parse_args()

    card = store.card(args.preset)
    config = store.build_recipe(store.preset_path(args.preset)).get_config()
    architecture = {k: v for k, v in config.items() if k not in ("name", "image_shape", "seed")}
    overrides = {"ema_decay": args.ema_decay} if config.get("ema_decay") else {}
    architecture.update(overrides)
    extractor = features.fashion_mnist_evaluator()
    reference = class_reference(extractor, args.cls)
    rows = [("preset, not fine-tuned", 0, fid_of(store.load_recipe(args.preset, compile=False), extractor,
                                                 reference, args.num_samples), 0.0)]
    with tempfile.TemporaryDirectory() as scratch:
        preset = store.preset_path(args.preset)
        for label, settings in (("fine-tuned from the preset", {"init_from": preset, "recipe_args": overrides}),
                                (f"fine-tuned + DiffAugment ({args.augment})",
                                 {"init_from": preset, "recipe_args": {**overrides, "augment": args.augment}}),
                                ("trained from scratch", {"recipe_args": architecture})):
            out = os.path.join(scratch, str(len(rows)))
            started = time.time()
            train(TrainConfig(recipe=card["recipe"], out=out, dataset="fashion_mnist", split="test",
                              classes=[args.cls], steps=args.steps, batch_size=args.batch_size, seed=0,
                              sample_every=args.steps, checkpoint_every=args.steps, log_every=args.steps, verbose=0,
                              **settings))
            recipe, _ = run_directory.recipe_from_run(out)
            rows.append((label, args.steps, fid_of(recipe, extractor, reference, args.num_samples),
                         time.time() - started))
    print(f"FID of {args.num_samples} samples vs Fashion-MNIST train '{args.cls}' images ({len(reference['features'])}); "
          f"training data: the {args.cls!r} images of the test split; {card['recipe']} architecture of {args.preset}; "
          f"EMA decay {overrides.get('ema_decay', 'none')}")
    print("\n| run | steps | FID ↓ | wall s |\n|---|---:|---:|---:|")
    for label, steps, fid, seconds in rows:
        print(f"| {label} | {steps} | {fid:.1f} | {seconds:.0f} |")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
