"""Multi-worker training on loopback: two `gan-zoo train --strategy multi_worker` processes
(TF_CONFIG cluster of 127.0.0.1 ports) against one process, a killed worker, and resume."""
import glob
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from zoo import cli
from zoo.errors import UserError
from zoo.train import launch
from zoo.train.config import TrainConfig
from zoo.train.loop import train
from zoo.train.strategy import make_strategy

WGAN_GP_SETTINGS = {"width": 8, "latent_dim": 8, "n_critic": 2, "generator_norm": "sync_batch"}
WGAN_GP = ["wgan_gp", "--batch-size", "8", *(part for key, value in WGAN_GP_SETTINGS.items()
                                             for part in ("--set", f"{key}={value}")),
           "--log-every", "2", "--sample-every", "1000", "--quiet"]


def train_args(image_folder, out, steps, checkpoint_every=2):
    return [*WGAN_GP, "--dataset", image_folder, "--out", str(out), "--steps", str(steps),
            "--checkpoint-every", str(checkpoint_every)]


def gan_zoo_launch(args, timeout=300):
    return subprocess.run([sys.executable, "-m", "zoo.cli", "launch", "--workers", "2", "--timeout", str(timeout),
                           "--", *args], capture_output=True, text=True, timeout=timeout + 60)


def checkpoint_values(path):
    """{variable name: value} of a checkpoint (numbers only)."""
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name, dtype in reader.get_variable_to_dtype_map().items()
            if dtype != tf.string}


@pytest.mark.slow
def test_two_workers_agree_and_equal_one_mirrored_process(tmp_path, image_folder):
    result = gan_zoo_launch(train_args(image_folder, tmp_path / "mw", steps=3))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("completed at step 3/3") == 2  # both workers finished
    lines = result.stdout.splitlines()  # each line says whose it is
    for index in (0, 1):
        assert any(line.startswith(f"[worker {index}] completed at step 3/3") for line in lines), lines
    assert all(line.startswith(("[worker 0] ", "[worker 1] ")) for line in lines), lines
    chief = checkpoint_values(str(tmp_path / "mw" / "checkpoints" / "ckpt-3"))
    worker = checkpoint_values(str(tmp_path / "mw" / "checkpoints" / ".worker_scratch" / "worker-1" / "ckpt-3"))
    assert set(chief) == set(worker) and len(chief) > 20
    for name, value in chief.items():
        np.testing.assert_array_equal(worker[name], value, err_msg=name)  # identical, to the bit
    # one process, MirroredStrategy over the two logical CPUs of conftest, same global batch, data and noise
    config = TrainConfig(
        recipe="wgan_gp", out=str(tmp_path / "mirrored"), dataset=image_folder, steps=3, batch_size=8,
        strategy="mirrored", recipe_args=dict(WGAN_GP_SETTINGS),
        log_every=2, sample_every=1000, checkpoint_every=2, verbose=0)
    train(config)
    mirrored = checkpoint_values(str(tmp_path / "mirrored" / "checkpoints" / "ckpt-3"))
    for name, value in chief.items():
        np.testing.assert_allclose(value, mirrored[name], rtol=1e-5, atol=1e-5, err_msg=name)
    # what was compared: every trained weight of G and D (held by their optimizers), BN statistics, 3 steps
    assert sum("_trainable_variables" in name for name in chief) == 9
    assert sum("moving_" in name for name in chief) == 2
    assert chief["g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == 3


@pytest.mark.slow
def test_killed_worker_stops_the_run_with_a_clear_error_and_a_rerun_resumes(tmp_path, image_folder, capfd):
    out = tmp_path / "run"
    workers = launch.start_workers(2, train_args(image_folder, out, steps=100000))
    deadline = time.monotonic() + 240
    while tf.train.latest_checkpoint(str(out / "checkpoints")) is None and time.monotonic() < deadline:
        assert all(worker.poll() is None for worker in workers), capfd.readouterr().err[-3000:]
        time.sleep(0.2)
    workers[1].send_signal(signal.SIGKILL)
    assert launch.supervise(workers, timeout=120) == 1
    assert all(worker.poll() is not None for worker in workers)  # the chief was stopped too
    message = capfd.readouterr().err
    assert "gan-zoo launch: worker 1 was killed by signal 9" in message  # (the chief may fail too, and is listed)
    assert "the other workers were stopped. Rerun the same command to resume from the last checkpoint." in message
    reached = int(tf.train.latest_checkpoint(str(out / "checkpoints")).rsplit("-", 1)[1])
    assert reached >= 2
    result = gan_zoo_launch(train_args(image_folder, out, steps=reached + 2))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(f"at step {reached} of {reached + 2}") == 2  # both workers resumed
    assert result.stdout.count(f"completed at step {reached + 2}/{reached + 2}") == 2
    assert glob.glob(str(out / "checkpoints" / ".worker_scratch" / "*")) == [str(out / "checkpoints" / ".worker_scratch"
                                                                                / "worker-1")]


def test_relayed_lines_are_prefixed_with_their_worker():
    out = io.StringIO()
    launch.relay(io.BytesIO(b"step 2/4 - 3 s\n\xff bytes\nno newline at the end"), "[worker 1] ", out)
    assert out.getvalue() == "[worker 1] step 2/4 - 3 s\n[worker 1] \ufffd bytes\n[worker 1] no newline at the end\n"


def test_launch_refuses_bad_arguments(capsys):
    assert cli.main(["launch", "--workers", "2"]) == 2
    assert "give the training arguments after --" in capsys.readouterr().err
    with pytest.raises(UserError, match="--workers must be ≥ 1; received 0"):
        launch.start_workers(0, ["dcgan", "--out", "x"])
    with pytest.raises(UserError, match="launch sets --strategy multi_worker itself"):
        launch.start_workers(2, ["dcgan", "--out", "x", "--strategy", "mirrored"])


def test_multi_worker_strategy_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UserError, match="needs the TF_CONFIG environment variable"):
        make_strategy("multi_worker")


def test_tf_config_is_the_standard_cluster_spec():
    spec = json.loads(launch.tf_config(["127.0.0.1:1", "127.0.0.1:2"], 1))
    assert spec == {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}


def run_two_workers(image_folder, outs, extra_args=((), ())):
    """Two `train --strategy multi_worker` processes by hand (each its own --out and arguments);
    returns their (exit status, stderr)."""
    workers = [f"127.0.0.1:{port}" for port in launch.free_ports(2)]
    processes = [subprocess.Popen([sys.executable, "-m", "zoo.cli", "train", *train_args(image_folder, out, steps=4),
                                   *extra, "--strategy", "multi_worker"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "TF_CONFIG": launch.tf_config(workers, index)})
                 for index, (out, extra) in enumerate(zip(outs, extra_args))]
    errors = [process.communicate(timeout=300)[1] for process in processes]
    return [(process.returncode, error) for process, error in zip(processes, errors)]


@pytest.mark.slow
def test_workers_that_disagree_on_the_step_or_the_arguments_are_refused(tmp_path, image_folder):
    """A worker that cannot see the chief's checkpoints would resume one step behind; a worker started
    with other settings would train another model: every worker refuses."""
    shared = tmp_path / "with_checkpoint"
    train(TrainConfig(recipe="wgan_gp", out=str(shared), dataset=image_folder, steps=1,
                      batch_size=8, recipe_args=dict(WGAN_GP_SETTINGS), log_every=2,
                      sample_every=1000, checkpoint_every=2, verbose=0))
    for status, stderr in run_two_workers(image_folder, [shared, tmp_path / "empty"]):  # steps 1 and 0
        assert status == 2, stderr[-3000:]
        assert "but not every worker does: --out must be a directory every worker reads and writes" in stderr
    same = tmp_path / "same"
    # gp_weight is a Python number of the recipe: nothing in TensorFlow would notice the difference
    # (variables, such as a learning rate, are initialised from the chief's values by the strategy)
    for status, stderr in run_two_workers(image_folder, [same, same], [(), ("--set", "gp_weight=5")]):
        assert status == 2, stderr[-3000:]
        assert "the workers were started with different training arguments" in stderr
