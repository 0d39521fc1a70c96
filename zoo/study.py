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
import signal
import subprocess
import sys
import time
import zlib

import numpy as np

from zoo.errors import UserError
from zoo.study_report import run_dir
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


# --- the plan ------------------------------------------------------------------------------
def check_config(config):
    from recipes import losses

    unknown = [name for name in config.losses if name not in losses.LOSSES]
    if len(set(config.losses)) != len(config.losses):
        raise UserError(f"--losses names a loss twice: {','.join(config.losses)}")
    if unknown or not config.losses:
        raise UserError(f"Unknown loss(es) {unknown or config.losses}; known: {', '.join(losses.LOSSES)} "
                        "(recipes/losses.py LOSSES)")
    if config.dataset not in DATASETS:
        raise UserError(f"Unknown study dataset {config.dataset!r}; accepted: {', '.join(DATASETS)} (28x28 grayscale: "
                        "the runs are scored in the Fashion-MNIST evaluator's features)")
    if config.architecture not in ARCHITECTURES:
        raise UserError(f"Unknown architecture {config.architecture!r}; known: {', '.join(ARCHITECTURES)}")
    from zoo.training import check_counts

    check_counts(config, ("seeds", "trials", "steps", "batch_size", "eval_samples", "final_samples", "parallel"))
    searched = sorted(set(config.settings) & ({"loss"} | set(SEARCH_SPACE) | set(PENALTY_SPACE)))
    if searched:
        raise UserError(f"--set {', '.join(searched)}: the study sets these per run (loss, and the search space "
                        f"{', '.join(sorted({**SEARCH_SPACE, **PENALTY_SPACE}))}); --set is for settings shared by every run")


def check_recipes(config):
    """Build each loss's first run before starting any: a bad --set fails here, not in every child."""
    import keras

    from zoo.training import build_recipe

    for run in plan(dataclasses.replace(config, trials=1, seeds=1)):
        build_recipe(train_config(config, run), (28, 28, 1))
    keras.backend.clear_session()


def search_space(loss):
    """The hyper-parameters sampled per trial of `loss`."""
    from recipes import losses

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
    """The `zoo.training.TrainConfig` of one run."""
    from zoo.training import OPTIMIZER_KEYS, TrainConfig

    recipe, shared = ARCHITECTURES[config.architecture]
    settings = {**shared, **config.settings, **run["hyperparameters"], "loss": run["loss"]}
    return TrainConfig(
        recipe=recipe, out=run["dir"], dataset=config.dataset, data_dir=config.data_dir, steps=config.steps,
        batch_size=config.batch_size, seed=run["seed"], strategy="default", jit_compile=config.xla,
        recipe_args={k: v for k, v in settings.items() if k not in OPTIMIZER_KEYS},
        optimizer_args={k: v for k, v in settings.items() if k in OPTIMIZER_KEYS},
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


# --- one run (in a child process) -------------------------------------------------------------
def run_one(spec_path):
    """Train one run (resuming), evaluate it, write result.json. Called in a child process."""
    spec = read_json(spec_path)
    config, run = StudyConfig(**spec["config"]), spec["run"]
    from zoo.errors import TrainingDiverged
    from zoo.training import train

    started = time.time()
    try:
        state = train(train_config(config, run))
        status, metrics = "completed", final_metrics(config, run)
    except TrainingDiverged as error:
        state, status, metrics = {"step": None}, "diverged", {"error": str(error)}
    result = {key: run[key] for key in ("loss", "trial", "seed", "hyperparameters")}
    result.update(status=status, step=state.get("step"), wall_time_seconds=state.get("wall_time_seconds"),
                  session_seconds=round(time.time() - started, 1), **metrics, **periodic_fid(run["dir"]))
    write_json(os.path.join(run["dir"], RESULT_FILE), result)
    return 0


def final_metrics(config, run):
    """FID, KID, precision and recall (Kynkäänniemi et al. 2019, k=3) of `final_samples` samples
    (seed 0) against the test split, in the Fashion-MNIST evaluator's features; on triangles
    also the inversion-based precision, recall and F1 of `zoo.triangles`."""
    from zoo import evaluation
    from zoo.generators import recipe_from_run, sampler
    from zoo.metrics import features

    recipe, _ = recipe_from_run(run["dir"])
    extractor = features.fashion_mnist_evaluator()
    reference, _ = evaluation.reference_features(extractor, config.dataset, "test", 500, config.data_dir)
    generated = evaluation.extract_features(
        extractor, evaluation.generated_batches(sampler(recipe)(0), config.final_samples, 500))
    metrics = evaluation.compute_metrics(generated, reference, ("fid", "kid", "precision_recall"))
    if config.dataset == "triangles":
        from zoo import triangles

        inversion = triangles.precision_recall_f1(recipe.sampling_generator, recipe.latent_dim,
                                                  num_samples=min(config.final_samples, TRIANGLES_SAMPLES), seed=0)
        metrics.update({f"triangles_{name}": value for name, value in inversion.items() if name != "protocol"})
        metrics["triangles_protocol"] = inversion.get("protocol")
    return {name: (float(value) if isinstance(value, (float, np.floating)) else value)
            for name, value in metrics.items()}


def periodic_fid(directory):
    """The run's periodic FID curve (eval.jsonl; a resumed run may repeat a step: the last wins)."""
    from zoo.training import EVAL_FILE

    path = os.path.join(directory, EVAL_FILE)
    if not os.path.exists(path):
        return {}
    by_step = {}
    with open(path) as handle:
        for line in handle:
            entry = json.loads(line)
            by_step[entry["step"]] = entry["fid"]
    steps = sorted(by_step)
    best = min(steps, key=by_step.get)
    return {"fid_curve": [[step, by_step[step]] for step in steps], "best_fid": by_step[best], "best_fid_step": best}


# --- the study --------------------------------------------------------------------------------
def is_done(run):
    return os.path.exists(os.path.join(run["dir"], RESULT_FILE))


def child_command(spec_path):
    """A child process running one run. It answers SIGINT (`stop`) even when started from a background
    shell, which starts its jobs with SIGINT ignored."""
    return [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from zoo.study import run_one; sys.exit(run_one(sys.argv[1]))", spec_path]


def child_environment(parallel):
    """Split the cores between the concurrent runs (TensorFlow reads these at start-up)."""
    threads = str(max(1, (os.cpu_count() or 1) // parallel))
    return {**os.environ, "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1" if parallel > 1 else "0",
            "TF_CPP_MIN_LOG_LEVEL": "2"}


def start_run(config, run):
    os.makedirs(run["dir"], exist_ok=True)
    spec_path = os.path.join(run["dir"], "study_run.json")
    write_json(spec_path, {"config": dataclasses.asdict(config), "run": run})
    log = open(os.path.join(run["dir"], "study_run.log"), "a")
    return subprocess.Popen(child_command(spec_path), stdout=log, stderr=subprocess.STDOUT,
                            env=child_environment(config.parallel), start_new_session=True), log  # Ctrl-C: see stop


def stop(running, grace_seconds=120):
    """Interrupt the running children once (each saves a checkpoint and exits), wait, close their logs.
    They run in their own sessions, so a terminal's Ctrl-C reaches only the study, which forwards it."""
    for _, process, _, _ in running:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for _, process, log, _ in running:
        try:
            process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def interrupt_on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def execute(config, progress=print):
    """Run every unfinished run, `parallel` at a time; return (finished, failed) runs of this call."""
    pending = [run for run in plan(config) if not is_done(run)]
    running, finished, failed = [], [], []
    progress(f"study {config.out}: {len(plan(config)) - len(pending)} run(s) done, {len(pending)} to run, "
             f"{config.parallel} at a time")
    try:
        wait_for_runs(config, pending, running, finished, failed, progress)
    finally:  # Ctrl-C or SIGTERM: the children checkpoint and stop; the next rerun resumes them
        stop(running)
        collect(config)
    return finished, failed


def wait_for_runs(config, pending, running, finished, failed, progress):
    """Start pending runs as slots free up; file each ended run under finished or failed."""
    while pending or running:
        while pending and len(running) < config.parallel:
            run = pending.pop(0)
            running.append((run, *start_run(config, run), time.time()))
        time.sleep(0.5)
        for entry in list(running):
            run, process, log, started = entry
            if process.poll() is None:
                continue
            running.remove(entry)
            log.close()
            name = f"{run['loss']} trial {run['trial']} seed {run['seed']}"
            if process.returncode == 0 and is_done(run):
                finished.append(run)
                result = read_json(os.path.join(run["dir"], RESULT_FILE))
                score = ", ".join(f"{label} {result[key]:.3g}" for key, label in
                                  (("fid", "FID"), ("triangles_f1", "triangles F1")) if key in result) or result["status"]
                progress(f"  done: {name} ({score}, {time.time() - started:.0f} s)")
            else:
                failed.append(run)
                progress(f"  FAILED: {name} (exit {process.returncode}; log: {run['dir']}/study_run.log)")
            collect(config)


def collect(config):
    """results.jsonl from the finished runs' result.json files, in plan order."""
    results = [read_json(os.path.join(run["dir"], RESULT_FILE)) for run in plan(config) if is_done(run)]
    path = os.path.join(config.out, RESULTS_FILE)
    with open(path + ".tmp", "w") as handle:
        for result in results:
            handle.write(json.dumps(result, sort_keys=True) + "\n")
    os.replace(path + ".tmp", path)
    return results


def study(config, progress=print):
    """Run (or resume) the study and write its report; return the report path and the failed runs."""
    check_config(config)
    check_recipes(config)
    check_same_study(config)
    previous_handler = signal.signal(signal.SIGTERM, interrupt_on_sigterm)
    try:
        _, failed = execute(config, progress)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    results = collect(config)
    from zoo import study_report

    report = study_report.write_report(config.out, read_json(os.path.join(config.out, "study.json")), results)
    return report, failed
