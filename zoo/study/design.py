"""Fair comparison of GAN losses: the protocol of Lucic et al. 2018, "Are GANs Created Equal?"
(https://arxiv.org/abs/1711.10337), as a command.

Every loss trains the *same* networks (one architecture for all arms); each loss gets `trials`
hyper-parameter settings drawn at random from its search space, each trained with `seeds` seeds,
for the same number of generator steps. Every run is an ordinary `gan-zoo train` run directory
(resumable), evaluated on a fixed protocol at the end; a run with a `result.json` is done and
skipped when the study is rerun. Runs execute in child processes, `parallel` at a time.

    out/study.json             the study's protocol (a rerun must match it; trials/seeds may grow)
    out/runs/<loss>/t<trial>-s<seed>/   the run directories, each with result.json when done
    out/results.jsonl          one line per finished run (rebuilt from the result.json files)
"""
import dataclasses
import json
import math
import os
import zlib

import numpy as np

from zoo.errors import UserError
from zoo.files import read_json, write_json


# Shared search space of every loss: name → ("log_uniform", low, high) | ("uniform", low, high) | ("choice", values).
# Narrower than the paper's "wide" space (lr 1e-5..1e-2, β1, β2 in [0, 1]): a CPU budget affords a few trials.
SEARCH_SPACE = {
    "lr": ("log_uniform", 1e-4, 1e-3),
    "beta_1": ("choice", (0.0, 0.5)),
    "beta_2": ("choice", (0.9, 0.999)),
    "n_disc": ("choice", (1, 2)),
}


PENALTY_SPACE = {"penalty_weight": ("log_uniform", 1.0, 30.0)}  # added for losses with a gradient penalty
# Arms that are recipes of their own rather than a loss of the architecture's recipe: BEGAN (Lucic et al.'s seventh
# GAN) trains the zoo's DCGAN generator, as every other arm, against its autoencoder discriminator. Its space: the
# optimizer's (no n_disc: one D and one G update per step, as the paper) and γ (the paper's study: γ ∈ [0, 1]; here
# [0.3, 1.0], as γ → 0 asks for generated images the autoencoder cannot reconstruct at all).
RECIPE_ARMS = {"began": ("began", {name: SEARCH_SPACE[name] for name in ("lr", "beta_1", "beta_2")}
                         | {"gamma": ("uniform", 0.3, 1.0)})}
ARCHITECTURES = {  # architecture → (recipe, settings shared by every arm)
    # no batch norm in D: WGAN-GP's and DRAGAN's penalties are per example, so every arm uses layer norm
    "dcgan": ("dcgan", {"discriminator_norm": "layer"}),
}


DATASETS = ("fashion_mnist", "triangles")
TRIANGLES_SAMPLES = 1000  # samples (and test triangles) of the inversion-based precision/recall
RESULT_FILE = "result.json"
RESULTS_FILE = "results.jsonl"
MAY_CHANGE = ("trials", "seeds", "parallel", "out", "losses")  # protocol fields a rerun may change


@dataclasses.dataclass
class StudyConfig:
    """What `gan-zoo study` accepts."""

    losses: list
    out: str
    dataset: str = "fashion_mnist"
    architecture: str = "dcgan"
    seeds: int = 3
    trials: int = 2
    steps: int = 2000
    batch_size: int = 64
    settings: dict = dataclasses.field(default_factory=dict)  # fixed recipe settings for every arm (e.g. width)
    eval_every: int = 500  # periodic FID of each run (0: off)
    eval_samples: int = 2000  # samples per periodic FID
    final_samples: int = 5000  # samples of the final evaluation
    search_seed: int = 0
    parallel: int = 1
    xla: bool = False
    data_dir: str = None


def check_config(config):
    from recipes import losses

    known = [*losses.LOSSES, *RECIPE_ARMS]
    unknown = [name for name in config.losses if name not in known]
    if len(set(config.losses)) != len(config.losses):
        raise UserError(f"--losses names a loss twice: {','.join(config.losses)}")
    if not config.losses:
        raise UserError(f"--losses names no loss; accepted: {', '.join(known)}")
    if unknown:
        raise UserError(f"Unknown loss(es) {unknown}; known: {', '.join(known)} "
                        "(recipes/losses.py LOSSES, and the recipe arms of zoo/study/design.py RECIPE_ARMS)")
    if config.dataset not in DATASETS:
        raise UserError(f"Unknown study dataset {config.dataset!r}; accepted: {', '.join(DATASETS)} (28x28 grayscale: "
                        "the runs are scored in the Fashion-MNIST evaluator's features)")
    if config.architecture not in ARCHITECTURES:
        raise UserError(f"Unknown architecture {config.architecture!r}; known: {', '.join(ARCHITECTURES)}")
    from zoo.train.config import check_counts

    check_counts(config, ("seeds", "trials", "steps", "batch_size", "eval_samples", "final_samples", "parallel"))
    spaces = {**SEARCH_SPACE, **PENALTY_SPACE, **{name: spec for _, space in RECIPE_ARMS.values()
                                                  for name, spec in space.items()}}
    searched = sorted(set(config.settings) & ({"loss"} | set(spaces)))
    if searched:
        raise UserError(f"--set {', '.join(searched)}: the study sets these per run (loss, and the search space "
                        f"{', '.join(sorted(spaces))}); --set is for settings shared by every run")


def check_recipes(config):
    """Build each loss's first run before starting any: a bad --set fails here, not in every child."""
    import keras

    from zoo.train.build import build_recipe

    for run in plan(dataclasses.replace(config, trials=1, seeds=1)):
        build_recipe(train_config(config, run), (28, 28, 1))
    keras.backend.clear_session()


def search_space(loss):
    """The hyper-parameters sampled per trial of `loss` (a loss of the architecture's recipe, or a recipe arm)."""
    from recipes import losses

    if loss in RECIPE_ARMS:
        return RECIPE_ARMS[loss][1]
    return {**SEARCH_SPACE, **(PENALTY_SPACE if losses.LOSSES[loss].penalty else {})}


def draw(rng, spec):
    kind, *args = spec
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
    if kind == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if kind == "choice":
        value = args[0][rng.integers(len(args[0]))]
        return value.item() if hasattr(value, "item") else value
    raise ValueError(f"unknown search-space kind {kind!r}; accepted: log_uniform, uniform, choice")


def trial_settings(loss, trial, search_seed):
    """Hyper-parameters of trial `trial` of `loss`: a function of (search_seed, loss, trial) only,
    so adding trials or losses leaves the existing ones unchanged."""
    rng = np.random.default_rng([search_seed, zlib.crc32(loss.encode()), trial])
    return {name: draw(rng, spec) for name, spec in sorted(search_space(loss).items())}


def plan(config):
    """Every run of the study: dicts with loss, trial, seed, hyper-parameters and directory. Losses
    alternate, so a study stopped part-way has covered every loss about equally."""
    return [{"loss": loss, "trial": trial, "seed": seed, "hyperparameters": trial_settings(loss, trial, config.search_seed),
             "dir": run_dir(config.out, loss, trial, seed)}
            for trial in range(config.trials) for seed in range(config.seeds) for loss in config.losses]


def train_config(config, run):
    """The `zoo.train.config.TrainConfig` of one run."""
    from zoo.train.config import TrainConfig

    recipe, shared = ARCHITECTURES[config.architecture]
    settings = {**shared, **config.settings, **run["hyperparameters"], "loss": run["loss"]}
    if run["loss"] in RECIPE_ARMS:  # its own recipe: the architecture's settings (D's norm, the loss) are not its
        recipe, settings = RECIPE_ARMS[run["loss"]][0], {**config.settings, **run["hyperparameters"]}
    return TrainConfig.with_settings(
        settings, recipe=recipe, out=run["dir"], dataset=config.dataset, data_dir=config.data_dir, steps=config.steps,
        batch_size=config.batch_size, seed=run["seed"], strategy="default", jit_compile=config.xla,
        mixed_precision=False,  # every arm in float32: a precision measured per arm could differ between arms
        eval_every=config.eval_every, eval_samples=config.eval_samples, log_every=min(100, config.steps),
        sample_every=config.steps, checkpoint_every=min(500, config.steps), keep_checkpoints=1, verbose=0,
        command=f"gan-zoo study --out {config.out} (run {run['dir']})")


def protocol(config):
    return {**dataclasses.asdict(config), "search_space": {loss: search_space(loss) for loss in config.losses},
            "architecture_settings": ARCHITECTURES[config.architecture][1]}


def check_same_study(config):
    """Write study.json on the first run; on a rerun refuse a different protocol (trials/seeds may change)."""
    path = os.path.join(config.out, "study.json")
    current = json.loads(json.dumps(protocol(config)))
    if os.path.exists(path):
        previous = read_json(path)
        common = set(previous["losses"]) & set(current["losses"])  # losses may be added or dropped
        spaces = [{loss: protocol["search_space"][loss] for loss in common} for protocol in (previous, current)]
        changed = sorted(k for k in set(previous) | set(current)
                         if k not in MAY_CHANGE + ("search_space",) and previous.get(k) != current.get(k))
        changed += ["search_space"] if spaces[0] != spaces[1] else []
        if changed:
            raise UserError(f"{config.out} holds a study with a different protocol ({', '.join(changed)} changed); "
                            "rerun with the same arguments (other --trials, --seeds or --losses are fine), or choose "
                            "a new --out")
    os.makedirs(config.out, exist_ok=True)
    write_json(path, current)


def is_done(run):
    return os.path.exists(os.path.join(run["dir"], RESULT_FILE))


def run_dir(out, loss, trial, seed):
    """Where one run of a study lives (the study plans its runs there; the report reads them)."""
    return os.path.join(out, "runs", loss, f"t{trial:02d}-s{seed}")
