"""`gan-zoo launch --workers N -- <train args>`: N `gan-zoo train --strategy multi_worker` processes
on loopback ports, each with its TF_CONFIG (the standard cluster spec), for trying multi-worker
training on one machine. On a real cluster, set TF_CONFIG on each machine and run `gan-zoo train
... --strategy multi_worker` there instead.

If a worker exits with an error (or is killed), the others are stopped: collective ops would wait
for it forever. Rerunning the same command resumes from the chief's last checkpoint. Each line a worker
prints comes out prefixed with "[worker N] " (on stdout or stderr, as the worker wrote it).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from zoo.errors import UserError


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
    """Copy a child's byte `stream` to the text stream `out` line by line, each line prefixed."""
    for line in iter(stream.readline, b""):
        text = line.decode(errors="replace")
        out.write(prefix + text + ("" if text.endswith("\n") else "\n"))
        out.flush()
    stream.close()


def start_relays(process, prefix):
    """Threads relaying the process's stdout and stderr to ours (kept as `process.relays`)."""
    process.relays = [threading.Thread(target=relay, args=(stream, prefix, out), daemon=True)
                      for stream, out in ((process.stdout, sys.stdout), (process.stderr, sys.stderr))]
    for thread in process.relays:
        thread.start()
    return process


def start_workers(count, train_args, host="127.0.0.1"):
    """N `gan-zoo train ... --strategy multi_worker` processes, each with its TF_CONFIG; their lines are
    relayed prefixed with "[worker N] "."""
    if count < 1:
        raise UserError(f"--workers must be ≥ 1; received {count}")
    if any(arg == "--strategy" or arg.startswith("--strategy=") for arg in train_args):
        raise UserError("launch sets --strategy multi_worker itself; remove --strategy from the train arguments")
    workers = [f"{host}:{port}" for port in free_ports(count, host)]
    command = [sys.executable, "-m", "zoo.cli", "train", *train_args, "--strategy", "multi_worker"]
    return [start_relays(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          env={**os.environ, "TF_CONFIG": tf_config(workers, index),
                                               "PYTHONUNBUFFERED": "1"}), f"[worker {index}] ")
            for index in range(count)]


def describe_exit(code):
    return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"


def stop(processes, grace_seconds=30):
    """SIGTERM every running process, then SIGKILL those still running after `grace_seconds` in all."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def supervise(processes, poll_seconds=0.5, timeout=None, straggler_seconds=300):
    """Wait for every worker and return 0 when all succeed. If one fails, stop the others and return
    its exit status; also stop them `straggler_seconds` after a worker finished while others still
    run (a collective would wait for them forever), or after `timeout` s. Interrupting the launcher
    (Ctrl-C) stops the workers too."""
    deadline = None if timeout is None else time.monotonic() + timeout
    finished_at = None
    try:
        while True:
            codes = [process.poll() for process in processes]
            failed = [(index, code) for index, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                stop(processes)
                print(f"gan-zoo launch: {'; '.join(f'worker {i} {describe_exit(c)}' for i, c in failed)}; the other "
                      "workers were stopped. Rerun the same command to resume from the last checkpoint.",
                      file=sys.stderr)
                return max(1, max(code for _, code in failed))
            if all(code == 0 for code in codes):
                return 0
            if finished_at is None and 0 in codes:
                finished_at = time.monotonic()
            now = time.monotonic()
            if deadline is not None and now > deadline or finished_at and now - finished_at > straggler_seconds:
                stop(processes)
                reason = f"timed out after {timeout} s" if deadline is not None and now > deadline else (
                    f"some workers finished and the others were still running {straggler_seconds} s later")
                print(f"gan-zoo launch: {reason}; workers stopped", file=sys.stderr)
                return 124
            time.sleep(poll_seconds)
    finally:
        stop(processes)
        for process in processes:  # their last lines
            for thread in getattr(process, "relays", ()):
                thread.join(timeout=10)


def launch(count, train_args, timeout=None):
    if timeout is not None and not timeout > 0:  # also NaN; -1 stopped the workers at once, "timed out"
        raise UserError(f"--timeout must be a positive number of seconds; received {timeout}")
    return supervise(start_workers(count, train_args), timeout=timeout)
