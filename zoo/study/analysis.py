"""The report of a `gan-zoo study`: score distributions per loss, expected best score vs budget,
precision/recall, and every run's configuration and metrics (report.md + PNG figures)."""
import glob
import math
import os
import shutil

import numpy as np

from zoo import plots
from zoo.study.design import run_dir
from zoo.train import run_directory

BOOTSTRAP_SAMPLES = 2000
MIN_RUNS_TO_COMPARE = 3  # fewer runs give a bootstrap of 1–3 distinct means: no interval worth reading
TRIANGLES_TEXT = ("- Triangles (zoo/data/triangles.py): precision = share of samples within δ = 0.3 RMS of the triangle "
                  "manifold (distance by projected Adam on the vertices), recall = share of test triangles the "
                  "generator reproduces within δ (latent optimisation), F1 = 2PR/(P+R); on up to 1000 samples and "
                  "test triangles.\n")


def score_name(protocol):
    """The study's headline score: inversion F1 on triangles (higher is better), else FID (lower)."""
    return ("triangles_f1", "higher") if protocol["dataset"] == "triangles" else ("fid", "lower")


def completed(results, loss):
    return [r for r in results if r["loss"] == loss and r["status"] == "completed"]


def mean_std(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    return f"{np.mean(values):.3g} ± {np.std(values):.2g}" if len(values) > 1 else f"{values[0]:.3g}"


def best_of(direction):
    return min if direction == "lower" else max


def worst_finished(results, score, direction):
    """The study's worst finished score: what a diverged run counts as in the budget curve."""
    scores = [r[score] for r in results if r["status"] == "completed" and score in r]
    if not scores:
        return math.inf if direction == "lower" else -math.inf
    return max(scores) if direction == "lower" else min(scores)


def by_trial(results, loss, score, diverged_as=None):
    """{trial: [scores of its seeds]}; diverged runs score `diverged_as`, or are left out when it is None."""
    trials = {}
    for result in (r for r in results if r["loss"] == loss):
        finished = result["status"] == "completed" and score in result
        if finished or diverged_as is not None:
            trials.setdefault(result["trial"], []).append(result[score] if finished else diverged_as)
    return trials


def expected_best(trials, budgets, direction, samples=BOOTSTRAP_SAMPLES, seed=0):
    """E[best score among k models] for each budget k, by bootstrap: draw k trials with replacement,
    one random seed run of each, keep the best (Lucic et al. 2018, Figure 4). Returns (mean, 5th, 95th
    percentile) arrays."""
    rng = np.random.default_rng(seed)
    runs = list(trials.values())
    best = np.min if direction == "lower" else np.max  # over a whole axis
    curves = []
    for k in budgets:
        picks = rng.integers(len(runs), size=(samples, k))
        draws = np.array([[runs[t][rng.integers(len(runs[t]))] for t in row] for row in picks])
        curves.append(best(draws, axis=1))
    curves = np.array(curves)
    finite = np.where(np.isfinite(curves), curves, np.nan)
    return np.nanmean(finite, axis=1), np.nanpercentile(finite, 5, axis=1), np.nanpercentile(finite, 95, axis=1)


def seed_noise(trials):
    """Mean over trials of the sample std (ddof=1) of a trial's scores across its seeds."""
    stds = [np.std(scores, ddof=1) for scores in trials.values() if len(scores) > 1]
    return float(np.mean(stds)) if stds else float("nan")


def resampled_means(trials, rng, samples):
    """Bootstrap means of a loss's score, resampling trials, then seeds within each drawn trial
    (runs of one trial share hyper-parameters: they are not independent draws)."""
    runs = list(trials.values())
    means = np.empty(samples)
    for index in range(samples):
        picked = [runs[t] for t in rng.integers(len(runs), size=len(runs))]
        means[index] = np.mean([value for seeds in picked for value in rng.choice(seeds, len(seeds))])
    return means


def mean_difference_interval(trials_a, trials_b, samples=BOOTSTRAP_SAMPLES, seed=0):
    """95% interval of mean(A) - mean(B) by a two-level bootstrap (`resampled_means`)."""
    rng = np.random.default_rng(seed)
    differences = resampled_means(trials_a, rng, samples) - resampled_means(trials_b, rng, samples)
    return float(np.percentile(differences, 2.5)), float(np.percentile(differences, 97.5))


def best_run_samples(out, results, losses, score, direction):
    """Copy each loss's best run's last sample grid to out/best_samples/<loss>.png; returns {loss: (path, result)}."""

    pick = best_of(direction)
    copied = {}
    for loss in losses:
        scored = [r for r in completed(results, loss) if score in r]
        if not scored:
            continue
        best = pick(scored, key=lambda r: r[score])
        grids = sorted(glob.glob(os.path.join(run_dir(out, loss, best["trial"], best["seed"]), run_directory.SAMPLES, "*.png")))
        if grids:
            path = os.path.join(out, "best_samples", f"{loss}.png")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copyfile(grids[-1], path)
            copied[loss] = (path, best)
    return copied


# --- markdown ------------------------------------------------------------------------------------
def summary_table(results, losses, score, direction):
    extra = [("triangles_precision", "tri. precision"), ("triangles_recall", "tri. recall")] \
        if score == "triangles_f1" else []
    header = ["loss", "runs (diverged)", f"{score} mean ± std", "median", "best run", "best trial (mean ± std)",
              "seed noise (std)", "precision", "recall", *[label for _, label in extra], "wall s / run"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for loss in losses:
        done = completed(results, loss)
        runs = [r for r in results if r["loss"] == loss]
        scores = [r[score] for r in done if score in r]
        trials = by_trial(results, loss, score)
        pick = best_of(direction)
        best_trial = pick(trials.values(), key=lambda s: np.mean(s)) if trials else []
        cells = [loss, f"{len(runs)} ({len(runs) - len(done)})", mean_std(scores),
                 f"{np.median(scores):.3g}" if scores else "–", f"{pick(scores):.3g}" if scores else "–",
                 mean_std(best_trial), f"{seed_noise(trials):.2g}",
                 mean_std([r.get("precision") for r in done]), mean_std([r.get("recall") for r in done]),
                 *[mean_std([r.get(key) for r in done]) for key, _ in extra],
                 f"{np.mean([r['session_seconds'] for r in runs]):.0f}" if runs else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def budget_table(curves, budgets):
    lines = ["| loss | " + " | ".join(f"k={k}" for k in budgets) + " |", "|---|" + "---:|" * len(budgets)]
    for loss, (_, mean, low, high) in curves.items():
        lines.append(f"| {loss} | " + " | ".join(f"{m:.3g} [{lo:.3g}, {hi:.3g}]"
                                                 for m, lo, hi in zip(mean, low, high)) + " |")
    return "\n".join(lines)


def pairwise_table(results, losses, score):
    """Every pair of losses: difference of mean scores over their finished runs, with a 95% two-level
    bootstrap interval; 'within noise' when the interval contains 0."""
    lines = [f"| A | B | mean {score} A − B | 95% interval | reading |", "|---|---|---:|---|---|"]
    for i, first in enumerate(losses):
        for second in losses[i + 1:]:
            trials_a, trials_b = by_trial(results, first, score), by_trial(results, second, score)
            a = [value for seeds in trials_a.values() for value in seeds]
            b = [value for seeds in trials_b.values() for value in seeds]
            if min(len(a), len(b)) < MIN_RUNS_TO_COMPARE:
                lines.append(f"| {first} | {second} | {np.mean(a) - np.mean(b):+.3g} | – | too few runs "
                             f"(a bootstrap needs ≥ {MIN_RUNS_TO_COMPARE} per loss) |" if a and b else
                             f"| {first} | {second} | – | – | no finished runs |")
                continue
            low, high = mean_difference_interval(trials_a, trials_b)
            reading = "within noise" if low <= 0 <= high else "differs"
            lines.append(f"| {first} | {second} | {np.mean(a) - np.mean(b):+.3g} | [{low:+.3g}, {high:+.3g}] | "
                         f"{reading} |")
    return "\n".join(lines)


def format_settings(settings):
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(settings.items()))


def runs_table(results, score):
    columns = ["fid", "best_fid", "kid", "precision", "recall", "triangles_precision", "triangles_recall",
               "triangles_f1", "triangles_manifold_distance", "triangles_inversion_distance"]
    columns = [c for c in columns if any(c in r for r in results)]
    header = ["loss", "trial", "seed", "hyper-parameters", "status", *columns, "best FID step", "wall s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in sorted(results, key=lambda r: (r["loss"], r["trial"], r["seed"])):
        values = [f"{r[c]:.4g}" if isinstance(r.get(c), (int, float)) else "–" for c in columns]
        lines.append("| " + " | ".join([r["loss"], str(r["trial"]), str(r["seed"]), format_settings(r["hyperparameters"]),
                                        r["status"], *values, str(r.get("best_fid_step", "–")),
                                        f"{r.get('session_seconds', 0):.0f}"]) + " |")
    return "\n".join(lines)


def study_command(protocol):
    """The `gan-zoo study` command that reproduces (or resumes) the study."""
    import shlex

    options = ["--losses", ",".join(protocol["losses"])]
    for name in ("dataset", "architecture", "seeds", "trials", "steps", "batch_size", "eval_every", "eval_samples",
                 "final_samples", "search_seed", "parallel"):
        options += [f"--{name.replace('_', '-')}", str(protocol[name])]
    for key, value in sorted(protocol["settings"].items()):
        options += ["--set", f"{key}={value}"]
    return shlex.join(["gan-zoo", "study", *options, *(["--xla"] if protocol["xla"] else []), "--out", protocol["out"]])


def recorded_machine(out, results):
    """The machine of the first finished run (its train_state.json)."""
    from zoo.files import read_json
    from zoo.provenance import describe_machine

    for result in results:
        path = os.path.join(run_dir(out, result["loss"], result["trial"], result["seed"]),
                            run_directory.STATE_FILE)
        if os.path.exists(path):
            return describe_machine(read_json(path).get("machine"))
    return describe_machine(None)


def protocol_text(protocol, results):
    losses = protocol["losses"]
    spaces = "\n".join(f"- `{loss}`: " + ", ".join(f"{name} {spec[0]}{tuple(spec[1:]) if spec[0] != 'choice' else spec[1]}"
                                                   for name, spec in sorted(protocol["search_space"][loss].items()))
                       for loss in losses)
    shared = {**protocol["architecture_settings"], **protocol["settings"]}
    total = sum(r.get("session_seconds", 0) for r in results)
    return (f"- Command: `{study_command(protocol)}`\n"
            f"- Dataset `{protocol['dataset']}`, architecture `{protocol['architecture']}` for every loss "
            f"(shared settings: {format_settings(shared) or 'defaults'}), {protocol['steps']} generator steps, "
            f"global batch {protocol['batch_size']}{', XLA' if protocol['xla'] else ''}.\n"
            f"- {protocol['trials']} hyper-parameter trial(s) per loss, drawn at random (search seed "
            f"{protocol['search_seed']}), × {protocol['seeds']} seed(s) each; seeds are shared across losses "
            "(same initialisation stream and data order per seed).\n"
            f"- Final evaluation: {protocol['final_samples']} samples (sampling seed 0) of the last checkpoint vs the "
            "test split, in the Fashion-MNIST evaluator's features (FID, KID; precision/recall of Kynkäänniemi et al. "
            f"2019, k=3). Periodic FID every {protocol['eval_every']} steps on {protocol['eval_samples']} samples "
            "(the `best FID` column).\n"
            f"{TRIANGLES_TEXT if protocol['dataset'] == 'triangles' else ''}"
            f"- Runs finished: {len(results)}; compute summed over runs: {total / 3600:.2f} h on "
            f"{recorded_machine(protocol['out'], results)} ({protocol['parallel']} run(s) at a time).\n\n"
            f"Search spaces:\n{spaces}")


def write_report(out, protocol, results):
    """report.md and figures in `out`; returns the report's path."""
    losses = protocol["losses"]
    score, direction = score_name(protocol)
    label = {"fid": "FID (evaluator features, lower is better)",
             "triangles_f1": "F1 by generator inversion (higher is better)"}[score]
    figures = {}
    scores = {loss: [r[score] for r in completed(results, loss) if score in r] for loss in losses}
    if any(scores.values()):
        figures["box"] = plots.score_boxplot(scores, os.path.join(out, f"{score}_distribution.png"), label,
                                             f"{protocol['dataset']}: final {score} of every run")
    budgets = list(range(1, protocol["trials"] * protocol["seeds"] + 1))
    curves = {}
    diverged_as = worst_finished(results, score, direction)
    for loss in losses:
        trials = by_trial(results, loss, score, diverged_as=diverged_as)
        if trials:
            curves[loss] = (budgets, *expected_best(trials, budgets, direction))
    if curves:
        figures["budget"] = plots.budget_curves(curves, os.path.join(out, f"{score}_vs_budget.png"),
                                                f"expected best {score}", "bootstrap over trials (5–95% band)")
    points = {loss: [(r["recall"], r["precision"]) for r in completed(results, loss) if "recall" in r] for loss in losses}
    if any(points.values()):
        figures["pr"] = plots.precision_recall_scatter(points, os.path.join(out, "precision_recall.png"),
                                                       "every run, evaluator features (k=3)")
    text = [f"# GAN loss study: {protocol['dataset']}, {len(losses)} losses\n",
            "Generated by `gan-zoo study` (zoo/study/) following the protocol of Lucic et al. 2018, "
            "\"Are GANs Created Equal?\" (https://arxiv.org/abs/1711.10337): one architecture, a random "
            "hyper-parameter search per loss, several seeds, distributions rather than best runs.\n",
            "## Protocol\n", protocol_text(protocol, results) + "\n",
            f"## Summary ({score})\n", summary_table(results, losses, score, direction) + "\n",
            "Seed noise: the mean, over trials, of the sample std (ddof=1) of a trial's score across its seeds. "
            "Diverged runs are counted but have no score; in the budget curve each counts as the study's worst "
            "finished score.\n"]
    if "box" in figures:
        text += [f"![{score} per loss]({os.path.basename(figures['box'])})\n"]
    if curves:
        text += ["## Expected best score vs budget\n",
                 "Budget k = models trained. For each k: draw k trials with replacement, one random seed run of "
                 f"each, keep the best {score}; mean over {BOOTSTRAP_SAMPLES} bootstrap draws [5th, 95th percentile].\n",
                 f"![expected best {score} vs budget]({os.path.basename(figures['budget'])})\n",
                 budget_table(curves, budgets) + "\n"]
    text += ["## Which differences exceed the noise\n",
             "Difference of mean scores over the finished runs of two losses, with a 95% bootstrap interval that "
             "resamples trials, then seeds within each trial (runs of one trial share hyper-parameters); an "
             "interval containing 0 means the study cannot tell the two losses apart.\n",
             pairwise_table(results, losses, score) + "\n"]
    if "pr" in figures:
        text += ["## Precision and recall\n", f"![precision vs recall]({os.path.basename(figures['pr'])})\n"]
    samples = best_run_samples(out, results, losses, score, direction)
    if samples:
        text += ["## Samples of each loss's best run\n", "Last sample grid (fixed latents) of the run with the best final "
                 f"{score}.\n", "| " + " | ".join(samples) + " |", "|" + "---|" * len(samples),
                 "| " + " | ".join(f"![{loss}](best_samples/{loss}.png)" for loss in samples) + " |",
                 "| " + " | ".join(f"trial {r['trial']} seed {r['seed']}: {score} {r[score]:.3g}"
                                   for _, r in samples.values()) + " |\n"]
    text += ["## Every run\n", runs_table(results, score) + "\n"]
    path = os.path.join(out, "report.md")
    with open(path, "w") as handle:
        handle.write("\n".join(text))
    return path
