"""Tiny `gan-zoo train` runs the recipes' CLI tests share: train, stop, resume."""
import numpy as np

from zoo import cli
from zoo.files import read_json


def train_then_resume(recipe, dataset, settings, run):
    """`gan-zoo train RECIPE` on `dataset` (batch 8, a checkpoint and a grid every 2 steps) for 2 steps, then the
    same command to 3 steps, which resumes from the step-2 checkpoint. `settings`: {key: value} for --set.
    Returns the run's final train_state.json, after checking its two sessions and finite logs."""
    options = [part for key, value in settings.items() for part in ("--set", f"{key}={value}")]

    def train(steps):
        return cli.main(["train", recipe, "--dataset", dataset, *options, "--steps", str(steps), "--batch-size", "8",
                         "--checkpoint-every", "2", "--sample-every", "2", "--log-every", "1", "--out", run, "--quiet"])

    assert train(2) == 0 and train(3) == 0
    state = read_json(f"{run}/train_state.json")
    assert state["step"] == 3 and [(s["from_step"], s["to_step"]) for s in state["sessions"]] == [(0, 2), (2, 3)]
    assert all(np.isfinite(value) for value in state["logs"].values())
    assert {key: read_json(f"{run}/run.json")["recipe_config"][key] for key in settings} == settings
    return state
