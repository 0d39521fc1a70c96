"""Where does XLA pay? Each recipe's train step at its preset's size, each sampling preset's generator
on a 500-image chunk and the evaluator's feature extraction on 500 images (what `gan-zoo evaluate`
runs per chunk), as a TensorFlow graph and XLA-compiled, alternately; prints ms per call, the ratio
graph ÷ XLA and the first call (trace or compile). What `xla_by_default` in recipes/ rests on, and why
sampling and evaluation stay on the graph.

    python benchmarks/xla_speedup.py [--recipes dcgan,cgan,...] [--presets dcgan_fashion_mnist_28,...] [--calls 5]

Prints tables; asserts nothing. Random data stands in for Fashion-MNIST: speed does not depend on it.
"""
import argparse
import time

import numpy as np
import tensorflow as tf

import recipes
from recipes.latents import stream_latents
import zoo
from zoo import sampling
from zoo.eval import classifier

PRESET_SIZES = {  # recipe → (constructor settings, batch) of the shipped presets
    "cyclegan": ({"width": 16, "num_blocks": 4}, 16),
    "stylegan_lite": ({"image_shape": (32, 32, 1)}, 64),
    "srgan": ({}, 64),
}


def train_step_inputs(name):
    settings, batch = PRESET_SIZES.get(name, ({"ema_decay": 0.999}, 64))
    recipe = recipes.get_recipe(name)(**settings)
    recipe.compile()
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch, *recipe.image_shape)).astype("float32"))
    if recipe.task == "translation":
        return recipe, (images, images[::-1])
    return recipe, (images, tf.zeros(batch, tf.int32)) if recipe.conditional else images


def timed(function, argument, calls, repeats=3):
    """Best of `repeats` mean times of `calls` calls (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.time()
        for _ in range(calls):
            result = function(argument)
        tf.nest.map_structure(np.asarray, result)
        best = min(best, (time.time() - started) / calls)
    return best


def compare(make, calls):
    """{jit: (seconds per call, first-call seconds)} for make(jit) -> (function, argument), run alternately."""
    functions, first = {}, {}
    for jit in (False, True):
        function, argument = make(jit)
        started = time.time()
        tf.nest.map_structure(np.asarray, function(argument))
        functions[jit], first[jit] = (function, argument), time.time() - started
    per_call = {False: [], True: []}
    for _ in range(2):
        for jit, (function, argument) in functions.items():
            per_call[jit].append(timed(function, argument, calls))
    return {jit: (min(per_call[jit]), first[jit]) for jit in (False, True)}


def row(label, result):
    (graph, graph_first), (xla, xla_first) = result[False], result[True]
    return f"| {label} | {graph * 1e3:.0f} | {xla * 1e3:.0f} | {graph / xla:.2f} | {graph_first:.1f} | {xla_first:.1f} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", default="dcgan,lsgan,wgan_gp,cgan,stylegan_lite,cyclegan")
    parser.add_argument("--presets", default="dcgan_fashion_mnist_28,cgan_fashion_mnist_28,stylegan_lite_fashion_mnist_32")
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    header = "| {} | graph ms | XLA ms | graph ÷ XLA | graph first call s | XLA first call s |\n|---|---:|---:|---:|---:|---:|"
    print(header.format("train step (preset size)"))
    for name in filter(None, args.recipes.split(",")):
        def make(jit, name=name):
            recipe, batch = train_step_inputs(name)
            return tf.function(recipe.train_step, jit_compile=jit), batch
        print(row(name, compare(make, args.calls)), flush=True)
    print("\n" + header.format("sampling 500 images"))
    for name in filter(None, args.presets.split(",")):
        def make(jit, name=name):
            recipe = zoo.load(name).recipe
            z = stream_latents(0, 0, 500, recipe.latent_dim)
            inputs = [z, sampling.balanced_labels(0, 500, recipe.num_classes)] if recipe.conditional else z
            network = recipe.sampling_generator
            return tf.function(lambda x: network(x, training=False), jit_compile=jit), inputs
        print(row(name, compare(make, args.calls)), flush=True)
    print("\n" + header.format("evaluator features, 500 images"))

    def make_features(jit):
        model, _ = classifier.load_evaluator(classifier.SHIPPED_DIR)
        images = np.random.default_rng(0).uniform(-1, 1, (500, 28, 28, 1)).astype("float32")
        return tf.function(lambda x: model(x, training=False), jit_compile=jit), images
    print(row("fashion_mnist_evaluator", compare(make_features, args.calls)), flush=True)


if __name__ == "__main__":
    main()
