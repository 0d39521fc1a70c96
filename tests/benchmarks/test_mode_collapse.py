"""benchmarks/mode_collapse.py: a killed experiment resumes its unfinished run from the last checkpoint and skips
finished ones, to the result an uninterrupted one gives; other settings in the same --out are refused in one line."""
import json
import os
import re
import sys

import numpy as np
import pytest

from zoo.train import loop

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import mode_collapse  # noqa: E402

TINY = ["--datasets", "ring8", "--arms", "non_saturating", "--seeds", "1", "--steps", "4", "--batch-size", "16",
        "--checkpoint-every", "2", "--set", "width=8", "--set", "latent_dim=8"]
RUN = "ring8_non_saturating_seed1"


class Killed(Exception):
    """A kill -9 after a step: nothing saved since the last checkpoint."""


@pytest.fixture
def sessions(monkeypatch):
    """The step each training session starts from; `kill_at` ends the next one after that step, unsaved."""
    record = {"starts": [], "trained": [], "kill_at": None}
    real_train, real_run_steps = loop.train, loop.run_steps

    def train(config):
        record["trained"].append(config.seed)
        return real_train(config)

    def run_steps(recipe, strategy, batches, global_batch, callbacks, start_step, total_steps, *args, **kwargs):
        record["starts"].append(start_step)
        stop, record["kill_at"] = record["kill_at"], None
        real_run_steps(recipe, strategy, batches, global_batch, callbacks, start_step, stop or total_steps, *args,
                       **kwargs)
        if stop:
            raise Killed(f"killed after step {stop}")

    monkeypatch.setattr(loop, "train", train)
    monkeypatch.setattr(loop, "run_steps", run_steps)
    return record


def test_a_killed_run_resumes_to_the_uninterrupted_result_and_a_finished_one_is_kept(tmp_path, sessions, capsys):
    straight, killed = str(tmp_path / "straight"), str(tmp_path / "killed")
    assert mode_collapse.main([*TINY, "--out", straight]) == 0
    sessions["kill_at"] = 3
    with pytest.raises(Killed):
        mode_collapse.main([*TINY, "--out", killed])
    assert not os.path.exists(os.path.join(killed, f"{RUN}.json"))
    assert mode_collapse.main([*TINY, "--out", killed]) == 0
    assert sessions["starts"] == [0, 0, 2]  # step 3 was lost with the kill: resumed from the checkpoint at step 2

    def result(out):
        kept = json.load(open(os.path.join(out, f"{RUN}.json")))
        return {key: value for key, value in kept.items() if not key.endswith("_seconds")}

    assert result(killed) == result(straight)
    assert result(killed)["status"] == "completed" and result(killed)["num_modes"] == 8
    resumed = mode_collapse.generated_points(os.path.join(killed, RUN), 256)
    uninterrupted = mode_collapse.generated_points(os.path.join(straight, RUN), 256)
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-5, atol=1e-6)
    # finished: the same command trains nothing again and reports the kept result
    report = str(tmp_path / "docs" / "mc.md")
    assert mode_collapse.main([*TINY, "--out", straight, "--report", report]) == 0
    assert sessions["trained"] == [1, 1, 1]
    text = open(report).read()
    assert f"--out {straight} --report {report}" in text and "4 steps per run, seeds 1, batch 16" in text
    assert "| non_saturating | " in text and os.path.isfile(tmp_path / "docs" / "mc_ring8.png")


@pytest.mark.parametrize("change, message", [
    (["--steps", "5"], r"holds runs of other settings \(steps was 4\); rerun with the same --steps"),
    (["--set", "width=16"], r"\(settings was \{.*'width': 8.*\}\)"),
    (["--arms", "f_kl", "--set", "loss=hinge"], r"--set loss clashes with arm f_kl's own setting"),
    (["--arms", "unrolled_3"], r"unknown arm 'unrolled_3'; accepted: unrolled_5, unrolled_10, .*f_kl"),
    (["--datasets", "ring9"], r"unknown 2-D mixture 'ring9'; accepted: ring8, grid25"),
    (["--set", "width=-1"], r"Invalid setting for dcgan: .*units=-1"),
])
def test_other_settings_in_the_same_out_are_refused_in_one_line_before_training(tmp_path, sessions, capsys, change,
                                                                                 message):
    out = str(tmp_path / "mc")
    os.makedirs(out)
    with open(os.path.join(out, mode_collapse.PROTOCOL_FILE), "w") as handle:  # as a first run with TINY left it
        json.dump({"steps": 4, "batch_size": 16, "settings": {"width": 8, "latent_dim": 8}}, handle)
    assert mode_collapse.main([*TINY, "--out", out, *change]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and re.search(message, error), error
    assert sessions["trained"] == []


def test_a_diverged_run_is_kept_unscored_and_reported(tmp_path, monkeypatch, capsys):
    from zoo.errors import TrainingDiverged

    calls = []

    def diverging(dataset, settings, seed, *args):
        calls.append(seed)
        raise TrainingDiverged("training diverged at step 3 (d_loss=nan)")

    monkeypatch.setattr(mode_collapse, "train_arm", diverging)
    out, report = str(tmp_path / "mc"), str(tmp_path / "mc.md")
    for _ in range(2):  # the second time from the kept result
        assert mode_collapse.main([*TINY, "--out", out, "--report", report]) == 0
    assert calls == [1]
    kept = json.load(open(os.path.join(out, f"{RUN}.json")))
    assert kept["status"] == "diverged" and "at step 3" in kept["error"] and "modes_captured" not in kept
    assert "| non_saturating | — of ? | — | — | — | seed 1 | nan |" in open(report).read()


def test_runs_go_seed_by_seed_so_a_cut_session_leaves_every_arm_with_the_same_seeds(tmp_path, monkeypatch, capsys):
    order = []

    def run_once(out, dataset, arm, seed, protocol, checkpoint_every):
        order.append((seed, dataset, arm))
        return {"dataset": dataset, "arm": arm, "seed": seed, "status": "diverged", "steps": protocol["steps"]}

    monkeypatch.setattr(mode_collapse, "run_once", run_once)
    argv = [*TINY, "--arms", "non_saturating,f_kl", "--datasets", "ring8,grid25", "--seeds", "0,1"]
    assert mode_collapse.main([*argv, "--out", str(tmp_path)]) == 0
    assert order == [(seed, dataset, arm) for seed in (0, 1) for dataset in ("ring8", "grid25")
                     for arm in ("non_saturating", "f_kl")]
