"""Is there an abstraction tax? Our DCGAN training (zoo.train's loop, recipe, data feed and
per-step callbacks) against the plainest correct Keras 3 DCGAN: one `train_step`, `fit`, the same
architecture, batch, optimizer (Adam 2e-4, β1 0.5), losses and Fashion-MNIST data.

    python benchmarks/baseline_dcgan.py [--steps 40] [--repeats 5] [--batch-size 64]

Every variant is built once; then the variants run `--steps` steps each, one after another, in
an order rotated every repeat, `--repeats` times (the machine's drift hits all alike). Step time
is the median over all timed steps (the first 3 steps of each block are warm-up and not counted).
Then each variant runs again alone in a fresh process for its peak RSS.

Also: input-pipeline wait (our step on the real feed minus our step on an in-memory batch), model
FLOPs per step (TensorFlow's graph profiler: MatMul, Conv2D and their gradients) as a fraction of
the float32 and bfloat16 matmul peaks measured in the same run; `ours_2x_batch` trains at twice
the batch (ratios and MFU are per image). Prints tables; asserts nothing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import load_average, machine_header, matmul_peaks, step_flops  # noqa: E402

import recipes  # noqa: E402
from zoo.data import datasets  # noqa: E402
from zoo.train.build import build_recipe  # noqa: E402
from zoo.train.callbacks import TrainingMonitor  # noqa: E402
from zoo.train.config import TrainConfig  # noqa: E402
from zoo.train.loop import fitted_examples, image_spec, run_steps, training_batches, training_path  # noqa: E402
from zoo.train import run_directory  # noqa: E402
from zoo.train.run_directory import generator_step  # noqa: E402
from zoo.train.strategy import kept_dtype_policy, set_mixed_precision, use_xla  # noqa: E402

WARMUP_STEPS = 3
LATENT_DIM = 100


# --- the baseline: the plainest correct Keras 3 DCGAN ------------------------------------------
def plain_generator():
    """z → 7×7×128 → 14×14×64 → 28×28×1, batch norm + ReLU, tanh (the DCGAN preset's shapes)."""
    return keras.Sequential([
        keras.Input((LATENT_DIM,)),
        keras.layers.Dense(7 * 7 * 128, use_bias=False), keras.layers.Reshape((7, 7, 128)),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.Conv2DTranspose(64, 4, 2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.Conv2DTranspose(1, 4, 2, padding="same"),
        keras.layers.Activation("tanh", dtype="float32"),
    ])


def plain_discriminator():
    """28×28×1 → 14×14×64 → 7×7×128 (batch norm), LeakyReLU(0.2), one logit."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(64, 4, 2, padding="same"), keras.layers.LeakyReLU(0.2),
        keras.layers.Conv2D(128, 4, 2, padding="same"), keras.layers.BatchNormalization(), keras.layers.LeakyReLU(0.2),
        keras.layers.Flatten(), keras.layers.Dense(1, dtype="float32"),
    ])


class PlainDCGAN(keras.Model):
    """Alternating non-saturating GAN steps: D on real and G(z), then G on a fresh G(z)."""

    def __init__(self):
        super().__init__()
        self.generator, self.discriminator = plain_generator(), plain_discriminator()
        self.noise_seed = keras.random.SeedGenerator(0)

    def compile(self, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)

    def train_step(self, real):
        n = tf.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = self.generator(keras.random.normal((n, LATENT_DIM), seed=self.noise_seed), training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        with tf.GradientTape() as tape:
            fake = self.generator(keras.random.normal((n, LATENT_DIM), seed=self.noise_seed), training=True)
            g_loss = tf.reduce_mean(tf.nn.softplus(-self.discriminator(fake, training=True)))
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


# --- timing -------------------------------------------------------------------------------------
class StepTimer(keras.callbacks.Callback):
    """Wall time between consecutive step ends (the first step of a block: since the block began)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def start(self):
        self.block, self.last = [], time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.block.append(now - self.last)
        self.last = now

    def finish(self):
        self.times.extend(self.block[WARMUP_STEPS:])


def fashion_mnist_images():
    """The training split as one float32 array in [-1, 1] (the same decoding for every variant)."""
    images, _ = next(iter(datasets.load("fashion_mnist", "train", batch_size=60000)))
    return images.numpy()


class Baseline:
    def __init__(self, batch_size, policy="float32", jit_compile=False):
        self.batch_size, self.bfloat16 = batch_size, policy == "mixed_bfloat16"
        keras.config.set_dtype_policy(policy)
        self.model = PlainDCGAN()
        self.model.compile(jit_compile=jit_compile)
        keras.config.set_dtype_policy("float32")
        images = fashion_mnist_images()
        self.data = (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=0).repeat()
                     .batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))

    def run(self, steps, timer):
        timer.start()
        self.model.fit(self.data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[timer])
        timer.finish()

    def flops(self):
        return step_flops(self.model.train_step, self.data.element_spec)


class Ours:
    """What `gan-zoo train <recipe>` (default: dcgan) runs per step: its data at the size the recipe takes
    (fitted_examples), the path training takes (training_path: measured where not forced, cached per machine;
    `path` is its record, None where only one path was eligible), build_recipe, training_batches, run_steps with
    the TrainingMonitor and TensorBoard callbacks (their periodic writes off)."""

    def __init__(self, batch_size, mixed_precision=None, jit_compile=None, ema_decay=None, in_memory=False,
                 recipe="dcgan"):
        self.batch_size = batch_size
        self.out = tempfile.mkdtemp(prefix="baseline_dcgan_")
        never = 10**9
        self.config, examples = fitted_examples(TrainConfig(
            recipe=recipe, out=self.out, batch_size=batch_size, steps=never, mixed_precision=mixed_precision,
            recipe_args={"ema_decay": ema_decay} if ema_decay else {}, log_every=never, sample_every=never,
            checkpoint_every=never, verbose=0, jit_compile=use_xla(jit_compile, 1, recipes.get_recipe(recipe))))
        self.shape = tuple(image_spec(examples).shape)
        path, self.path = training_path(self.config, tf.distribute.get_strategy(), examples, self.shape)
        self.config.jit_compile, self.config.mixed_precision = path.xla, path.mixed
        self.path_name, self.bfloat16 = path.name, path.mixed
        with kept_dtype_policy():
            set_mixed_precision(path.mixed)
            self.recipe = build_recipe(self.config, self.shape)
        if in_memory:  # one real batch, cached: no input pipeline
            examples = examples.take(batch_size).cache().repeat()
        self.batches = training_batches(examples, batch_size, self.recipe.real_batches_per_step, 0)
        self.strategy = tf.distribute.get_strategy()
        self.monitor = TrainingMonitor(self.out, None, never, self.config, chief=True)
        self.tensorboard = keras.callbacks.TensorBoard(os.path.join(self.out, run_directory.LOGS), update_freq=never,
                                                       write_graph=False)

    def run(self, steps, timer):
        start = generator_step(self.recipe)
        timer.start()
        run_steps(self.recipe, self.strategy, self.batches, self.config.batch_size,
                  [self.monitor, self.tensorboard, timer], start, start + steps, steps, verbose=0)
        timer.finish()

    def flops(self):
        return step_flops(self.recipe.train_step, self.batches.element_spec)


VARIANTS = {  # name → (description, constructor)
    "baseline": ("plain Keras DCGAN, float32", lambda b: Baseline(b)),
    "ours": ("`gan-zoo train dcgan`: the default path (XLA or the graph, float32 or mixed bfloat16 where the CPU has "
             "it: whichever measured fastest)", lambda b: Ours(b)),
    "ours_no_xla": ("`gan-zoo train dcgan --no-xla` (precision still measured)", lambda b: Ours(b, jit_compile=False)),
    "ours_f32": ("`gan-zoo train dcgan --no-mixed-precision` (float32; XLA or the graph, measured)",
                 lambda b: Ours(b, mixed_precision=False)),
    "ours_ema": ("default + EMA generator (the preset's setting)", lambda b: Ours(b, ema_decay=0.999)),
    "ours_bf16": ("default with --mixed-precision (mixed_bfloat16)", lambda b: Ours(b, mixed_precision=True)),
    "baseline_xla": ("plain Keras DCGAN, float32, XLA", lambda b: Baseline(b, jit_compile=True)),
    "baseline_bf16": ("plain Keras DCGAN, mixed_bfloat16", lambda b: Baseline(b, policy="mixed_bfloat16")),
    "ours_in_memory": ("zoo DCGAN, float32, one cached batch (no input pipeline)", lambda b: Ours(b, in_memory=True)),
    "ours_2x_batch": ("default at twice the batch (the next factor: bigger matmuls per core)", lambda b: Ours(2 * b)),
}


def peak_rss_mb(variant, batch_size, steps):
    """Peak resident memory of a fresh process that builds `variant` and trains `steps` steps."""
    command = [sys.executable, __file__, "--rss-of", variant, "--batch-size", str(batch_size), "--steps", str(steps)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_rss_mb"]


def rss_child(variant, batch_size, steps):
    """Peak RSS from /proc (VmHWM): ru_maxrss would carry over the forking parent's peak."""
    VARIANTS[variant][1](batch_size).run(steps, StepTimer())
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_mb": peak_kb / 1024}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="steps per block (the first 3 are warm-up)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--rss-of", help=argparse.SUPPRESS)  # internal: one variant's peak RSS, as JSON
    args = parser.parse_args()
    if args.rss_of:
        return rss_child(args.rss_of, args.batch_size, args.steps)
    names = args.variants.split(",")
    keras.utils.set_random_seed(0)
    header = machine_header()
    peaks = matmul_peaks()
    built = {name: VARIANTS[name][1](args.batch_size) for name in names}
    timers = {name: StepTimer() for name in names}
    started = time.time()
    for repeat in range(args.repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            built[name].run(args.steps, timers[name])
    wall = time.time() - started
    step = {name: statistics.median(timers[name].times) for name in names}
    flops = {name: built[name].flops() for name in names if name in ("baseline", "ours")}
    print(header)
    for name in names:
        if getattr(built[name], "path", None):
            print(f"{name}: training path {built[name].path['path']} ({built[name].path['why']})")
    print(f"Batch {args.batch_size}; {args.repeats} rotations × {args.steps} steps per variant ({wall:.0f} s; load "
          f"average at the end {load_average()}); matmul peak (2048², best of 10): float32 {peaks['float32']:.1f}, "
          f"bfloat16 {peaks['bfloat16']:.1f} GFLOP/s\n")
    images_per_second = {name: built[name].batch_size / step[name] for name in names}
    base = images_per_second.get("baseline")
    flops_per_image = next(iter(flops.values()), 0) / args.batch_size
    print("| variant | what | batch | median ms/step | p10–p90 ms | images/s | variant ÷ baseline (images/s) | MFU "
          "| peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        times = np.array(timers[name].times) * 1e3
        ratio = f"{images_per_second[name] / base:.2f}" if base else "–"
        peak = peaks["bfloat16" if getattr(built[name], "bfloat16", False) else "float32"]
        mfu = f"{100 * flops_per_image * images_per_second[name] / 1e9 / peak:.1f}%" if flops_per_image else "–"
        rss = peak_rss_mb(name, args.batch_size, 2 * WARMUP_STEPS + 10)
        print(f"| {name} | {VARIANTS[name][0]} | {built[name].batch_size} | {step[name] * 1e3:.1f} | "
              f"{np.percentile(times, 10):.1f}–{np.percentile(times, 90):.1f} | {images_per_second[name]:.0f} | "
              f"{ratio} | {mfu} | {rss:.0f} |", flush=True)
    if "ours" in step and "ours_in_memory" in step:
        wait = step["ours"] - step["ours_in_memory"]
        print(f"\nInput-pipeline wait per step (ours on the real feed − ours on one cached batch): {wait * 1e3:.2f} ms "
              f"({100 * wait / step['ours']:.1f}% of the step)")
    for name, count in flops.items():
        print(f"{name}: {count / 1e9:.3f} GFLOP per train step (profiler count)")
    print("MFU = those FLOPs per step ÷ step time ÷ the matmul peak of the precision the variant ran in "
          "(bfloat16 for a mixed bfloat16 path, else float32)")


if __name__ == "__main__":
    main()
