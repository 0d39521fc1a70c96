"""Evaluation of generators that map images to images, on real inputs from the reference split.

- Super-resolution: HR reference images → LR by the recipe's own antialiased bicubic
  downscaling → SR. PSNR and SSIM on luma against HR (zoo.metrics.image_quality) and FID /
  KID of SR outputs against the HR reference features, for the generator and for bicubic
  upsampling (the baseline to beat). Deterministic: one pass, no sampling seeds.
- Translation (CycleGAN), both directions between two classes of a labelled dataset: FID /
  KID of translated images against the real target class, target-class accuracy of the
  translated images by the evaluator (translation success), and cycle reconstruction
  L1 ‖F(G(a)) - a‖₁. Baselines: the untranslated source images (the floor: what no
  translation scores) and real target-class train images (the ceiling).
"""
import time

import numpy as np

from zoo.data import datasets
from zoo.errors import UserError
from zoo.eval.metric_registry import compute_metrics
from zoo.eval.scoring import (Progress, extract_features, in_batches, library_versions, real_images, reference_features,
                              summarize)
from zoo.metrics import image_quality

DISTRIBUTION_METRICS = ("fid", "kid")
# A class has ~1000 test images: blocks of 250 give KID a standard error (one block of 1024 has none)
TRANSLATION_KID_BLOCK_SIZE = 250


def single_run(results):
    """One deterministic pass in the {"mean", "std", "values"} shape of seed summaries."""
    return summarize([results])


def protocol(dataset, reference, num_images, extractor, cache, started, **extra):
    return {"num_samples": num_images, "seeds": [0], "dataset": dataset, "reference_split": reference,
            "reference_size": num_images, "feature_extractor": extractor.describe(), "reference_cache": cache,
            "versions": library_versions(), "wall_time_seconds": round(time.time() - started, 1), **extra}


# --- super-resolution ------------------------------------------------------------------------
def evaluate_super_resolution(recipe, extractor, *, dataset="fashion_mnist", reference="test", num_samples=10000,
                              batch_size=500, data_dir=None, cache_dir=None, progress=None):
    """PSNR / SSIM / FID / KID of `recipe.upscale` and of bicubic upsampling on the first
    `num_samples` reference images; `progress(done, total)` after each batch upscaled."""
    from recipes.srgan import downscale

    started = time.time()
    high, _ = real_images(dataset, reference, data_dir, None, batch_size)
    high = high[:num_samples]
    if tuple(high.shape[1:]) != tuple(recipe.image_shape):
        raise UserError(f"{dataset} {reference} images are {high.shape[1:]}, the SR model was trained on "
                        f"{tuple(recipe.image_shape)} high-resolution images")
    outputs = {"generator": [], "bicubic (baseline)": []}
    quality = {label: ([], []) for label in outputs}
    for batch in Progress(progress, len(high)).over(in_batches(high, batch_size)):
        low = downscale(batch, recipe.scale)
        for label, images in (("generator", recipe.upscale(low)),
                              ("bicubic (baseline)", image_quality.bicubic_upsample(low, batch.shape[1:3]))):
            images = np.asarray(images)
            outputs[label].append(images)
            psnr, ssim = image_quality.psnr_ssim(images, batch)
            quality[label][0].append(psnr)
            quality[label][1].append(ssim)
    ref, cache = reference_features(extractor, dataset, reference, batch_size, data_dir, None, cache_dir)
    rows = {}
    for label, parts in outputs.items():
        generated = extract_features(extractor, parts)
        results = compute_metrics(generated, ref, DISTRIBUTION_METRICS)
        results["psnr"] = float(np.mean(np.concatenate(quality[label][0])))
        results["ssim"] = float(np.mean(np.concatenate(quality[label][1])))
        rows[label] = single_run(results)
    return {"results": rows,
            "protocol": protocol(dataset, reference, len(high), extractor, cache, started, task="super_resolution",
                                 scale=recipe.scale, downscaling="bicubic, antialiased (recipes.srgan.downscale)",
                                 psnr_ssim="luma (gray images as they are), [0, 1], no border crop",
                                 metrics=["psnr", "ssim", *DISTRIBUTION_METRICS])}


# --- translation ---------------------------------------------------------------------------
def domain_classes(dataset, domains):
    """Class ids of the two domains (names or ids of `dataset`'s classes)."""
    if dataset != "fashion_mnist":
        raise UserError("translation metrics need the two domains as classes of fashion_mnist (the evaluator's "
                        f"classes); received dataset {dataset!r}")
    return [datasets.class_ids([domain], datasets.FASHION_MNIST_CLASSES, 10, dataset)[0] for domain in domains]


def translated(recipe, images, direction, batch_size, scored):
    """(G(x), F(G(x))) in batches, for direction "a2b" (F the reverse generator); `scored` (a scoring.Progress)
    counts the images."""
    reverse = "b2a" if direction == "a2b" else "a2b"
    forward, cycled = [], []
    for batch in scored.over(in_batches(images, batch_size)):
        out = recipe.translate(batch, direction)
        forward.append(np.asarray(out))
        cycled.append(np.asarray(recipe.translate(out, reverse)))
    return np.concatenate(forward), np.concatenate(cycled)


def evaluate_translation(recipe, extractor, domains, *, dataset="fashion_mnist", reference="test", batch_size=500,
                         data_dir=None, cache_dir=None, progress=None):
    """Both directions between the reference split's two domain classes; `progress(done, total)` after each
    batch translated (there and back)."""
    started = time.time()
    classes = domain_classes(dataset, domains)
    ref, cache = reference_features(extractor, dataset, reference, batch_size, data_dir, None, cache_dir)
    images, labels = real_images(dataset, reference, data_dir, None, batch_size)
    train_images, train_labels = real_images(dataset, "train", data_dir, None, batch_size)
    rows, scored = {}, Progress(progress, int(sum(np.isin(labels, classes))))
    for direction, (source, target) in {"a2b": classes, "b2a": classes[::-1]}.items():
        arrow = f"{datasets.FASHION_MNIST_CLASSES[source]} → {datasets.FASHION_MNIST_CLASSES[target]}"
        target_ref = {"features": ref["features"][ref["labels"] == target]}
        source_images = images[labels == source]
        outputs, cycled = translated(recipe, source_images, direction, batch_size, scored)
        candidates = {f"{direction}: {arrow}": outputs,
                      f"{direction}: source unchanged (floor)": source_images,
                      f"{direction}: real target train (ceiling)": train_images[train_labels == target]}
        for label, candidate in candidates.items():
            generated = extract_features(extractor, in_batches(candidate, batch_size))
            results = compute_metrics(generated, target_ref, DISTRIBUTION_METRICS,
                                      kid_block_size=TRANSLATION_KID_BLOCK_SIZE)
            if extractor.num_classes == len(datasets.FASHION_MNIST_CLASSES):  # the evaluator's logits
                results["target_accuracy"] = float(np.mean(np.argmax(generated["logits"], axis=1) == target))
            if candidate is outputs:
                results["cycle_l1"] = float(np.mean(np.abs(cycled - source_images)))
            rows[label] = single_run(results)
    return {"results": rows,
            "protocol": protocol(dataset, reference, int(sum(np.isin(labels, classes))), extractor, cache, started,
                                 task="translation", kid_block_size=TRANSLATION_KID_BLOCK_SIZE,
                                 domains=[datasets.FASHION_MNIST_CLASSES[c] for c in classes],
                                 metrics=[*DISTRIBUTION_METRICS, "target_accuracy", "cycle_l1"])}
