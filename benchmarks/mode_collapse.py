"""The mode-collapse experiment of issue 33: train a GAN on a 2-D mixture (zoo.data.points: ring8 of Metz et al.
2016, grid25 of Srivastava et al. 2017) per arm, dataset and seed with `gan-zoo train`'s own loop, score each run's
modes captured and share of high-quality samples (zoo.metrics.modes.known_modes, 2500 samples as VEEGAN), draw the
samples over the modes with their 3σ circles, and write a Markdown report (mean ± std over seeds, and per seed).

    python benchmarks/mode_collapse.py --out runs/mc                     # non-saturating GAN on ring8, seeds 0-2
    python benchmarks/mode_collapse.py --arms non_saturating,unrolled_5,unrolled_10 --out runs/mc_unrolled \\
        --report docs/mode_collapse.md                                  # plain vs unrolled (Metz et al.'s figure)
    python benchmarks/mode_collapse.py --datasets ring8,grid25 --arms f_kl,relativistic --out runs/mc_losses

An arm is a set of DCGAN settings: each loss of recipes.losses.LOSSES ({"loss": name}) or an unrolled GAN (`ARMS`:
DCGAN's `unroll_steps`, k = 5 and 10 as Metz et al.). Metz et al.'s settings: batch 512, Adam(1e-4, β₁ = 0.5) for
both players, 256-d z; their reference code trains 20001 steps, and the plain GAN cycles between modes after a few
thousand. The runs are long (hours) and resume: rerunning the same command with the same --out skips the finished
runs (their results are kept as JSON beside the runs, written whole by a rename), resumes the unfinished one from
its last checkpoint (every --checkpoint-every steps; the data stream and the optimizers continue where it saved), and
refuses other steps, batch or settings in that --out (other --arms, --datasets or --seeds are fine).

The evaluation lives here because `gan-zoo evaluate` scores generated images with the Fashion-MNIST evaluator's
features; for points the features are the points themselves (the identity), which that command cannot select yet.
"""
import argparse
import json
import os
import shlex
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import machine_header  # noqa: E402

from zoo.cli.options import parse_ints, parse_names, parse_setting  # noqa: E402
from zoo.errors import UserError  # noqa: E402

ARMS = {"unrolled_5": {"unroll_steps": 5}, "unrolled_10": {"unroll_steps": 10}}  # and every loss: {"loss": name}
METZ = {"batch_size": 512, "latent_dim": 256, "lr": 1e-4, "beta_1": 0.5}
EVAL_SAMPLES = 2500
PROTOCOL_FILE = "protocol.json"


def arm_settings(arm):
    """The DCGAN settings of `arm`: an unrolled GAN of ARMS, or a loss of recipes.losses.LOSSES."""
    from recipes.losses import LOSSES

    if arm in ARMS:
        return ARMS[arm]
    if arm in LOSSES:
        return {"loss": arm}
    raise UserError(f"unknown arm {arm!r}; accepted: {', '.join([*ARMS, *LOSSES])}")


def arm_config(dataset, settings, seed, steps, out, batch_size=METZ["batch_size"], checkpoint_every=250):
    """The `gan-zoo train` config of DCGAN (MLP networks for points) on `dataset` with Metz et al.'s settings and
    `settings`, in float32 on TensorFlow's graph (no path measured: the same path on every resume)."""
    from zoo.train.config import TrainConfig

    return TrainConfig.with_settings({"latent_dim": METZ["latent_dim"], "lr": METZ["lr"], "beta_1": METZ["beta_1"],
                                      **settings}, recipe="dcgan", out=out, dataset=dataset, steps=steps,
                                     batch_size=batch_size, seed=seed, jit_compile=False, mixed_precision=False,
                                     verbose=1, log_every=min(steps, checkpoint_every), sample_every=steps,
                                     checkpoint_every=checkpoint_every)


def check_arm(config):
    """Refuse bad steps, batch or settings before any run starts (and before protocol.json fixes them): the
    checks `gan-zoo train` makes, and the recipe built once."""
    from zoo.data import points
    from zoo.train.build import build_recipe
    from zoo.train.config import validate

    validate(config)
    build_recipe(config, points.POINT_SHAPE)


def train_arm(*args, **kwargs):
    """Train (or resume) the run of `arm_config(*args, **kwargs)` → its train_state."""
    from zoo.train.loop import train

    return train(arm_config(*args, **kwargs))


def generated_points(run, count, seed=0):
    """`count` points of the run's generator (its EMA copy if any) from seeded latents, as [count, 2]."""
    from recipes.latents import stream_latents
    from zoo.data import points
    from zoo.train.run_directory import recipe_from_run

    recipe, _ = recipe_from_run(run)
    z = stream_latents(seed, 0, count, recipe.latent_dim)
    return points.as_points(recipe.sampling_generator(z, training=False))


def draw_samples(axis, samples, mixture, title=""):
    """Samples over the modes on `axis`: each centre with its 3σ circle, the samples as dots."""
    from zoo.metrics.modes import QUALITY_SIGMAS
    from zoo.plots import pyplot

    if samples is not None:
        axis.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    for centre in mixture.centres:
        axis.add_patch(pyplot().Circle(centre, QUALITY_SIGMAS * mixture.sigma, fill=False, color="tab:red", lw=1))
    axis.scatter(*mixture.centres.T, marker="x", color="tab:red", s=20, label="modes (3σ circles)")
    extent = np.abs(mixture.centres).max() + 1
    axis.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
    axis.set_title(title, fontsize=8)


def scatter(samples, mixture, path, title=""):
    """One run's samples over the modes (draw_samples), as a figure at `path`."""
    from zoo.plots import pyplot, save_figure

    figure, axis = pyplot().subplots(figsize=(4, 4))
    draw_samples(axis, samples, mixture, title)
    axis.legend(loc="upper right", fontsize=7)
    return save_figure(figure, path)


def run_name(dataset, arm, seed):
    return f"{dataset}_{arm}_seed{seed}"


def check_same_protocol(out, protocol):
    """Write protocol.json in `out` on the first run; on a rerun refuse a different one in one line."""
    from zoo.files import read_json, write_json

    path = os.path.join(out, PROTOCOL_FILE)
    if os.path.exists(path):
        previous = read_json(path)
        changed = sorted(key for key in set(previous) | set(protocol) if previous.get(key) != protocol.get(key))
        if changed:
            was = ", ".join(f"{key} was {previous.get(key)!r}" for key in changed)
            raise UserError(f"{out} holds runs of other settings ({was}); rerun with the same --steps, --batch-size "
                            "and --set to resume (other --arms, --datasets or --seeds are fine), or choose a new --out")
    os.makedirs(out, exist_ok=True)
    write_json(path, protocol)


def run_once(out, dataset, arm, seed, protocol, checkpoint_every):
    """The result of one (dataset, arm, seed): read if a finished run left it, else train (resuming), score and
    draw it, and keep it as `<run>.json` (a diverged run is kept unscored, with the error naming its step)."""
    from zoo.data import points
    from zoo.errors import TrainingDiverged
    from zoo.files import read_json, write_json
    from zoo.metrics.modes import known_modes

    name = run_name(dataset, arm, seed)
    path = os.path.join(out, f"{name}.json")
    if os.path.exists(path):
        return read_json(path)
    settings = {**arm_settings(arm), **protocol["settings"]}
    result = {"dataset": dataset, "arm": arm, "seed": seed, "settings": settings, "steps": protocol["steps"]}
    try:
        state = train_arm(dataset, settings, seed, protocol["steps"], os.path.join(out, name),
                          protocol["batch_size"], checkpoint_every)
    except TrainingDiverged as error:
        result.update(status="diverged", error=str(error))
        write_json(path, result)
        return result
    started = time.time()
    mixture = points.mixture(dataset)
    samples = generated_points(os.path.join(out, name), EVAL_SAMPLES)
    scores = known_modes(samples, mixture.centres, mixture.sigma)
    scatter(samples, mixture, os.path.join(out, f"{name}.png"),
            f"{arm}, seed {seed}: {scores['modes_captured']}/{scores['num_modes']} modes")
    result.update(status="completed", train_seconds=state["wall_time_seconds"],
                  eval_seconds=round(time.time() - started, 1), **scores)
    write_json(path, result)
    return result


def mean_std(values):
    """Mean ± sample standard deviation over seeds as "m ± s" (s = 0 for one seed), or "—" for none."""
    if not values:
        return "—"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.2f}"


def table(results, arms):
    """Markdown rows per arm: modes captured and high-quality share (mean ± std over the completed seeds, and per
    seed), diverged seeds, training seconds per step (wall time of the run ÷ steps, set-up included)."""
    lines = ["| arm | modes captured | per seed | high-quality share | per seed | diverged | train s/step |",
             "|---|---|---|---|---|---|---|"]
    for arm in arms:
        rows = [r for r in results if r["arm"] == arm]
        done = [r for r in rows if r["status"] == "completed"]
        diverged = ", ".join(f"seed {r['seed']}" for r in rows if r["status"] == "diverged") or "—"
        modes = [r["modes_captured"] for r in done]
        quality = [r["high_quality"] for r in done]
        seconds = [r["train_seconds"] / r["steps"] for r in done]
        lines.append(f"| {arm} | {mean_std(modes)} of {done[0]['num_modes'] if done else '?'} | "
                     f"{', '.join(str(m) for m in modes) or '—'} | {mean_std(quality)} | "
                     f"{', '.join(f'{q:.3f}' for q in quality) or '—'} | {diverged} | "
                     f"{np.mean(seconds) if seconds else float('nan'):.3f} |")
    return lines


def sample_grid(out, results, arms, seeds, dataset, path):
    """Every run of `dataset` in one figure: a row per arm, a column per seed."""
    from zoo.data import points
    from zoo.plots import pyplot, save_figure

    mixture = points.mixture(dataset)
    figure, axes = pyplot().subplots(len(arms), len(seeds), figsize=(2.4 * len(seeds), 2.4 * len(arms)),
                                     squeeze=False)
    by_key = {(r["arm"], r["seed"]): r for r in results}
    for row, arm in enumerate(arms):
        for column, seed in enumerate(seeds):
            result = by_key[(arm, seed)]
            if result["status"] == "completed":
                samples = generated_points(os.path.join(out, run_name(dataset, arm, seed)), EVAL_SAMPLES)
                title = f"{arm}, seed {seed}: {result['modes_captured']}/{result['num_modes']}"
            else:
                samples, title = None, f"{arm}, seed {seed}: diverged"
            draw_samples(axes[row, column], samples, mixture, title)
    return save_figure(figure, path)


def write_report(path, command, protocol, seeds, datasets, arms, results, out):
    """The Markdown report at `path` (and a figure per dataset beside it): the command, the protocol, the machine,
    the summed wall time, a table per dataset."""
    from zoo.files import write_atomically

    seconds = sum(r.get("train_seconds", 0) + r.get("eval_seconds", 0) for r in results)
    lines = ["# Mode collapse on 2-D mixtures (issue 33)", "",
             f"Command: `{command}`", "",
             f"{protocol['steps']} steps per run, seeds {', '.join(map(str, seeds))}, batch {protocol['batch_size']}, "
             f"settings {protocol['settings']} (Metz et al. 2016's Adam(1e-4, β₁ = 0.5) and 256-d z unless set); "
             f"{EVAL_SAMPLES} samples per run scored by zoo.metrics.modes.known_modes (a mode is captured with ≥ 20 "
             "of 2500 samples within 3σ; high quality: within 3σ of a mode). Wall time: "
             f"{seconds / 3600:.2f} h of training and scoring, summed over the {len(results)} runs (each run's own "
             f"record, across sessions), finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "```", machine_header(), "```"]
    for dataset in datasets:
        figure = f"{os.path.splitext(path)[0]}_{dataset}.png"
        rows = [r for r in results if r["dataset"] == dataset]
        sample_grid(out, rows, arms, seeds, dataset, figure)
        link = os.path.relpath(figure, os.path.dirname(os.path.abspath(path)))
        lines += ["", f"## {dataset}", "", *table(rows, arms), "", f"![{dataset} samples per arm and seed]({link})"]
    write_atomically(path, "\n".join(lines) + "\n")
    return path


def main(argv=None):
    from recipes.losses import LOSSES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=["ring8"], type=parse_names, help="comma-separated of ring8, grid25")
    parser.add_argument("--seeds", default=[0, 1, 2], type=parse_ints)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=METZ["batch_size"])
    parser.add_argument("--arms", default=["non_saturating"], type=parse_names,
                        help=f"comma-separated of {', '.join(ARMS)} or a loss ({', '.join(LOSSES)})")
    parser.add_argument("--set", action="append", default=[], type=parse_setting,
                        help="extra recipe setting NAME=VALUE for every arm, as gan-zoo train's --set")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--out", default=None, help="runs, results and figures (default: a temporary directory)")
    parser.add_argument("--report", default=None, help="write the Markdown report here (e.g. docs/mode_collapse.md)")
    args = parser.parse_args(argv)
    from zoo.data import points

    command = shlex.join(["python", "benchmarks/mode_collapse.py", *(sys.argv[1:] if argv is None else argv)])
    datasets, arms, seeds, extra = args.datasets, args.arms, args.seeds, dict(args.set)
    out = args.out or tempfile.mkdtemp(prefix="mode_collapse_")
    try:
        for dataset in datasets:
            points.mixture(dataset)
        for arm in arms:
            clash = set(arm_settings(arm)) & set(extra)
            if clash:
                raise UserError(f"--set {', '.join(sorted(clash))} clashes with arm {arm}'s own setting; "
                                "choose the arm instead")
            check_arm(arm_config(datasets[0], {**arm_settings(arm), **extra}, seeds[0], args.steps, out,
                                 args.batch_size, args.checkpoint_every))
        protocol = json.loads(json.dumps({"steps": args.steps, "batch_size": args.batch_size, "settings": extra}))
        check_same_protocol(out, protocol)
    except UserError as error:
        print(f"mode_collapse.py: error: {error}", file=sys.stderr)
        return 2
    print(f"{len(datasets) * len(arms) * len(seeds)} runs of {args.steps} steps in {out}", flush=True)
    results = []
    for seed, dataset, arm in ((seed, dataset, arm) for seed in seeds for dataset in datasets for arm in arms):
        result = run_once(out, dataset, arm, seed, protocol, args.checkpoint_every)  # seed-major: a session cut
        results.append(result)  # short leaves every arm with the same seeds done
        scores = (f"{result['modes_captured']}/{result['num_modes']} modes, high quality "
                  f"{result['high_quality']:.3f}" if result["status"] == "completed" else "diverged")
        print(f"{dataset} {arm} seed {seed}: {scores}", flush=True)
    for dataset in datasets:
        print(f"\n{dataset}\n" + "\n".join(table([r for r in results if r["dataset"] == dataset], arms)))
    if args.report:
        print(f"report: {write_report(args.report, command, protocol, seeds, datasets, arms, results, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
