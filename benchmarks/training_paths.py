"""The four training paths a run can take on a CPU, timed on one recipe's real step: TensorFlow's graph and
XLA, each in float32 and mixed bfloat16, alternately in rounds; prints ms per step, each path ÷ the float32
graph, and the CPU's model and flags. What zoo.train.autotune measures (bfloat16 a candidate where the
recipe's quality was checked in it, else timed for a hint).

    python benchmarks/training_paths.py [--recipe dcgan] [--batch-size 64] [--rounds 4] [--steps 20]

Prints a table; asserts nothing.
"""
import argparse
import statistics
import tempfile
import time

import keras
import tensorflow as tf

from zoo.train import autotune
from zoo.train.build import build_recipe
from zoo.train.config import TrainConfig
from zoo.train.loop import distributed_train_function, fitted_examples, image_spec, training_batches

NEVER = 10**9


def path_timer(recipe_name, path, batch_size):
    """steps → seconds per step of `path` (an autotune.Path) on a fresh recipe fed its default data (Fashion-MNIST,
    at the size the recipe takes: zoo.train.loop.fitted_examples)."""
    config = TrainConfig(recipe=recipe_name, out=tempfile.mkdtemp(), batch_size=batch_size, steps=NEVER,
                         sample_every=NEVER, checkpoint_every=NEVER, verbose=0, jit_compile=path.xla)
    config, examples = fitted_examples(config)
    keras.config.set_dtype_policy("mixed_bfloat16" if path.mixed else "float32")
    recipe = build_recipe(config, tuple(image_spec(examples).shape))
    keras.config.set_dtype_policy("float32")
    strategy = tf.distribute.get_strategy()
    batches = training_batches(examples, batch_size, recipe.real_batches_per_step, 0)
    iterator = iter(strategy.experimental_distribute_dataset(batches))
    step = distributed_train_function(recipe, strategy, batch_size)

    def seconds_per_step(steps):
        started = time.perf_counter()
        for _ in range(steps):
            logs = step(iterator)
        float(next(iter(logs.values())))  # waits for the last step
        return (time.perf_counter() - started) / steps

    seconds_per_step(3)  # trace or compile
    return seconds_per_step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="dcgan")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20, help="steps per path per round")
    args = parser.parse_args()
    flags = autotune.cpu_flags()
    paths = autotune.candidates([False, True], [False, True])
    timers = {path.name: path_timer(args.recipe, path, args.batch_size) for path in paths}
    times = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, timer in timers.items():
            times[name].append(timer(args.steps))
    print(f"CPU: {autotune.cpu_model()}; native bfloat16: {autotune.native_bfloat16(flags)}; "
          f"{', '.join(sorted(f for f in flags if f.startswith(('avx512', 'amx')))) or 'no AVX-512/AMX'}")
    print(f"{args.recipe}, batch {args.batch_size}: median of {args.rounds} alternating rounds of {args.steps} steps\n")
    print("| path | ms/step | ÷ float32 graph (speed) |\n|---|---:|---:|")
    graph = statistics.median(times["graph"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1000:.1f} | {graph / median:.2f} |")


if __name__ == "__main__":
    main()
