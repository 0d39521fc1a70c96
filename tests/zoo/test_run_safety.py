"""A run directory's data is not lost (issue 30): one process works in it at a time (a second `gan-zoo
train` or a `make-preset` is refused at once, touching nothing; a filesystem without locks, or a lock
directory removed meanwhile, is one line), SIGTERM stops training as Ctrl-C does (checkpoint, status
"interrupted", resumable; make-preset packages it only when asked), and a full disk ends the run with one
line, no half-written checkpoint and the status recorded."""
import errno
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from zoo import cli
from zoo.errors import Terminated, UserError
from zoo import files
from zoo.files import locked_directory, read_json
from zoo.presets import store
from zoo.train.config import TrainConfig
from zoo.train.loop import train

TINY = ["--set", "width=8", "--set", "latent_dim=8"]


def gan_zoo(*args):
    return [sys.executable, "-m", "zoo.cli", *args]


def wait_for(condition, process, seconds=180):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def snapshot(directory):
    """{relative path: bytes} of every file under `directory`, the lock file aside."""
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            if name != ".lock":
                path = os.path.join(root, name)
                found[os.path.relpath(path, directory)] = open(path, "rb").read()
    return found


def one_line(stderr):
    lines = [line for line in stderr.strip().splitlines() if line.startswith("gan-zoo")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def test_a_busy_run_directory_is_refused_and_sigterm_stops_a_run_resumably(tmp_path, image_folder, capsys):
    """Two real processes: the second `gan-zoo train` into a directory in use is refused in one line naming the
    first's pid, and touches nothing; make-preset too. SIGTERM: a checkpoint at the step reached, status
    "interrupted", exit 143; the same command resumes from there; make-preset packages it only when asked."""
    out = tmp_path / "run"
    command = gan_zoo("train", "dcgan", "--dataset", image_folder, "--out", str(out), "--batch-size", "8", *TINY,
                      "--checkpoint-every", "3", "--sample-every", "1000", "--log-every", "3", "--quiet")
    first = subprocess.Popen(command + ["--steps", "100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (out / "train_state.json").exists(), first)
        os.kill(first.pid, signal.SIGSTOP)  # hold it still while its files are compared
        before = snapshot(out)
        for extra in (["--steps", "100000"], ["--steps", "5", "--set", "width=16"]):  # same or other settings
            second = subprocess.run(command + extra, capture_output=True, text=True, timeout=300)
            assert second.returncode == 2
            assert one_line(second.stderr) == (f"gan-zoo: error: --out {out} is in use by another gan-zoo process "
                                               f"(pid {first.pid}); wait for it or choose another --out")
            assert snapshot(out) == before  # run.json, logs/, checkpoints: nothing of the first touched
        assert cli.main(["make-preset", str(out), "--name", "x", "--out", str(tmp_path / "presets")]) == 2
        assert (f"run {out} is in use by another gan-zoo process (pid {first.pid}); wait for it to finish"
                in capsys.readouterr().err)
        assert not (tmp_path / "presets").exists()
        os.kill(first.pid, signal.SIGCONT)
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 143, stderr[-3000:]
    assert "stopped by SIGTERM" in one_line(stderr)
    state = read_json(out / "train_state.json")
    stopped_at = state["step"]
    assert state["status"] == "interrupted" and stopped_at >= 3
    assert tf.train.latest_checkpoint(str(out / "checkpoints")).endswith(f"ckpt-{stopped_at}")
    # an interrupted run: packaged only when asked, and the card says where it stopped
    assert cli.main(["make-preset", str(out), "--name", "early", "--out", str(tmp_path / "presets")]) == 2
    assert (f"{out} has not completed (status 'interrupted', step {stopped_at} of 100000); finish training (rerun "
            "its command) or pass --allow-incomplete") in capsys.readouterr().err
    assert cli.main(["make-preset", str(out), "--name", "early", "--out", str(tmp_path / "presets"),
                     "--allow-incomplete"]) == 0
    card = store.card(str(tmp_path / "presets" / "early"))
    assert card["training"]["stopped_early"] == {"step": stopped_at, "total_steps": 100000, "status": "interrupted"}
    assert card["notes"] == f"Training stopped at step {stopped_at} of 100000 (interrupted); packaged as it was."
    # the same command resumes from the step reached
    resumed = subprocess.run(command + ["--steps", str(stopped_at + 2)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"completed at step {stopped_at + 2}/{stopped_at + 2}" in resumed.stdout
    assert [s["from_step"] for s in read_json(out / "train_state.json")["sessions"]] == [0, stopped_at]


def tiny(out, data, **overrides):
    settings = dict(recipe="dcgan", out=str(out), dataset=data, steps=4, batch_size=8, seed=5,
                    recipe_args={"width": 8, "latent_dim": 8}, log_every=2, sample_every=100, checkpoint_every=2,
                    verbose=0)
    return TrainConfig(**{**settings, **overrides})


def test_a_full_disk_ends_the_run_with_one_line_no_temporary_checkpoint_and_the_status_recorded(
        tmp_path, image_folder, monkeypatch):
    out = tmp_path / "run"
    real_save = tf.train.CheckpointManager.save

    def disk_full_at_step_4(manager, checkpoint_number=None, **kwargs):
        if checkpoint_number != 4:
            return real_save(manager, checkpoint_number=checkpoint_number, **kwargs)
        partial = os.path.join(manager.directory, "ckpt-4_temp")  # where TensorFlow writes before renaming
        os.makedirs(partial)
        open(os.path.join(partial, "part-00000-of-00001.data-00000-of-00001"), "wb").write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", os.path.join(partial, "part-00000-of-00001"))

    monkeypatch.setattr(tf.train.CheckpointManager, "save", disk_full_at_step_4)
    with pytest.raises(UserError) as raised:
        train(tiny(out, image_folder))
    message = str(raised.value)
    assert message.startswith(f"no space left on device while writing {out / 'checkpoints' / 'ckpt-4_temp'}")
    assert message.endswith("; free space and rerun the same command to resume") and "\n" not in message
    assert not [name for name in os.listdir(out / "checkpoints") if "_temp" in name]
    state = read_json(out / "train_state.json")
    assert (state["status"], state["step"], state["stopped_by"]) == ("interrupted", 2, "no space left on device")
    monkeypatch.undo()
    assert train(tiny(out, image_folder))["status"] == "completed"  # space freed: the same run resumes
    assert [s["from_step"] for s in read_json(out / "train_state.json")["sessions"]] == [0, 2]


def test_sigterm_in_the_main_thread_saves_and_stops_like_ctrl_c(tmp_path, image_folder, monkeypatch):
    """In-process, the handler's part: SIGTERM at step 3 → Terminated after a checkpoint at step 3; the previous
    handler is back afterwards."""
    from zoo.train import callbacks

    real = callbacks.TrainingMonitor.on_train_batch_end

    def terminate_at_step_3(monitor, batch, logs=None):
        real(monitor, batch, logs)
        if monitor.step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(callbacks.TrainingMonitor, "on_train_batch_end", terminate_at_step_3)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        train(tiny(tmp_path, image_folder, steps=6))
    assert signal.getsignal(signal.SIGTERM) is before
    state = read_json(tmp_path / "train_state.json")
    assert (state["status"], state["step"]) == ("interrupted", 3)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-3")


def test_the_lock_refuses_a_second_holder_and_is_taken_again_after_release(tmp_path):
    run = tmp_path / "run"
    with locked_directory(str(run)) as before:
        assert before is None and os.listdir(run) == [".lock"]
        with pytest.raises(UserError, match=f"--out {run} is in use by another gan-zoo process \\(pid {os.getpid()}\\)"):
            with locked_directory(str(run)):
                pass
    assert not run.exists()  # a directory made only for the lock goes again
    run.mkdir()
    with locked_directory(str(run)) as before:
        assert before == set()
    assert os.listdir(run) == [".lock"]


def test_a_filesystem_without_locks_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    """flock fails with ENOLCK on some NFS mounts: it was an OSError traceback."""
    import fcntl

    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    run = tmp_path / "run"
    for existed in (False, True):
        with pytest.raises(UserError) as raised:
            with locked_directory(str(run)):
                pass
        assert str(raised.value) == (f"--out {run} is on a filesystem that does not support file locks (No locks "
                                     "available); run on a local disk")
        assert os.listdir(run) == [] if existed else not run.exists()  # no lock file, no directory made for it
        run.mkdir(exist_ok=True)
    with pytest.raises(UserError, match=f"{tmp_path / 'cache.npz'}.lock is on a filesystem that does not support"):
        with files.exclusive(str(tmp_path / "cache.npz")):
            pass


@pytest.mark.parametrize("removals", [1, files.LOCK_ATTEMPTS], ids=["once", "every time"])
def test_a_lock_directory_removed_while_the_lock_is_taken(tmp_path, monkeypatch, removals):
    """The last holder of a new run directory removes it as it exits (it held only the lock): between our making
    it and opening the lock file in it, that was a FileNotFoundError traceback. Taken on the next try; refused
    in one line when it keeps going."""
    run = str(tmp_path / "run")
    real_makedirs, removed = os.makedirs, []

    def makedirs(path, *args, **kwargs):
        real_makedirs(path, *args, **kwargs)
        if path == run and len(removed) < removals:
            os.rmdir(path)
            removed.append(path)

    monkeypatch.setattr(os, "makedirs", makedirs)
    if removals < files.LOCK_ATTEMPTS:
        with locked_directory(run) as before:
            assert before is None and os.listdir(run) == [".lock"]
        assert not os.path.exists(run)
        return
    with pytest.raises(UserError) as raised:
        with locked_directory(run):
            pass
    assert str(raised.value) == (f"--out {run} (or its lock file .lock) was removed {files.LOCK_ATTEMPTS} times "
                                 "while its lock was being taken; make sure nothing else deletes it, then rerun")


def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_taking_a_run_directory_settles_what_killed_writers_left_there(tmp_path):
    """A kill mid-write leaves `.train_state.json.tmp-*` beside the file: the next process to lock the run removes
    it when its writer is gone (never a running process's), before it reports the directory's entries."""
    run = tmp_path / "run"
    run.mkdir()
    tag = files.machine_tag()
    dead = f".train_state.json.tmp-{tag}-{dead_pid()}-0123abcd.json"
    running = f".train_state.json.tmp-{tag}-{os.getpid()}-0123abcd.json"
    for name in (dead, running):
        (run / name).write_text("{")
    with locked_directory(str(run)) as before:
        assert before == {running}
    assert sorted(os.listdir(run)) == sorted([".lock", running])
