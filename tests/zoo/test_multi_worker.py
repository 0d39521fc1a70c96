"""Multi-worker training on loopback: two `gan-zoo train --strategy multi_worker` processes
(TF_CONFIG cluster of 127.0.0.1 ports) against one process, a killed worker, SIGTERM to the launcher or to
one worker (one checkpoint saved together), and resume."""
import glob
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from zoo import cli
from zoo.errors import StopRequest, Terminated, UserError
from zoo.files import read_json
from zoo.train import launch
from zoo.train.config import TrainConfig
from zoo.train.loop import train
from zoo.train.strategy import make_strategy

WGAN_GP_SETTINGS = {"width": 8, "latent_dim": 8, "n_critic": 2, "generator_norm": "sync_batch"}
WGAN_GP = ["wgan_gp", *(part for key, value in WGAN_GP_SETTINGS.items() for part in ("--set", f"{key}={value}"))]
TINY_DCGAN = ["dcgan", "--set", "width=8", "--set", "latent_dim=8", "--set", "generator_norm=layer", "--set",
              "discriminator_norm=layer"]  # the quickest step to trace (5 s less a launch); replicas stay equal


def train_args(image_folder, out, steps, checkpoint_every=2, recipe=WGAN_GP):
    return [*recipe, "--batch-size", "8", "--log-every", "2", "--sample-every", "1000", "--quiet", "--dataset",
            image_folder, "--out", str(out), "--steps", str(steps), "--checkpoint-every", str(checkpoint_every)]


def launch_command(args, timeout=300):
    return [sys.executable, "-m", "zoo.cli", "launch", "--workers", "2", "--timeout", str(timeout), "--", *args]


def gan_zoo_launch(args, timeout=300):
    return subprocess.run(launch_command(args, timeout), capture_output=True, text=True, timeout=timeout + 60)


def wait_for_step(out, step, processes, seconds=240):
    """Wait until the run in `out` has saved `step` or later (train_state.json) while `processes` all run."""
    deadline = time.monotonic() + seconds
    state = out / "train_state.json"
    while not (state.exists() and read_json(state)["step"] >= step and read_json(state)["status"] == "running"):
        assert all(process.poll() is None for process in processes), f"exited: {[p.poll() for p in processes]}"
        assert time.monotonic() < deadline, f"step {step} not reached in {seconds} s"
        time.sleep(0.2)


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
    wait_for_step(out, 2, workers)
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


def stopped_together(out, after):
    """The step at which an interrupted run in `out` stopped (past `after`): status "interrupted" in
    train_state.json, and the chief's checkpoint and worker 1's copy both at that step and equal to the bit."""
    state = read_json(out / "train_state.json")
    step = state["step"]
    assert state["status"] == "interrupted" and step > after, state
    chief, worker = (tf.train.latest_checkpoint(str(directory)) for directory in
                     (out / "checkpoints", out / "checkpoints" / ".worker_scratch" / "worker-1"))
    assert state["checkpoint"] == chief == str(out / "checkpoints" / f"ckpt-{step}")
    assert worker == str(out / "checkpoints" / ".worker_scratch" / "worker-1" / f"ckpt-{step}")
    chief_values, worker_values = checkpoint_values(chief), checkpoint_values(worker)
    assert chief_values["g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == step
    for name, value in chief_values.items():
        np.testing.assert_array_equal(worker_values[name], value, err_msg=name)
    return step


@pytest.mark.slow
def test_sigterm_to_launch_or_to_one_worker_stops_every_worker_at_one_step_with_one_checkpoint(
        tmp_path, image_folder, capfd):
    """SIGTERM to `gan-zoo launch` is forwarded; SIGTERM to one worker alone (its machine preempted) reaches the
    others through their per-step stop vote. Either way both workers stop after the same step and save one
    checkpoint together, the status is "interrupted", the exit status 143, and the same command resumes."""
    out = tmp_path / "run"
    args = train_args(image_folder, out, steps=100000, recipe=TINY_DCGAN)  # cannot finish before the signal
    launcher = subprocess.Popen(launch_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_step(out, 2, [launcher])
        launcher.send_signal(signal.SIGTERM)
        _, stderr = launcher.communicate(timeout=200)
    finally:
        launcher.kill()
    assert launcher.returncode == 143, stderr[-3000:]
    first = stopped_together(out, after=1)
    assert stderr.splitlines()[-1] == (f"gan-zoo launch: interrupted by SIGTERM; the workers stopped together at step "
                                       f"{first} and saved {out}/checkpoints/ckpt-{first}: rerun the same command to "
                                       "resume")
    assert stderr.count("stopped by SIGTERM (exit status 143)") == 2 and "Traceback" not in stderr

    workers = launch.start_workers(2, args)  # the same command again: it resumes, and one worker is preempted
    wait_for_step(out, first + 2, workers)
    workers[1].send_signal(signal.SIGTERM)
    assert launch.supervise(workers, timeout=200, run=str(out)) == 143
    second = stopped_together(out, after=first + 1)
    message = capfd.readouterr().err
    assert message.splitlines()[-1] == (f"gan-zoo launch: a worker was stopped by SIGTERM; the workers stopped "
                                        f"together at step {second} and saved {out}/checkpoints/ckpt-{second}: "
                                        "rerun the same command to resume")
    assert message.count("stopped by SIGTERM (exit status 143)") == 2, message[-3000:]

    result = gan_zoo_launch(train_args(image_folder, out, steps=second + 2, recipe=TINY_DCGAN))  # resumes to the end
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(f"at step {second} of {second + 2}") == 2
    assert result.stdout.count(f"completed at step {second + 2}/{second + 2}") == 2
    assert [session["from_step"] for session in read_json(out / "train_state.json")["sessions"]] == [0, first, second]


def test_ctrl_c_to_the_launcher_is_forwarded_and_it_exits_130(capfd):
    """Without TensorFlow: two children that exit 130 on SIGINT, as a worker does after saving."""
    child = ("import signal, sys, time; signal.signal(signal.SIGINT, lambda *_: sys.exit(130)); print('ready', "
             "flush=True); time.sleep(120)")
    children = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert [process.stdout.readline() for process in children] == ["ready\n"] * 2

    def ctrl_c_once_supervising():
        while not isinstance(getattr(signal.getsignal(signal.SIGINT), "__self__", None), StopRequest):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_once_supervising, daemon=True).start()
    assert launch.supervise(children, poll_seconds=0.1, grace_seconds=60) == 130
    assert [process.returncode for process in children] == [130, 130]
    assert capfd.readouterr().err.splitlines()[-1] == ("gan-zoo launch: interrupted by Ctrl-C (SIGINT); rerun the same "
                                                       "command to resume from the last checkpoint, if there is one")


def test_workers_stop_for_sigterm_when_any_received_it_else_for_ctrl_c():
    request = StopRequest()
    assert request.vote() == [0.0, 0.0] and not request.agree([0.0, 0.0])
    request.record(signal.SIGINT)
    request.record(signal.SIGTERM)  # the first signal counts
    assert request.vote() == [0.0, 1.0]
    assert request.agree([1.0, 1.0]) and isinstance(request.interrupt(), Terminated)  # exit status 143
    interrupt = request.agree([0.0, 2.0]) and request.interrupt()
    assert type(interrupt) is KeyboardInterrupt  # 130


def test_relayed_lines_are_prefixed_with_their_worker():
    out = io.StringIO()
    launch.relay(io.BytesIO(b"step 2/4 - 3 s\n\xff bytes\nno newline at the end"), "[worker 1] ", out)
    assert out.getvalue() == "[worker 1] step 2/4 - 3 s\n[worker 1] \ufffd bytes\n[worker 1] no newline at the end\n"
    out.close()  # a reader gone: the lines are read and dropped, the relay does not fail
    stream = io.BytesIO(b"a line\n" * 3)
    launch.relay(stream, "[worker 1] ", out)
    assert stream.closed


def test_launch_refuses_bad_arguments(capsys):
    assert cli.main(["launch", "--workers", "2"]) == 2
    assert "give the training arguments after --" in capsys.readouterr().err
    with pytest.raises(UserError, match="--workers must be ≥ 1; received 0"):
        launch.start_workers(0, ["dcgan", "--out", "x"])
    for strategy in (["--strategy", "mirrored"], ["--strategy=mirrored"]):
        with pytest.raises(UserError, match="launch sets --strategy multi_worker itself"):
            launch.start_workers(2, ["dcgan", "--out", "x", *strategy])
    assert launch.option_value(["dcgan", "--out", "a", "--out=b"], "--out") == "b"  # the last, as argparse


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
