"""Training throughput of every recipe as `gan-zoo train <recipe>` runs it by default on this machine, against the
plain Keras DCGAN (benchmarks/baseline_dcgan.py) in the same run: what each recipe costs.

    python benchmarks/train_throughput.py [--recipes dcgan,sngan] [--batch-size 64] [--steps 20] [--repeats 3]

Each row runs in a fresh process: the plain Keras DCGAN first, then each recipe of recipes.RECIPES (or `--recipes`)
on its own default data (Fashion-MNIST at the size the recipe takes, zoo.train.loop.fitted_examples: padded to 32×32
for SNGAN, SAGAN and StyleGAN-lite; with labels for the conditional recipes; sneaker/ankle-boot pairs for CycleGAN)
on the path training's default takes there (zoo.train.loop.training_path: the probe, or its cached choice, exactly
as a run makes it; the row says which path and why). The step is training's (baseline_dcgan.Ours: run_steps with
the run's callbacks, the real input pipeline), timed by baseline_dcgan's StepTimer: the median over `--repeats`
blocks of `--steps` steps (the first 3 of each block are warm-up).

images/s is the batch per train step (one generator update) ÷ step time; recipes that read k real batches per step
(WGAN-GP's n_critic, SNGAN's n_dis) read k× that. MFU = FLOPs per step (TensorFlow's graph profiler: MatMul, Conv2D
and their gradients, so a lower bound) ÷ step time ÷ the matmul peak of the precision the path ran in (bfloat16 for
a mixed bfloat16 path), and ÷ the float32 peak; both peaks measured at the start of the run. Prints tables; asserts
nothing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from baseline_dcgan import WARMUP_STEPS, Baseline, Ours, StepTimer  # noqa: E402
from machine import load_average, machine_header, matmul_peaks  # noqa: E402

import recipes  # noqa: E402
from zoo.train import autotune  # noqa: E402
from zoo.train.strategy import xla_allowed_by_environment  # noqa: E402

BASELINE = "plain Keras DCGAN"
DEFAULT_PLAYERS = {"g": ("g", ("generator",)), "d": ("d", ("discriminator",))}  # a model without `players`


def player_parameters(model):
    """{"g": trainable parameters of the generator(s), "d": of the discriminator(s)} (CycleGAN: two of each)."""
    counts = {"g": 0, "d": 0}
    for kind, networks in getattr(model, "players", DEFAULT_PLAYERS).values():
        counts[kind] += sum(getattr(model, name).count_params() for name in networks)
    return counts


def why_only_path(run):
    """Why training had one path to take for `run` (a baseline_dcgan.Ours whose probe did not run)."""
    recipe_cls, reasons = type(run.recipe), []
    if not xla_allowed_by_environment():
        return "GAN_ZOO_XLA=0: the graph in float32, nothing measured"
    if not recipe_cls.xla_compatible:
        reasons.append("XLA not tried: the step has ops without an XLA kernel")
    elif not recipe_cls.xla_by_default:
        reasons.append("XLA not tried: its compile is too slow to try (xla_by_default)")
    if not autotune.native_bfloat16(autotune.cpu_flags()):
        reasons.append("bfloat16 not tried: no native bfloat16 on this CPU")
    elif not recipe_cls.trains_in_bfloat16(run.config.recipe_args, run.shape):
        reasons.append("bfloat16 not tried: the recipe's quality was not checked in it")
    return "; ".join(reasons) or "the only eligible path"


def path_record(run):
    """(path name, why) of a measured run: the probe's record (with its times when cached), else why_only_path."""
    if isinstance(run, Baseline):
        return "fit, float32", "Keras's own train function (not jit-compiled)"
    if run.path is None:
        return run.path_name, why_only_path(run)
    why, seconds = run.path["why"], run.path.get("seconds_per_step", {})
    if "fastest of" not in why:  # a cached choice: its measurements too
        why += ": " + ", ".join(f"{name} {value * 1000:.1f} ms" if value is not None else f"{name} failed"
                                for name, value in seconds.items())
    return run.path_name, why


def measure(name, batch_size, steps, repeats):
    """One row's numbers, measured in this process: `name` is a recipe or BASELINE."""
    run = Baseline(batch_size) if name == BASELINE else Ours(batch_size, recipe=name)
    timer = StepTimer()
    for _ in range(repeats):
        run.run(steps, timer)
    model = run.model if isinstance(run, Baseline) else run.recipe
    path, why = path_record(run)
    return {"name": name, "step": statistics.median(timer.times), "flops": run.flops(), "path": path, "why": why,
            "bfloat16": run.bfloat16, "params": player_parameters(model),
            "shape": [28, 28, 1] if isinstance(run, Baseline) else list(run.shape),
            "real_batches": getattr(model, "real_batches_per_step", 1)}


def measure_in_fresh_process(name, args):
    command = [sys.executable, __file__, "--recipe", name, "--batch-size", str(args.batch_size),
               "--steps", str(args.steps), "--repeats", str(args.repeats)]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode:
        return {"name": name, "error": (finished.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(finished.stdout.strip().splitlines()[-1])


COLUMNS = ("row", "shape", "path", "G params", "D params", "ms/step", "images/s", "÷ plain DCGAN", "GFLOP/step",
           "MFU (path's precision)", "MFU (float32 peak)")


def table_row(result, batch_size, peaks, baseline_images_per_second):
    """One markdown row: MFU = FLOPs per step ÷ step time ÷ peak (GFLOP/s), against the peak of the precision the
    path ran in and against float32's."""
    if "error" in result:
        return f"| {result['name']} | failed: {result['error']} |" + " |" * (len(COLUMNS) - 2)
    step, flops = result["step"], result["flops"]
    images_per_second = batch_size / step
    achieved = flops / step / 1e9
    peak = peaks["bfloat16" if result["bfloat16"] else "float32"]
    ratio = images_per_second / baseline_images_per_second if baseline_images_per_second else float("nan")
    shape = "×".join(str(side) for side in result["shape"]) + (f", {result['real_batches']} real batches"
                                                              if result["real_batches"] > 1 else "")
    return (f"| {result['name']} | {shape} | {result['path']} | {result['params']['g']:,} | "
            f"{result['params']['d']:,} | {step * 1e3:.1f} | {images_per_second:.0f} | {ratio:.2f} | "
            f"{flops / 1e9:.3f} | {100 * achieved / peak:.1f}% | {100 * achieved / peaks['float32']:.1f}% |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", help="comma-separated recipe names (default: every registered recipe)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="steps per block (the first 3 are warm-up)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)  # internal: measure one row here, print JSON
    args = parser.parse_args()
    if args.recipe:
        print(json.dumps(measure(args.recipe, args.batch_size, args.steps, args.repeats)))
        return
    names = args.recipes.split(",") if args.recipes else sorted(recipes.RECIPES)
    unknown = [name for name in names if name not in recipes.RECIPES]
    if unknown:
        parser.error(f"--recipes: unknown {', '.join(unknown)}; registered: {', '.join(sorted(recipes.RECIPES))}")
    if args.steps <= WARMUP_STEPS:
        parser.error(f"--steps must be more than the {WARMUP_STEPS} warm-up steps of each block")

    header, started = machine_header(), time.time()
    peaks = matmul_peaks()
    print(header)
    print(f"Matmul peak (2048², best of 10): float32 {peaks['float32']:.1f}, bfloat16 {peaks['bfloat16']:.1f} "
          f"GFLOP/s; batch {args.batch_size}; {args.repeats} blocks × {args.steps} steps per row, each row in a fresh "
          "process\n")
    print("| " + " | ".join(COLUMNS) + " |\n|---|---|---|" + "---:|" * (len(COLUMNS) - 3))
    results, baseline = [], None
    for name in [BASELINE, *names]:
        result = measure_in_fresh_process(name, args)
        if name == BASELINE and "error" not in result:
            baseline = args.batch_size / result["step"]
        print(table_row(result, args.batch_size, peaks, baseline), flush=True)
        results.append(result)
    print(f"\nHow each path was chosen ({time.time() - started:.0f} s; load average at the end {load_average()}):")
    for result in results:
        if "error" not in result:
            print(f"- {result['name']}: {result['path']} ({result['why']})")


if __name__ == "__main__":
    main()
