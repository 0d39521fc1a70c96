"""The trainer: run directory, resume after a stop or a kill, refusal of changed settings,
NaN guard, strategies, mixed precision, and the CLI's one-line errors."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import recipes
from zoo import cli
from zoo.errors import TrainingDiverged, UserError
from zoo.files import read_json, remove_new_entries, write_json
from zoo.train import autotune, loop
from zoo.train.build import build_recipe
from zoo.train.config import TrainConfig
from zoo.train.loop import load_examples, run_steps, train, training_batches
from zoo.train.run_directory import checkpoint_manager, previous_xla, restore_latest, session_provenance
from zoo.train.strategy import XLA_ENV, cross_replica, use_xla

from shared_runs import TINY_CYCLEGAN

TINY = {"width": 8, "latent_dim": 8}


def config(out, data, **overrides):
    settings = dict(recipe="dcgan", out=str(out), dataset=data, steps=4, batch_size=8, seed=5,
                    recipe_args=dict(TINY), log_every=2, sample_every=2, checkpoint_every=2, verbose=0)
    settings.update(overrides)
    return TrainConfig(**settings)


def generator_weights(out, data, **overrides):
    """Load the run's last checkpoint into a fresh recipe and return its generator weights."""
    cfg = config(out, data, **overrides)
    recipe = build_recipe(cfg, (8, 8, 1))
    checkpoint, _ = checkpoint_manager(recipe, cfg.out, True, 1)
    restore_latest(checkpoint, cfg.out)
    return recipe.generator.get_weights()


def test_run_directory_contents(tmp_path, image_folder, capsys):
    state = train(config(tmp_path, image_folder))
    assert state["status"] == "completed" and state["step"] == 4
    assert sorted(os.listdir(tmp_path / "samples")) == ["step_000002.png", "step_000004.png"]
    grid = np.array(Image.open(tmp_path / "samples" / "step_000004.png"))
    assert grid.shape == (8 * 10 + 2, 8 * 10 + 2)  # 64 samples, 8 columns of 8 px + 2 px padding
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-4")
    assert json.load(open(tmp_path / "train_state.json"))["step"] == 4
    logged = [json.loads(line) for line in open(tmp_path / "losses.jsonl")]
    assert [row["step"] for row in logged] == [2, 4] and set(logged[0]) == {"step", "d_loss", "g_loss"}
    assert json.load(open(tmp_path / "run.json"))["recipe_config"]["width"] == 8
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "logs" / "train"))
    # nothing left to do: a rerun (or one with fewer steps) says so plainly and records no session
    recorded = open(tmp_path / "train_state.json").read()
    capsys.readouterr()
    assert train(config(tmp_path, image_folder, steps=3))["step"] == 4
    assert f"Nothing to train: {tmp_path} is at step 4, at or past --steps 3" in capsys.readouterr().out
    assert open(tmp_path / "train_state.json").read() == recorded


def test_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_run(tmp_path, image_folder, monkeypatch):
    monkeypatch.delenv(XLA_ENV)  # the default path users run (the suite turns XLA off elsewhere)
    monkeypatch.setattr(autotune, "cpu_flags", set)  # in float32 (this tolerance's) on any CPU; bfloat16's resume:
    # tests/zoo/test_autotune.py
    train(config(tmp_path / "straight", image_folder, steps=6))
    first = train(config(tmp_path / "resumed", image_folder, steps=2, command="gan-zoo train a"))
    assert first["step"] == 2
    second = train(config(tmp_path / "resumed", image_folder, steps=6, command="gan-zoo train b"))
    assert second["step"] == 6
    # provenance adds up over sessions: every command, the total wall time, the machine
    assert second["commands"] == ["gan-zoo train a", "gan-zoo train b"]
    assert second["wall_time_seconds"] > first["wall_time_seconds"] > 0
    assert second["machine"]["cpu_cores"] == os.cpu_count()
    # the resume history: one record per session, from which step to which, where, with which versions
    sessions = second["sessions"]
    assert [(s["from_step"], s["to_step"], s["command"]) for s in sessions] == [
        (0, 2, "gan-zoo train a"), (2, 6, "gan-zoo train b")]
    assert all(s["machine"]["tensorflow"] == tf.__version__ and s["started"] for s in sessions)
    assert sum(s["wall_time_seconds"] for s in sessions) == pytest.approx(second["wall_time_seconds"], abs=0.5)
    assert sessions[1]["xla"] == sessions[0]["xla"]  # the path measured for the run, kept on resume
    straight = generator_weights(tmp_path / "straight", image_folder)
    resumed = generator_weights(tmp_path / "resumed", image_folder)
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_xla_is_measured_wherever_it_can_run(monkeypatch):
    monkeypatch.delenv(XLA_ENV)
    assert use_xla(None, replicas=1) is None  # measured (zoo.train.autotune), not assumed
    assert use_xla(None, replicas=2) is False
    assert use_xla(False, replicas=1) is False
    with pytest.raises(UserError, match="--xla runs on one device for now"):
        use_xla(True, replicas=2)
    assert use_xla(None, replicas=1, recipe_cls=recipes.SRGAN) is False
    assert use_xla(None, replicas=1, recipe_cls=recipes.StyleGANLite) is False  # a 2-minute compile, slower here
    assert use_xla(True, replicas=1, recipe_cls=recipes.StyleGANLite) is True
    # a one-replica MirroredStrategy still all-reduces: its step cannot be XLA-compiled (found by review)
    assert cross_replica(tf.distribute.MirroredStrategy(["/cpu:0"]))
    assert not cross_replica(tf.distribute.get_strategy())
    assert use_xla(None, replicas=1, cross_replica=True) is False
    with pytest.raises(UserError, match="--xla runs on one device for now"):
        use_xla(True, replicas=1, cross_replica=True)
    # a resumed run keeps the path it trained on unless told otherwise
    assert use_xla(None, replicas=1, previous=False) is False
    assert use_xla(None, replicas=1, previous=True) is True
    assert use_xla(True, replicas=1, previous=False) is True
    # GAN_ZOO_XLA=0: off by default (the test suite's setting), --xla still insists; other values are refused
    monkeypatch.setenv(XLA_ENV, "0")
    assert use_xla(None, replicas=1) is False and use_xla(True, replicas=1) is True
    assert use_xla(None, replicas=1, previous=True) is True  # a run keeps what it trained with
    monkeypatch.setenv(XLA_ENV, "off")
    with pytest.raises(UserError, match="GAN_ZOO_XLA='off' is not a setting; accepted: 0 .* or auto"):
        use_xla(None, replicas=1)


def test_resume_history_of_runs_from_before_sessions_were_recorded(tmp_path):
    assert previous_xla(str(tmp_path)) is None  # a new run
    write_json(str(tmp_path / "train_state.json"), {"step": 500, "wall_time_seconds": 60.0, "commands": ["gan-zoo a"],
                                                    "machine": {"cpu_cores": 2}})
    provenance = session_provenance(str(tmp_path), "gan-zoo b", start_step=500, xla=True)
    legacy, current = provenance["sessions"]
    assert (legacy["from_step"], legacy["to_step"], legacy["command"], legacy["wall_time_seconds"]) == (
        0, 500, "gan-zoo a", 60.0)
    assert (current["from_step"], current["command"], current["xla"]) == (500, "gan-zoo b", True)
    assert previous_xla(str(tmp_path)) is False  # such runs trained without XLA unless asked
    with pytest.raises(UserError, match="SRGAN's train step has ops without an XLA kernel"):
        use_xla(True, replicas=1, recipe_cls=recipes.SRGAN)
    parser = cli.build_parser()
    assert parser.parse_args(["train", "dcgan", "--out", "x"]).xla is None
    assert [parser.parse_args(["train", "dcgan", "--out", "x", *flag]).mixed_precision for flag in (
        [], ["--mixed-precision"], ["--no-mixed-precision"])] == [None, True, False]  # measured, or forced
    assert parser.parse_args(["train", "dcgan", "--out", "x", "--no-xla"]).xla is False


def test_wgan_gp_through_trainer_mirrored_equals_single_device(tmp_path, image_folder):
    # XLA draws other random numbers (and is off on two replicas): compare graph steps
    settings = dict(recipe="wgan_gp", steps=2, jit_compile=False,
                    recipe_args={**TINY, "n_critic": 2, "generator_norm": "sync_batch"})
    train(config(tmp_path / "one", image_folder, strategy="default", **settings))
    train(config(tmp_path / "two", image_folder, strategy="mirrored", **settings))
    one = generator_weights(tmp_path / "one", image_folder, **settings)
    two = generator_weights(tmp_path / "two", image_folder, **settings)
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_xla_compiled_steps_match_graph_steps_given_the_same_noise(tmp_path, image_folder, monkeypatch):
    """XLA's random generators differ from TensorFlow's kernels, so the noise is made deterministic
    here; the rest of the step (networks, losses, Adam, batch norm) must agree."""
    def fixed_noise(self, sample, local_batch, *shape):
        count = local_batch * int(np.prod(shape))
        return tf.reshape(tf.sin(tf.range(count, dtype=tf.float32) * 0.37), [local_batch, *shape])

    assert build_recipe(config(tmp_path, image_folder, jit_compile=True), (8, 8, 1)).jit_compile is True
    runs = {}
    for noise in ("random", "fixed"):
        if noise == "fixed":
            monkeypatch.setattr(recipes.GAN, "replica_random", fixed_noise)
        for name, jit in (("graph", False), ("xla", True)):
            train(config(tmp_path / noise / name, image_folder, steps=2, jit_compile=jit))
            runs[noise, name] = generator_weights(tmp_path / noise / name, image_folder)
    # XLA really ran: with random noise it drew other numbers, and trained other weights
    assert not all(np.allclose(a, b, atol=1e-5) for a, b in zip(runs["random", "graph"], runs["random", "xla"]))
    for a, b in zip(runs["fixed", "graph"], runs["fixed", "xla"]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_run_steps_keeps_epoch_windows_aligned_to_the_step_count_after_a_mid_window_resume():
    """Resumed at step 3 with windows of 2 steps, training to 7: steps 4 | 5 6 | 7, so the loss
    averages logged at steps 6 (and 8, 10, …) cover the same windows as in an uninterrupted run."""
    import keras

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append([])

        def on_train_batch_end(self, batch, logs=None):
            self.seen[-1].append(batch)

    recipe = recipes.DCGAN(image_shape=(8, 8, 1), **TINY)
    recipe.compile()
    images = tf.data.Dataset.from_tensor_slices(np.zeros((8, 8, 8, 1), np.float32)).repeat()
    record = Record()
    run_steps(recipe, tf.distribute.get_strategy(), training_batches(images, 4, 1, 0), 4, [record],
              start_step=3, total_steps=7, steps_per_epoch=2, verbose=0)
    assert record.seen == [[1], [0, 1], [0]]
    assert int(recipe.optimizer.iterations) == 4


def test_plain_batch_norm_over_replicas_gets_a_note(tmp_path, image_folder, capsys):
    train(config(tmp_path, image_folder, steps=1, strategy="mirrored", verbose=1))
    assert ("generator_norm=batch, discriminator_norm=batch with 2 replicas normalises per replica"
            in capsys.readouterr().err)


def test_rerun_with_other_settings_is_refused(tmp_path, image_folder):
    train(config(tmp_path, image_folder, steps=2))
    with pytest.raises(UserError, match="different configuration.*recipe_config"):
        train(config(tmp_path, image_folder, recipe_args={**TINY, "width": 16}))


def test_run_from_before_a_new_setting_resumes_with_its_default(tmp_path, image_folder):
    """A run.json written before DCGAN had `loss` / `n_disc` / `penalty_weight` resumes; a changed value does not."""
    train(config(tmp_path, image_folder, steps=2))
    description = read_json(str(tmp_path / "run.json"))
    for key in ("loss", "n_disc", "penalty_weight"):
        del description["recipe_config"][key]
    write_json(str(tmp_path / "run.json"), description)
    assert train(config(tmp_path, image_folder, steps=3))["step"] == 3
    with pytest.raises(UserError, match="different configuration.*recipe_config"):
        train(config(tmp_path, image_folder, steps=4, recipe_args={**TINY, "loss": "hinge"}))


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing_to_lock_its_directory(tmp_path, image_folder,
                                                                                           monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(loop, "run_steps", out_of_memory)
        with pytest.raises(tf.errors.ResourceExhaustedError):
            train(config(out, image_folder, batch_size=4))  # run.json was written, no step taken
    assert not out.exists()
    assert train(config(out, image_folder, batch_size=8))["step"] == 4  # other settings: not refused
    with monkeypatch.context() as patch:  # an existing run keeps everything when a resume fails
        patch.setattr(loop, "run_steps", out_of_memory)
        with pytest.raises(tf.errors.ResourceExhaustedError):
            train(config(out, image_folder, batch_size=8, steps=6))
    assert (out / "run.json").exists()
    assert read_json(out / "train_state.json")["step"] == 4


def test_undoing_a_failed_start_tolerates_a_worker_that_undid_it_first(tmp_path, monkeypatch):
    """Workers of one multi-worker run share --out: each removes what the failed start created, and
    the other may have removed it already (CI saw FileNotFoundError on run.json)."""
    out = tmp_path / "shared"
    out.mkdir()
    (out / "run.json").write_text("{}")
    real_remove = os.remove

    def removed_by_the_other_worker_first(path):
        real_remove(path)
        raise FileNotFoundError(path)

    monkeypatch.setattr(os, "remove", removed_by_the_other_worker_first)
    remove_new_entries(str(out), None)
    assert not out.exists()


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, image_folder, monkeypatch):
    train(config(tmp_path, image_folder, steps=2))
    real_load = load_examples
    monkeypatch.setattr(loop, "load_examples",
                        lambda *args: real_load(*args).map(lambda x, y: (x * np.nan, y)))
    with pytest.raises(TrainingDiverged, match="diverged at step 3.*ckpt-2"):
        train(config(tmp_path, image_folder, steps=4))
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")


def test_mixed_bfloat16_trains_with_float32_outputs(tmp_path, image_folder):
    state = train(config(tmp_path, image_folder, steps=2, mixed_precision=True))
    assert all(np.isfinite(v) for v in state["logs"].values())
    assert json.load(open(tmp_path / "run.json"))["dtype_policy"] == "mixed_bfloat16"
    recipe = build_recipe(config(tmp_path, image_folder), (8, 8, 1))
    assert recipe.generator(np.zeros((2, 8), np.float32)).dtype == tf.float32


def test_killed_process_resumes_from_last_checkpoint(tmp_path, image_folder):
    """kill -9 mid-run, rerun the same command: it resumes from the last checkpoint."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "zoo.cli", "train", "dcgan", "--dataset", image_folder, "--out", str(out),
               "--batch-size", "8", "--set", "width=8", "--set", "latent_dim=8", "--checkpoint-every", "3",
               "--sample-every", "1000", "--log-every", "3", "--quiet"]
    process = subprocess.Popen(command + ["--steps", "100000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = out / "train_state.json"
    deadline = time.time() + 120
    while time.time() < deadline and not state_file.exists():
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # the checkpoint is the truth a resume reads: a kill between saving it and rewriting train_state.json leaves
    # the state one save behind (seen in CI: state at 12, checkpoint at 15)
    killed_at = int(tf.train.latest_checkpoint(str(out / "checkpoints")).rsplit("-", 1)[1])
    assert killed_at >= 3
    result = subprocess.run(command + ["--steps", str(killed_at + 3)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"at step {killed_at} of {killed_at + 3}" in result.stdout
    assert f"completed at step {killed_at + 3}" in result.stdout
    # progress in the run's steps, one line per --log-every window (Keras printed "Epoch 1/1" for it)
    assert re.search(rf"^step {killed_at + 3}/{killed_at + 3} - \d+ s \(about 0 s left\) - d_loss: [-\d.]+ - "
                     r"g_loss: [-\d.]+$", result.stdout, re.MULTILINE), result.stdout
    assert "Epoch" not in result.stdout


def test_a_truncated_latest_checkpoint_is_skipped_and_kept(tmp_path, image_folder, capsys):
    """Resume from the newest checkpoint that restores; say which was skipped and why; keep its files."""
    out = tmp_path / "run"
    train(config(out, image_folder, steps=4))  # checkpoints at steps 2 and 4
    data = glob.glob(str(out / "checkpoints" / "ckpt-4.data-*"))[0]
    with open(data, "r+b") as handle:
        handle.truncate(os.path.getsize(data) // 2)
    truncated = open(data, "rb").read()
    capsys.readouterr()
    state = train(config(out, image_folder, steps=6, verbose=1))
    printed = capsys.readouterr()
    assert f"Skipped checkpoint {out / 'checkpoints' / 'ckpt-4'}: it does not restore (" in printed.err
    assert "Resuming from " + str(out / "checkpoints" / "ckpt-2") + " at step 2 of 6" in printed.out
    assert state["step"] == 6 and state["status"] == "completed"
    assert open(out / "checkpoints" / "unreadable" / os.path.basename(data), "rb").read() == truncated
    for name in ("train_state.json", "run.json"):  # a run's own files, damaged: a clear error naming them
        intact = (out / name).read_text()
        (out / name).write_text(intact[:-5])
        with pytest.raises(UserError, match=f"{out / name} is not valid JSON"):
            train(config(out, image_folder, steps=8))
        (out / name).write_text(intact)
    for data in glob.glob(str(out / "checkpoints" / "ckpt-*.data-*")):  # now none restores: a clear error
        os.remove(data)
    with pytest.raises(UserError, match=r"No checkpoint in .* restores \(tried ckpt-6, ckpt-4"):
        train(config(out, image_folder, steps=8))


def test_a_checkpoint_failing_with_a_bare_exception_is_skipped_by_its_type(tmp_path, capsys):
    """TensorFlow may raise an exception without a message (an IndexError) for a damaged file: the note
    names its type instead of failing on the empty message."""
    saved = tf.train.Checkpoint(step=tf.Variable(1))
    tf.train.CheckpointManager(saved, str(tmp_path / "checkpoints"), max_to_keep=2).save()

    class Unreadable:
        def read(self, path):
            raise IndexError()

    with pytest.raises(UserError, match=r"^No checkpoint in .* restores \(tried ckpt-1\)"):
        restore_latest(Unreadable(), str(tmp_path))
    assert f"Skipped checkpoint {tmp_path / 'checkpoints' / 'ckpt-1'}: it does not restore (IndexError);" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "gan9", "--out", "{out}"], f"Unknown recipe 'gan9'. Known recipes: {', '.join(recipes.list_recipes())}"),
    (["train", "dcgan", "--out", "{out}", "--set", "depth=3"], "Unknown setting(s) ['depth'] for dcgan; accepted:"),
    (["train", "dcgan", "--out", "{out}", "--set", "generator_norm=group"], "generator_norm` must be one of"),
    (["train", "dcgan", "--out", "{out}", "--dataset", "{empty}"], "no images found in"),
    (["train", "dcgan", "--out", "{out}", "--steps", "0"], "--steps must be a positive integer"),
    (["train", "dcgan", "--out", "{out}", "--seed", "-5"], "--seed must be an integer in [0, 2**32) (numpy's global seed); received -5"),
    (["train", "dcgan", "--out", "{out}", "--seed", str(2**32)], "received 4294967296"),
    (["train", "dcgan", "--out", "{out}", "--set", "lr=fast"], "Optimizer setting lr='fast' must be a finite number ≥ 0"),
    (["train", "cgan", "--out", "{out}", "--dataset", "{unlabelled}"], "class-conditional but dataset"),
    (["train", "acgan", "--out", "{out}", "--dataset", "{unlabelled}"], "acgan is class-conditional but dataset"),
    (["train", "acgan", "--out", "{out}", "--set", "num_classes=1"], "`num_classes` must be at least 2. Received: "
                                                                     "num_classes=1"),
    (["train", "acgan", "--out", "{out}", "--set", "num_classes=5"], "acgan has num_classes=5, fewer than the 10 "
                                                                     "classes of dataset 'fashion_mnist': set --set "
                                                                     "num_classes=10"),
    (["train", "cgan", "--out", "{out}", "--dataset", "{labelled}", "--set", "num_classes=2"], "fewer than the 3"),
    (["train", "sngan", "--out", "{out}", "--dataset", "{unlabelled}", "--set", "num_classes=2"],
     "sngan is class-conditional but dataset"),  # conditional by its settings: refused before it is built
    (["train", "sagan", "--out", "{out}", "--dataset", "{unlabelled}", "--set", "num_classes=2"],
     "sagan is class-conditional but dataset"),
    (["train", "sagan", "--out", "{out}", "--set", "attention_resolution=12"],  # Fashion-MNIST padded to 32×32
     "`attention_resolution` must be a feature-map height both networks have for (32, 32, 1) images, one of [16, 8]. "
     "Received: attention_resolution=12"),
    (["train", "biggan_lite", "--out", "{out}", "--set", "latent_dim=130"],  # 3 blocks at 32×32: 4 chunks of z
     "`latent_dim` must split into 4 equal chunks of z (the first linear layer and 3 generator blocks for (32, 32, 1) "
     "images): a positive multiple of 4. Received: latent_dim=130"),
    (["train", "biggan_lite", "--out", "{out}", "--set", "ortho_beta=-0.0001"],
     "`ortho_beta` must be a finite number ≥ 0. Received: ortho_beta=-0.0001"),
    (["train", "dcgan", "--out", "{out}", "--strategy", "tpu"], "--strategy tpu found no TPU"),
    (["train", "dcgan", "--out", "{out}", "--strategy", "mirrored", "--xla"], "--xla runs on one device for now"),
    (["train", "dcgan", "--out", "{out}", "--strategy", "gpus"], "Unknown strategy 'gpus'; accepted: auto, default"),
])
def test_cli_user_errors_are_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "unlabelled").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "unlabelled" / "x.png")
    for label in "abc":  # a folder of three classes
        (tmp_path / "labelled" / label).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "labelled" / label / "x.png")
    paths = {"out": str(tmp_path / "out"), "empty": str(tmp_path / "empty"), "unlabelled": str(tmp_path / "unlabelled"),
             "labelled": str(tmp_path / "labelled")}
    code = cli.main([part.format(**paths) for part in argv] + ["--quiet"])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error.startswith("gan-zoo: error: ") and "\n" not in error and message in error


def test_unknown_setting_is_refused_before_the_data_loads_or_the_path_is_measured(tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("work started before the settings were checked")

    monkeypatch.setattr(loop, "load_examples", must_not_run)
    monkeypatch.setattr(loop, "training_path", must_not_run)
    config = TrainConfig(recipe="lsgan", out=str(tmp_path / "run"), recipe_args={"loss": "sphere"}, steps=1)
    with pytest.raises(UserError, match=r"Unknown setting\(s\) \['loss'\] for lsgan"):
        train(config)
    assert not os.path.exists(config.out)


@pytest.mark.parametrize("argv, shown", [
    (["train", "--help"], ["global batch size (default: 64)", "generator steps in total (default: 2000)",
                           "--seed SEED (default: 0)", "--split SPLIT (default: train)", "--crop {none,center,random,pad}"]),
    (["evaluate", "--help"], ["--num-samples NUM_SAMPLES (default: 10000)", "(default: fid, kid, is, precision_recall"]),
    (["study", "--help"], ["seeds per trial (default: 3)", "--batch-size BATCH_SIZE (default: 64)"]),
])
def test_help_shows_the_defaults(argv, shown, capsys):
    with pytest.raises(SystemExit):
        cli.main(argv)
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes
    for part in shown:
        assert part in text
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("recipe, settings", [
    ("dcgan", TINY), ("lsgan", TINY), ("wgan_gp", {**TINY, "n_critic": 1}), ("cgan", {**TINY, "embedding_dim": 4}),
])
def test_every_sampling_recipe_trains_on_the_default_data_with_no_data_options(tmp_path, recipe, settings):
    """Default dataset, size and crop (issue 17 item 9). StyleGAN-lite: tests/zoo/test_evaluation.py (it pads
    to 32×32 by itself); CycleGAN and SRGAN: the two tests below."""
    state = train(TrainConfig(recipe=recipe, out=str(tmp_path), steps=1, batch_size=4,
                              recipe_args=settings, verbose=0))
    assert state["step"] == 1 and all(np.isfinite(v) for v in state["logs"].values())
    description = read_json(tmp_path / "run.json")
    assert description["recipe_config"]["image_shape"] == [28, 28, 1]
    assert (description["data"]["image_size"], description["data"]["crop"]) == (None, "none")


def test_cyclegan_trains_on_two_fashion_mnist_domains(cyclegan_run, tmp_path):
    """Default domains sneaker ↔ ankle boot; the grid shows a, G(a), F(G(a)), b, F(b), G(F(b))."""
    state = read_json(cyclegan_run / "train_state.json")
    assert state["status"] == "completed" and state["step"] == 2
    assert all(np.isfinite(v) for v in state["logs"].values())
    grid = np.array(Image.open(cyclegan_run / "samples" / "step_000002.png"))
    assert grid.shape == (6 * 30 + 2, 8 * 30 + 2)  # 6 rows × 8 columns of 28 px + 2 px padding
    assert read_json(cyclegan_run / "run.json")["recipe_config"]["pool_size"] == 4
    with pytest.raises(UserError, match="--domain-a and --domain-b"):
        train(TrainConfig(recipe="cyclegan", out=str(tmp_path / "x"), domains=["sneaker", None],
                          recipe_args=TINY_CYCLEGAN, verbose=0))


def test_srgan_trains_with_the_evaluator_content_loss(tmp_path):
    """The grid shows LR, bicubic, SR, HR rows; run.json names the content network that was used."""
    settings = {"width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_stages": 1,
                "discriminator_dense": 8, "warmup_steps": 1, "content_network": "evaluator"}
    state = train(TrainConfig(recipe="srgan", out=str(tmp_path), steps=2, batch_size=4,
                              recipe_args=settings, sample_every=2, verbose=0))
    assert state["step"] == 2 and all(np.isfinite(v) for v in state["logs"].values())
    grid = np.array(Image.open(tmp_path / "samples" / "step_000002.png"))
    assert grid.shape == (4 * 30 + 2, 8 * 30 + 2)
    config = json.load(open(tmp_path / "run.json"))["recipe_config"]
    assert config["content_network"]["config"]["name"] == "fashion_mnist_evaluator_conv1_1"
    resumed = train(TrainConfig(recipe="srgan", out=str(tmp_path), steps=3, batch_size=4,
                                recipe_args=settings, sample_every=2, verbose=0))
    assert resumed["step"] == 3  # the same settings resume (the content network's description is stable)
