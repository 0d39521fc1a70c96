"""Figures of evaluation reports (matplotlib, Agg backend: no display needed)."""
import io
import os

import numpy as np

TRUNCATION_LABEL = "generator ψ={:g}"


def pyplot():
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path, dpi=100):
    """Render `figure` (format from the extension) and write it to `path` atomically."""
    from zoo.files import write_atomically

    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format=os.path.splitext(path)[1].lstrip(".") or "png")
    pyplot().close(figure)
    return write_atomically(path, buffer.getvalue())


def truncation_label(psi):
    return TRUNCATION_LABEL.format(psi)


def truncation_curve(report, truncations, path):
    """FID (and precision / recall when measured) vs truncation ψ, mean ± std over seeds, with the
    real-train baseline as a line: the quality/diversity trade-off of the truncation trick."""
    plt = pyplot()
    rows = report["results"]
    psis = sorted(truncations)
    panels = [["fid"]] + ([["precision", "recall"]] if "precision" in rows[truncation_label(psis[0])] else [])
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for axis, metrics in zip(axes[0], panels):
        for metric in metrics:
            means = np.array([rows[truncation_label(p)][metric]["mean"] for p in psis])
            stds = np.array([rows[truncation_label(p)][metric]["std"] for p in psis])
            line = axis.errorbar(psis, means, yerr=stds, marker="o", capsize=3, label=metric)
            baseline = rows.get("real train (baseline)", {}).get(metric)
            if baseline:
                axis.axhline(baseline["mean"], linestyle="--", color=line[0].get_color(),
                             label=f"{metric}, real train")
        axis.set_xlabel("truncation ψ")
        axis.set_ylabel(" / ".join(metrics))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    protocol = report["protocol"]
    figure.suptitle(f"{protocol['feature_extractor']['name']} features, {protocol['num_samples']} samples × "
                    f"{len(protocol['seeds'])} seeds vs {protocol['dataset']} {protocol['reference_split']}",
                    fontsize=9)
    return save_figure(figure, path, dpi=120)


def training_curves(curve, path, title=""):
    """Losses over steps (one panel) and, when measured, periodic FID (a second panel)."""
    plt = pyplot()
    losses, evaluations = curve.get("losses", []), curve.get("eval", [])
    panels = 1 + bool(evaluations)
    figure, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.4), squeeze=False)
    names = sorted({key for row in losses for key in row if key != "step"})
    for name in names:
        points = [(row["step"], row[name]) for row in losses if name in row]
        axes[0][0].plot(*zip(*points), label=name, linewidth=1)
    axes[0][0].set_xlabel("generator step")
    axes[0][0].set_ylabel("loss (symmetric log scale)")
    axes[0][0].set_yscale("symlog", linthresh=1e-2)  # losses of one recipe differ by orders of magnitude
    axes[0][0].grid(alpha=0.3)
    if names:
        axes[0][0].legend(fontsize=7)
    if evaluations:
        axes[0][1].plot([row["step"] for row in evaluations], [row["fid"] for row in evaluations], marker="o")
        axes[0][1].set_xlabel("generator step")
        axes[0][1].set_ylabel(f"FID ({evaluations[0].get('num_samples', '?')} samples, evaluator features)")
        axes[0][1].grid(alpha=0.3)
    figure.suptitle(title, fontsize=9)
    return save_figure(figure, path)


def score_boxplot(scores_by_arm, path, ylabel, title=""):
    """One box per arm (its runs' scores) with every run drawn as a dot over it."""
    plt = pyplot()
    arms = list(scores_by_arm)
    figure, axis = plt.subplots(figsize=(1.4 * len(arms) + 2, 3.6))
    axis.boxplot([scores_by_arm[arm] for arm in arms], showfliers=False)
    for index, arm in enumerate(arms, start=1):
        values = scores_by_arm[arm]
        jitter = np.random.default_rng(index).uniform(-0.12, 0.12, len(values))
        axis.plot(index + jitter, values, "o", markersize=3, alpha=0.6, color="tab:blue")
    axis.set_xticks(range(1, len(arms) + 1), arms, rotation=20, fontsize=8)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3, axis="y")
    axis.set_title(title, fontsize=9)
    return save_figure(figure, path)


def budget_curves(curves, path, ylabel, title=""):
    """Expected best score vs budget per arm: {arm: (budgets, mean, low, high)}, band = interval."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    for arm, (budgets, mean, low, high) in curves.items():
        line, = axis.plot(budgets, mean, marker="o", markersize=3, label=arm)
        axis.fill_between(budgets, low, high, color=line.get_color(), alpha=0.15)
    axis.set_xlabel("budget (models trained)")
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title, fontsize=9)
    return save_figure(figure, path)


def precision_recall_scatter(points_by_arm, path, title=""):
    """Each run as a (recall, precision) point, one colour per arm."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(4.6, 4.0))
    for arm, points in points_by_arm.items():
        if points:
            axis.scatter(*zip(*points), s=14, alpha=0.7, label=arm)
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(title, fontsize=9)
    return save_figure(figure, path)
