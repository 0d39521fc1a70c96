"""Training throughput of every recipe at its default architecture, and DCGAN's model
FLOPs per step as a fraction of this machine's float32 matmul peak (measured in the same run).

    python benchmarks/train_throughput.py [--batch-size 64] [--steps 30] [--repeats 3]

Prints tables; asserts nothing. FLOPs are counted by TensorFlow's graph profiler over
the traced train step (MatMul, Conv2D and their gradients; elementwise ops are ignored,
so the fraction of peak is a lower bound of the arithmetic the step does).
"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import recipes  # noqa: E402
from zoo.train.loop import distributed_train_function, training_batches  # noqa: E402

IMAGE_SHAPE = (28, 28, 1)


def matmul_peak_gflops(dtype=tf.float32, size=2048, repeats=10):
    """Best GFLOP/s of a size×size matmul (2·n³ FLOPs each) in `dtype`."""
    a, b = (tf.cast(tf.random.normal((size, size)), dtype) for _ in range(2))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y), tf.float32)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def synthetic_examples(labelled):
    """Random images in [-1, 1] (and labels), held in memory, repeated: no input-pipeline cost."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2048, *IMAGE_SHAPE)).astype(np.float32)
    labels = rng.integers(0, 10, 2048).astype(np.int32)
    data = (images, labels) if labelled else images
    return tf.data.Dataset.from_tensor_slices(data).cache().repeat()


def build(name):
    recipe = recipes.get_recipe(name)(image_shape=IMAGE_SHAPE, seed=0)
    recipe.compile()
    return recipe


def seconds_per_step(recipe, batch_size, steps, repeats):
    """Median wall time of one train step (zoo.train's train function) over `repeats` runs of `steps` steps."""
    strategy = tf.distribute.get_strategy()
    train_function = distributed_train_function(recipe, strategy, batch_size)
    batches = training_batches(synthetic_examples(recipe.conditional), batch_size, recipe.real_batches_per_step, 0)
    iterator = iter(strategy.experimental_distribute_dataset(batches))
    for _ in range(3):  # trace and warm up
        train_function(iterator)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            logs = train_function(iterator)
        [float(value) for value in logs.values()]  # wait for the last step
        times.append((time.perf_counter() - start) / steps)
    return float(np.median(times))


def train_step_flops(recipe, batch_size):
    """FLOPs of one traced train step, counted by TensorFlow's graph profiler."""
    images = tf.TensorSpec((batch_size, *IMAGE_SHAPE), tf.float32)
    spec = (images, tf.TensorSpec((batch_size,), tf.int32)) if recipe.conditional else images
    return graph_flops(tf.function(recipe.train_step).get_concrete_function(spec).graph)


def graph_flops(graph):
    """Floating-point operations of a graph (MatMul, Conv2D and their gradients; elementwise ops not counted)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph, options=options).total_float_ops


def parameter_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def measure(name, batch_size, steps, repeats):
    """One recipe's numbers, measured in this process."""
    recipe = build(name)
    step = seconds_per_step(recipe, batch_size, steps, repeats)
    result = {"name": name, "step": step, "g_params": parameter_count(recipe.generator),
              "d_params": parameter_count(recipe.discriminator), "real_batches": recipe.real_batches_per_step}
    if name == "dcgan":
        result["flops"] = train_step_flops(recipe, batch_size)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)  # internal: measure one recipe, print JSON
    args = parser.parse_args()
    if args.recipe:
        print(json.dumps(measure(args.recipe, args.batch_size, args.steps, args.repeats)))
        return

    peak = matmul_peak_gflops()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores; "
          f"float32 matmul peak (2048², best of 10): {peak:.1f} GFLOP/s; each recipe in a fresh process\n")
    print("| recipe | G params | D params | ms/step | steps/s | generated img/s | real img/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    dcgan = None
    for name in sorted(recipes.RECIPES):
        command = [sys.executable, __file__, "--recipe", name, "--batch-size", str(args.batch_size),
                   "--steps", str(args.steps), "--repeats", str(args.repeats)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        step, real = result["step"], args.batch_size * result["real_batches"]
        print(f"| {name} | {result['g_params']:,} | {result['d_params']:,} | {step * 1e3:.1f} | {1 / step:.2f} | "
              f"{args.batch_size / step:.0f} | {real / step:.0f} |", flush=True)
        if name == "dcgan":
            dcgan = result
    achieved = dcgan["flops"] / dcgan["step"] / 1e9
    print(f"\nDCGAN train step at batch {args.batch_size}: {dcgan['flops'] / 1e9:.2f} GFLOP (profiler count), "
          f"{achieved:.1f} GFLOP/s achieved = {100 * achieved / peak:.1f}% of the measured matmul peak")


if __name__ == "__main__":
    main()
