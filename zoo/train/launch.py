"""`gan-zoo launch --workers N -- <train args>`: N `gan-zoo train --strategy multi_worker` processes
on loopback ports, each with its TF_CONFIG (the standard cluster spec), for trying multi-worker
training on one machine. On a real cluster, set TF_CONFIG on each machine and run `gan-zoo train
... --strategy multi_worker` there instead.

If a worker exits with an error (or is killed), the others are stopped: collective ops would wait
for it forever. SIGTERM or Ctrl-C to the launcher is forwarded to every worker, which stop after the same
step and save one checkpoint together (as when one worker alone receives the signal). Rerunning the same
command resumes from the chief's last checkpoint. Each line a worker prints comes out prefixed with
"[worker N] " (on stdout or stderr, as the worker wrote it).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from zoo.errors import StopRequest, UserError
from zoo.files import read_json

STOP_GRACE_SECONDS = 120  # for the workers to finish their step, save their checkpoint together and exit
SIGNAL_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C (SIGINT)"}
INTERRUPTED = {128 + signum: signum for signum in SIGNAL_NAMES}  # a worker's status after it saved and stopped
STATE_FILE = "train_state.json"  # zoo.train.run_directory.STATE_FILE (importing it would load TensorFlow)


def free_port(host="127.0.0.1"):
    """A TCP port free on `host` now (the OS may hand it out again later: use it at once)."""
    return free_ports(1, host)[0]


def free_ports(count, host="127.0.0.1"):
    """`count` distinct TCP ports free on `host` now (all probes stay open until every port is chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((host, 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def tf_config(workers, index):
    """TF_CONFIG of worker `index` of a cluster {"worker": ["host:port", ...]}."""
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def relay(stream, prefix, out):
    """Copy a child's byte `stream` to the text stream `out` line by line, each line prefixed. Once `out` is
    closed (a reader gone), the lines are read and dropped: the child never blocks on a full pipe."""
    for line in iter(stream.readline, b""):
        text = line.decode(errors="replace")
        try:
            out.write(prefix + text + ("" if text.endswith("\n") else "\n"))
            out.flush()
        except (OSError, ValueError):  # BrokenPipeError; ValueError: a closed file
            pass
    stream.close()


def start_relays(process, prefix):
    """Threads relaying the process's stdout and stderr to ours (kept as `process.relays`)."""
    process.relays = [threading.Thread(target=relay, args=(stream, prefix, out), daemon=True)
                      for stream, out in ((process.stdout, sys.stdout), (process.stderr, sys.stderr))]
    for thread in process.relays:
        thread.start()
    return process


def option_value(args, name):
    """The value of option `name` in a command's arguments ("--out DIR" or "--out=DIR"; "" when it ends them;
    the last one when repeated, as argparse takes it), or None when it is not given."""
    value = None
    for index, arg in enumerate(args):
        if arg == name:
            value = args[index + 1] if index + 1 < len(args) else ""
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value


def start_workers(count, train_args, host="127.0.0.1"):
    """N `gan-zoo train ... --strategy multi_worker` processes, each with its TF_CONFIG; their lines are
    relayed prefixed with "[worker N] "."""
    if count < 1:
        raise UserError(f"--workers must be ≥ 1; received {count}")
    if option_value(train_args, "--strategy") is not None:
        raise UserError("launch sets --strategy multi_worker itself; remove --strategy from the train arguments")
    workers = [f"{host}:{port}" for port in free_ports(count, host)]
    command = [sys.executable, "-m", "zoo.cli", "train", *train_args, "--strategy", "multi_worker"]
    return [start_relays(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          env={**os.environ, "TF_CONFIG": tf_config(workers, index),
                                               "PYTHONUNBUFFERED": "1"}), f"[worker {index}] ")
            for index in range(count)]


def describe_exit(code):
    return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"


def stop(processes, grace_seconds=30, signum=signal.SIGTERM):
    """Send `signum` (if not None) to every running process, then SIGKILL those still running after
    `grace_seconds` in all; return the indices of the killed ones."""
    for process in processes:
        if signum and process.poll() is None:
            process.send_signal(signum)
    deadline, killed = time.monotonic() + grace_seconds, []
    for index, process in enumerate(processes):
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            killed.append(index)
    return killed


def supervise(processes, poll_seconds=0.5, timeout=None, straggler_seconds=300, run=None,
              grace_seconds=STOP_GRACE_SECONDS):
    """Wait for every worker and return 0 when all succeed. If one fails, stop the others and return
    its exit status; also stop them `straggler_seconds` after a worker finished while others still
    run (a collective would wait for them forever). SIGTERM or Ctrl-C to the launcher, a worker stopped
    by a signal of its own, or `timeout` s: every worker stops after the same step and they save together
    (`grace_seconds` to do it, then they are killed); the line printed says where run directory `run`'s
    checkpoint is, and the status returned is 143, 130 or 124."""
    stop_request = StopRequest()
    try:
        with stop_request.recording():
            return watch(processes, stop_request, poll_seconds, timeout, straggler_seconds, run, grace_seconds)
    finally:
        stop(processes)
        for process in processes:  # their last lines
            for thread in getattr(process, "relays", ()):
                thread.join(timeout=10)


def watch(processes, stop_request, poll_seconds, timeout, straggler_seconds, run, grace_seconds):
    """supervise's loop: poll the workers until they all finish or one of its reasons to stop them comes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    finished_at = None
    while True:
        codes = [process.poll() for process in processes]
        failed = [(index, code) for index, code in enumerate(codes) if code not in (None, 0, *INTERRUPTED)]
        if failed:  # first: its peers may be blocked in a collective, and would never stop together (from review)
            stop(processes)
            print(f"gan-zoo launch: {'; '.join(f'worker {i} {describe_exit(c)}' for i, c in failed)}; the other "
                  "workers were stopped. Rerun the same command to resume from the last checkpoint.",
                  file=sys.stderr)
            return max(1, max(code for _, code in failed))
        if stop_request.signum:
            return wind_down(processes, stop_request.signum, grace_seconds, run,
                             f"interrupted by {SIGNAL_NAMES[stop_request.signum]}", 128 + stop_request.signum)
        stopped = next((INTERRUPTED[code] for code in codes if code in INTERRUPTED), None)
        if stopped:  # its peers stop after the same step and are exiting too: wait for them (a signal would kill them)
            return wind_down(processes, None, grace_seconds, run, f"a worker was stopped by {SIGNAL_NAMES[stopped]}",
                             128 + stopped)
        if all(code == 0 for code in codes):
            return 0
        now = time.monotonic()
        if deadline is not None and now > deadline:
            return wind_down(processes, signal.SIGTERM, grace_seconds, run, f"timed out after {timeout} s", 124)
        finished_at = finished_at or (now if 0 in codes else None)
        if finished_at and now - finished_at > straggler_seconds:
            stop(processes)
            print(f"gan-zoo launch: some workers finished and the others were still running {straggler_seconds} s "
                  "later; workers stopped", file=sys.stderr)
            return 124
        time.sleep(poll_seconds)


def wind_down(processes, signum, grace_seconds, run, reason, status):
    """Send `signum` (if not None) to the running workers (they stop after the same step and save together),
    kill those still running after `grace_seconds`, print one line: `reason` and where the run's checkpoint is;
    return `status`."""
    killed = stop(processes, grace_seconds, signum)
    codes = [process.returncode for process in processes]
    troubles = [f"worker {index} was killed after {grace_seconds} s without stopping" if index in killed
                else f"worker {index} {describe_exit(code)}"
                for index, code in enumerate(codes) if code not in (0, *INTERRUPTED)]
    print(f"gan-zoo launch: {reason}; {'; '.join(troubles + [checkpoint_note(run, saved=not troubles)])}",
          file=sys.stderr)
    return status


def checkpoint_note(run, saved):
    """Where run directory `run`'s checkpoint is, from its train_state.json, and how to resume; `saved`: every
    worker stopped on the signal, after saving together."""
    state = read_json(os.path.join(run, STATE_FILE)) if run and os.path.exists(os.path.join(run, STATE_FILE)) else {}
    if saved and state.get("status") == "interrupted":
        return (f"the workers stopped together at step {state['step']} and saved {state['checkpoint']}: rerun the "
                "same command to resume")
    if state.get("checkpoint"):
        return f"the last checkpoint is {state['checkpoint']} (step {state['step']}): rerun the same command to resume"
    return "rerun the same command to resume from the last checkpoint, if there is one"


def launch(count, train_args, timeout=None):
    if timeout is not None and not timeout > 0:  # also NaN; -1 stopped the workers at once, "timed out"
        raise UserError(f"--timeout must be a positive number of seconds; received {timeout}")
    return supervise(start_workers(count, train_args), timeout=timeout, run=option_value(train_args, "--out"))
