"""Run a study: each run in a child process (`parallel` at a time, resumable), its final metrics, and
results.jsonl."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from zoo.errors import sigterm_as_interrupt
from zoo.files import read_json, write_atomically, write_json
from zoo.study.design import (RESULTS_FILE, RESULT_FILE, StudyConfig, TRIANGLES_SAMPLES, check_config, check_recipes,
                              check_same_study, is_done, plan, train_config)


def run_one(spec_path):
    """Train one run (resuming), evaluate it, write result.json. Called in a child process."""
    spec = read_json(spec_path)
    config, run = StudyConfig(**spec["config"]), spec["run"]
    from zoo.errors import TrainingDiverged
    from zoo.train.loop import train

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
    from zoo.eval import metric_registry, scoring
    from zoo.metrics import features
    from zoo.sampling import sampler
    from zoo.train.run_directory import recipe_from_run

    recipe, _ = recipe_from_run(run["dir"])
    extractor = features.fashion_mnist_evaluator()
    reference, _ = scoring.reference_features(extractor, config.dataset, "test", 500, config.data_dir)
    generated = scoring.extract_features(
        extractor, scoring.generated_batches(sampler(recipe)(0), config.final_samples, 500))
    metrics = metric_registry.compute_metrics(generated, reference, ("fid", "kid", "precision_recall"))
    if config.dataset == "triangles":
        from zoo.data import triangles

        inversion = triangles.precision_recall_f1(recipe.sampling_generator, recipe.latent_dim,
                                                  num_samples=min(config.final_samples, TRIANGLES_SAMPLES), seed=0)
        metrics.update({f"triangles_{name}": value for name, value in inversion.items() if name != "protocol"})
        metrics["triangles_protocol"] = inversion.get("protocol")
    return {name: (float(value) if isinstance(value, (float, np.floating)) else value)
            for name, value in metrics.items()}


def periodic_fid(directory):
    """The run's periodic FID curve (eval.jsonl; a resumed run may repeat a step: the last wins)."""
    from zoo.train import run_directory

    rows = run_directory.read_steps(os.path.join(directory, run_directory.EVAL_FILE))
    by_step = {row["step"]: row["fid"] for row in rows}
    if not by_step:
        return {}
    steps = sorted(by_step)
    best = min(steps, key=by_step.get)
    return {"fid_curve": [[step, by_step[step]] for step in steps], "best_fid": by_step[best], "best_fid_step": best}


def child_command(spec_path):
    """A child process running one run. It answers SIGINT (`stop`) even when started from a background
    shell, which starts its jobs with SIGINT ignored."""
    return [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from zoo.study.runner import run_one; sys.exit(run_one(sys.argv[1]))", spec_path]


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
    write_atomically(path, "".join(json.dumps(result, sort_keys=True) + "\n" for result in results))
    return results


def study(config, progress=print):
    """Run (or resume) the study and write its report; return the report path and the failed runs."""
    check_config(config)
    check_recipes(config)
    check_same_study(config)
    with sigterm_as_interrupt():  # Ctrl-C or SIGTERM: the runs checkpoint and stop (exit 143 for SIGTERM)
        _, failed = execute(config, progress)
    results = collect(config)
    from zoo.study import analysis

    report = analysis.write_report(config.out, read_json(os.path.join(config.out, "study.json")), results)
    return report, failed
