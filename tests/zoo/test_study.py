"""`gan-zoo study`: the plan, the bootstrap, and a tiny study end to end (resumable, with its report)."""
import json
import os

import numpy as np
import pytest

from zoo.cli import main
from zoo.files import read_json
from zoo.study import analysis, design

TINY_STUDY = ["--losses", "hinge,began", "--dataset", "triangles", "--seeds", "2", "--trials", "1", "--steps", "4", "--batch-size", "8",
              "--set", "width=8", "--set", "latent_dim=8", "--eval-every", "2", "--eval-samples", "100",
              "--final-samples", "100", "--parallel", "2"]


def test_trial_settings_depend_only_on_search_seed_loss_and_trial():
    first = design.trial_settings("dragan", 1, search_seed=0)
    assert first == design.trial_settings("dragan", 1, search_seed=0)
    assert first != design.trial_settings("dragan", 2, search_seed=0)
    assert first != design.trial_settings("dragan", 1, search_seed=1)
    assert set(first) == {"lr", "beta_1", "beta_2", "n_disc", "penalty_weight"}
    assert "penalty_weight" not in design.trial_settings("hinge", 0, 0)
    low, high = design.SEARCH_SPACE["lr"][1:]
    assert all(low <= design.trial_settings("hinge", t, 0)["lr"] <= high for t in range(20))
    config = design.StudyConfig(losses=["hinge"], out="x", trials=3, seeds=2)
    more = design.StudyConfig(losses=["hinge"], out="x", trials=5, seeds=2)
    assert design.plan(more)[:6] == design.plan(config)  # growing a study keeps its runs


def test_lucic_et_al_s_seven_gans_are_arms_began_a_recipe_arm_with_its_own_space():
    seven = ["minimax", "non_saturating", "least_squares", "wasserstein", "wasserstein_gp", "dragan", "began"]
    design.check_config(design.StudyConfig(losses=seven, out="x"))
    began = design.trial_settings("began", 0, search_seed=0)
    assert set(began) == {"lr", "beta_1", "beta_2", "gamma"} and 0.3 <= began["gamma"] <= 1.0
    run = design.plan(design.StudyConfig(losses=["began"], out="x", seeds=1, trials=1, settings={"width": 8}))[0]
    config = design.train_config(design.StudyConfig(losses=["began"], out="x", settings={"width": 8}), run)
    assert config.recipe == "began" and config.recipe_args == {"width": 8, "gamma": began["gamma"]}
    assert config.optimizer_args == {name: began[name] for name in ("lr", "beta_1", "beta_2")}
    with pytest.raises(Exception, match="--set gamma: the study sets these per run"):
        design.check_config(design.StudyConfig(losses=["began"], out="x", settings={"gamma": 0.5}))


def test_expected_best_falls_with_budget_and_reaches_the_best_run():
    trials = {0: [50.0, 52.0], 1: [80.0, 90.0], 2: [40.0, 41.0], 3: [float("inf"), float("inf")]}
    mean, low, high = analysis.expected_best(trials, [1, 2, 4, 16], "lower")
    assert np.all(np.diff(mean) <= 0) and np.all(low <= mean) and np.all(mean <= high)
    assert mean[-1] == pytest.approx(40.0, abs=0.6)
    # one draw: the mean over trials of a random seed (a draw of only inf values is left out of the mean;
    # the report passes diverged runs as the study's worst finished score instead)
    assert mean[0] == pytest.approx(np.mean([51.0, 85.0, 40.5]), rel=0.05)
    higher, _, _ = analysis.expected_best({0: [0.1], 1: [0.9]}, [1, 8], "higher")
    assert higher[1] > higher[0] and higher[1] == pytest.approx(0.9, abs=0.01)


def test_study_argument_errors_name_what_is_accepted(tmp_path, capsys):
    assert main(["study", "--losses", "hinge,ns", "--out", str(tmp_path)]) == 2
    assert "Unknown loss(es) ['ns']; known: non_saturating" in capsys.readouterr().err
    assert main(["study", "--losses", "hinge", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "--seeds must be a positive integer" in capsys.readouterr().err
    assert main(["study", "--losses", "hinge", "--dataset", "mnist", "--out", str(tmp_path)]) == 2
    assert "Unknown study dataset 'mnist'; accepted: fashion_mnist, triangles" in capsys.readouterr().err
    assert main(["study", "--losses", "hinge,hinge", "--out", str(tmp_path)]) == 2
    assert "names a loss twice" in capsys.readouterr().err
    assert main(["study", "--losses", "hinge", "--set", "lr=0.1", "--out", str(tmp_path)]) == 2
    assert "--set lr: the study sets these per run" in capsys.readouterr().err
    assert main(["study", "--losses", "dragan", "--set", "discriminator_norm=batch", "--out", str(tmp_path)]) == 2
    assert "batch norm in the discriminator" in capsys.readouterr().err  # found before any run starts
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.slow
def test_tiny_triangles_study_runs_resumes_and_reports(tmp_path, capsys):
    out = str(tmp_path / "study")
    assert main(["study", *TINY_STUDY, "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "0 run(s) done, 4 to run" in printed and printed.count("done: ") == 4
    results = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
    assert sorted((r["loss"], r["seed"]) for r in results) == [("began", 0), ("began", 1), ("hinge", 0), ("hinge", 1)]
    for result in results:
        assert result["status"] == "completed" and result["step"] == 4
        assert np.isfinite(result["fid"]) and 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1
        assert 0 <= result["triangles_f1"] <= 1 and result["triangles_protocol"]["num_samples"] == 100
        assert [step for step, _ in result["fid_curve"]] == [2, 4]
        run = read_json(os.path.join(design.run_dir(out, result["loss"], 0, result["seed"]), "run.json"))
        assert run["recipe_config"]["width"] == 8 and run["seed"] == result["seed"]
        if result["loss"] == "began":  # a recipe arm: BEGAN with the same generator, its γ drawn per trial
            assert run["recipe"] == "began" and run["recipe_config"]["gamma"] == result["hyperparameters"]["gamma"]
            continue
        assert run["recipe_config"]["loss"] == result["loss"] and run["recipe_config"]["discriminator_norm"] == "layer"
        assert run["recipe_config"]["n_disc"] == result["hyperparameters"]["n_disc"]
    # the same trial's seeds share hyper-parameters; the two losses draw their own
    by_loss = {r["loss"]: r["hyperparameters"] for r in results}
    assert all(r["hyperparameters"] == by_loss[r["loss"]] for r in results)
    report = open(os.path.join(out, "report.md")).read()
    assert "| hinge | 2 (0) |" in report and "| began | 2 (0) |" in report and "## Every run" in report
    assert "## Summary (triangles_f1)" in report and "tri. precision" in report
    for figure in ("triangles_f1_distribution.png", "triangles_f1_vs_budget.png", "precision_recall.png",
                   "best_samples/hinge.png"):
        assert os.path.getsize(os.path.join(out, figure)) > 1000 and f"({figure})" in report

    # a rerun skips every finished run
    stamps = {r: os.path.getmtime(os.path.join(design.run_dir(out, *r), "result.json")) for r in
              [("hinge", 0, 0), ("hinge", 0, 1), ("began", 0, 0), ("began", 0, 1)]}
    assert main(["study", *TINY_STUDY, "--out", out]) == 0
    assert "4 run(s) done, 0 to run" in capsys.readouterr().out
    assert stamps == {r: os.path.getmtime(os.path.join(design.run_dir(out, *r), "result.json")) for r in stamps}

    # an unfinished run (no result.json: interrupted after training) is resumed, not retrained
    os.remove(os.path.join(design.run_dir(out, "hinge", 0, 1), "result.json"))
    assert main(["study", *TINY_STUDY, "--out", out]) == 0
    assert "3 run(s) done, 1 to run" in capsys.readouterr().out
    state = read_json(os.path.join(design.run_dir(out, "hinge", 0, 1), "train_state.json"))
    assert len(state["commands"]) == 1  # training was complete: the rerun only evaluated

    # a different protocol in the same directory is refused
    assert main(["study", *TINY_STUDY, "--out", out, "--search-seed", "1"]) == 2
    assert "different protocol (search_seed changed)" in capsys.readouterr().err


def fake_result(loss, trial, seed, fid, status="completed"):
    metrics = {"fid": fid, "precision": 0.5, "recall": 0.4, "fid_curve": [[10, fid + 5], [20, fid]], "best_fid": fid,
               "best_fid_step": 20} if status == "completed" else {"error": "diverged"}
    return {"loss": loss, "trial": trial, "seed": seed, "hyperparameters": {"lr": 1e-4, "n_disc": 1}, "status": status,
            "step": 20, "session_seconds": 3.0, **metrics}


def test_report_tables_separate_differences_from_seed_noise(tmp_path):
    """Loss 'a' is clearly better than 'c'; 'a' and 'b' differ by less than their seed noise."""
    rng = np.random.default_rng(0)
    results = [fake_result(loss, trial, seed, base + trial + rng.normal(0, 2))
               for loss, base in (("a", 40.0), ("b", 41.0), ("c", 80.0)) for trial in range(2) for seed in range(3)]
    results.append(fake_result("c", 2, 0, None, status="diverged"))
    protocol = design.protocol(design.StudyConfig(losses=["hinge"], out=str(tmp_path), trials=3, seeds=3))
    protocol.update(losses=["a", "b", "c"], search_space={name: design.SEARCH_SPACE for name in "abc"})
    report = open(analysis.write_report(str(tmp_path), protocol, results)).read()
    assert "| a | b |" in report and "within noise" in report.split("| a | b |")[1].split("\n")[0]
    assert "differs" in report.split("| a | c |")[1].split("\n")[0]
    assert "| c | 7 (1) |" in report  # the diverged run is counted, not scored
    assert report.count("| c | 2 | 0 |") == 1 and "| c | 2 | 0 | lr=0.0001, n_disc=1 | diverged |" in report


def test_report_does_not_compare_losses_with_fewer_than_three_runs(tmp_path):
    results = [fake_result(loss, 0, seed, fid) for loss, fids in (("a", (40.0, 41.0)), ("b", (80.0, 81.0)))
               for seed, fid in enumerate(fids)]
    protocol = design.protocol(design.StudyConfig(losses=["hinge"], out=str(tmp_path), trials=1, seeds=2))
    protocol.update(losses=["a", "b"], search_space={name: design.SEARCH_SPACE for name in "ab"})
    report = open(analysis.write_report(str(tmp_path), protocol, results)).read()
    assert "| a | b | -40 | – | too few runs" in report


@pytest.mark.slow
def test_terminated_study_stops_its_runs_with_a_checkpoint_and_resumes_them(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = str(tmp_path / "study")
    argv = ["study", "--losses", "hinge", "--seeds", "1", "--trials", "1", "--steps", "600", "--batch-size", "8",
            "--set", "width=8", "--set", "latent_dim=8", "--eval-every", "0", "--final-samples", "200", "--out", out]
    command = [sys.executable, "-c", "import sys; from zoo.cli import main; sys.exit(main(sys.argv[1:]))", *argv]
    study_process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    losses_file = os.path.join(design.run_dir(out, "hinge", 0, 0), "losses.jsonl")
    deadline = time.time() + 240
    while not os.path.exists(losses_file) and time.time() < deadline:  # training is under way
        time.sleep(0.5)
    assert os.path.exists(losses_file), study_process.communicate()[0].decode()[-2000:]
    # SIGTERM (kill, a scheduler's timeout) is handled like Ctrl-C; SIGINT itself is ignored when the tests run from
    # a background shell. The children run in their own sessions: only the study's `stop` interrupts them.
    study_process.send_signal(signal.SIGTERM)
    assert study_process.wait(180) == 143  # SIGTERM's status, as for gan-zoo train
    state = read_json(os.path.join(design.run_dir(out, "hinge", 0, 0), "train_state.json"))
    assert state["status"] == "interrupted" and 0 < state["step"] < 600  # losses are logged from step 100
    assert not os.path.exists(os.path.join(design.run_dir(out, "hinge", 0, 0), "result.json"))

    assert subprocess.run(command, capture_output=True, timeout=600).returncode == 0
    resumed = read_json(os.path.join(design.run_dir(out, "hinge", 0, 0), "train_state.json"))
    assert resumed["status"] == "completed" and len(resumed["commands"]) == 2  # one run, two sessions
    assert resumed["wall_time_seconds"] > state["wall_time_seconds"]
    assert read_json(os.path.join(design.run_dir(out, "hinge", 0, 0), "result.json"))["step"] == 600
