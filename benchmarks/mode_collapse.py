"""The mode-collapse experiment of issue 33: train a GAN on a 2-D mixture (zoo.data.points: ring8 of Metz et al.
2016, grid25 of Srivastava et al. 2017) for several seeds with `gan-zoo train`'s own loop, then per seed print the
modes captured and the share of high-quality samples (zoo.metrics.modes.known_modes, 2500 samples as VEEGAN) and
draw the samples over the modes with their 3σ circles.

    python benchmarks/mode_collapse.py                       # the plain non-saturating GAN on ring8, seeds 0-2
    python benchmarks/mode_collapse.py --dataset grid25 --set loss=hinge --seeds 0,1,2,3,4
    python benchmarks/mode_collapse.py --arms non_saturating,unrolled_5 --steps 2000   # plain vs unrolled (k = 5)

The evaluation lives here because `gan-zoo evaluate` scores generated images with the Fashion-MNIST evaluator's
features; for points the features are the points themselves (the identity), which that command cannot select yet.
Metz et al.'s settings: batch 512, Adam(1e-4, β₁ = 0.5) for both players, 256-d z; their figure shows the plain GAN
cycling between modes after a few thousand steps. `ARMS` are the compared settings: the plain GAN and the unrolled
GAN (DCGAN's `unroll_steps`, k = 5 and 10 as Metz et al.'s figure); `--arms` picks some.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

from zoo.cli.options import parse_setting

ARMS = {"non_saturating": {}, "unrolled_5": {"unroll_steps": 5}, "unrolled_10": {"unroll_steps": 10}}  # arm → settings
METZ = {"batch_size": 512, "latent_dim": 256, "lr": 1e-4, "beta_1": 0.5}
EVAL_SAMPLES = 2500


def train_arm(dataset, settings, seed, steps, out):
    """Train DCGAN (MLP networks for points) on `dataset` with Metz et al.'s settings and `settings` → its run."""
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    config = TrainConfig.with_settings({"latent_dim": METZ["latent_dim"], "lr": METZ["lr"], "beta_1": METZ["beta_1"],
                                        **settings}, recipe="dcgan", out=out, dataset=dataset, steps=steps,
                                       batch_size=METZ["batch_size"], seed=seed, jit_compile=False, verbose=0,
                                       log_every=max(1, steps // 10), sample_every=steps, checkpoint_every=steps)
    train(config)
    return out


def generated_points(run, count, seed=0):
    """`count` points of the run's generator (its EMA copy if any) from seeded latents, as [count, 2]."""
    from recipes.latents import stream_latents
    from zoo.data import points
    from zoo.train.run_directory import recipe_from_run

    recipe, _ = recipe_from_run(run)
    z = stream_latents(seed, 0, count, recipe.latent_dim)
    return points.as_points(recipe.sampling_generator(z, training=False))


def scatter(samples, mixture, path, title=""):
    """Samples over the modes: each centre with its 3σ circle, the samples as dots."""
    from zoo.metrics.modes import QUALITY_SIGMAS
    from zoo.plots import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(4, 4))
    axis.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    for centre in mixture.centres:
        axis.add_patch(plt.Circle(centre, QUALITY_SIGMAS * mixture.sigma, fill=False, color="tab:red", lw=1))
    axis.scatter(*mixture.centres.T, marker="x", color="tab:red", s=20, label="modes (3σ circles)")
    extent = np.abs(mixture.centres).max() + 1
    axis.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal", title=title)
    axis.legend(loc="upper right", fontsize=7)
    return save_figure(figure, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="ring8", choices=("ring8", "grid25"))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated of {', '.join(ARMS)}")
    parser.add_argument("--set", action="append", default=[], type=parse_setting,
                        help="extra recipe setting NAME=VALUE, as gan-zoo train's --set (e.g. loss=hinge)")
    parser.add_argument("--out", default=None, help="runs and figures go here (default: a temporary directory)")
    args = parser.parse_args(argv)
    from zoo.data import points
    from zoo.metrics.modes import known_modes

    extra = dict(args.set)
    arms = args.arms.split(",")
    if set(arms) - set(ARMS):
        parser.error(f"unknown arm(s) {sorted(set(arms) - set(ARMS))}; choose from {', '.join(ARMS)}")
    out = args.out or tempfile.mkdtemp(prefix="mode_collapse_")
    mixture = points.mixture(args.dataset)
    print(f"{args.dataset}: {len(mixture.centres)} modes, sigma {mixture.sigma}; {args.steps} steps; runs in {out}")
    print("| arm | seed | modes captured | high-quality share |\n|---|---|---|---|")
    for arm, settings in ((arm, ARMS[arm]) for arm in arms):
        for seed in (int(s) for s in args.seeds.split(",")):
            run = train_arm(args.dataset, {**settings, **extra}, seed, args.steps,
                            os.path.join(out, f"{args.dataset}_{arm}_seed{seed}"))
            samples = generated_points(run, EVAL_SAMPLES)
            result = known_modes(samples, mixture.centres, mixture.sigma)
            print(f"| {arm} | {seed} | {result['modes_captured']}/{result['num_modes']} | "
                  f"{result['high_quality']:.3f} |", flush=True)
            scatter(samples, mixture, os.path.join(out, f"{args.dataset}_{arm}_seed{seed}.png"),
                    f"{arm}, seed {seed}: {result['modes_captured']}/{result['num_modes']} modes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
