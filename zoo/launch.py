"""`gan-zoo launch --workers N -- <train args>`: N `gan-zoo train --strategy multi_worker` processes
on loopback ports, each with its TF_CONFIG (the standard cluster spec), for trying multi-worker
training on one machine. On a real cluster, set TF_CONFIG on each machine and run `gan-zoo train
... --strategy multi_worker` there instead.

If a worker exits with an error (or is killed), the others are stopped: collective ops would wait
for it forever. Rerunning the same command resumes from the chief's last checkpoint.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

from zoo.errors import UserError


def free_port(host="127.0.0.1"):
    """A TCP port free on `host` now (the OS may hand it out again later: use it at once)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def tf_config(workers, index):
    """TF_CONFIG of worker `index` of a cluster {"worker": ["host:port", ...]}."""
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def start_workers(count, train_args, host="127.0.0.1"):
    if count < 1:
        raise UserError(f"--workers must be ≥ 1; received {count}")
    if "--strategy" in train_args:
        raise UserError("launch sets --strategy multi_worker itself; remove --strategy from the train arguments")
    workers = [f"{host}:{free_port(host)}" for _ in range(count)]
    command = [sys.executable, "-m", "zoo.cli", "train", *train_args, "--strategy", "multi_worker"]
    return [subprocess.Popen(command, env={**os.environ, "TF_CONFIG": tf_config(workers, index)})
            for index in range(count)]


def describe_exit(code):
    return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"


def supervise(processes, poll_seconds=0.5, timeout=None):
    """Wait for every worker; if one fails, stop the rest and return its exit code (0 if all succeed)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        codes = [process.poll() for process in processes]
        failed = [(index, code) for index, code in enumerate(codes) if code not in (None, 0)]
        if failed or (deadline is not None and time.monotonic() > deadline):
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            if not failed:
                print(f"gan-zoo launch: timed out after {timeout} s; workers stopped", file=sys.stderr)
                return 124
            index, code = failed[0]
            print(f"gan-zoo launch: worker {index} {describe_exit(code)}; the other workers were stopped. "
                  "Rerun the same command to resume from the last checkpoint.", file=sys.stderr)
            return code if code > 0 else 1
        if all(code == 0 for code in codes):
            return 0
        time.sleep(poll_seconds)


def launch(count, train_args, timeout=None):
    return supervise(start_workers(count, train_args), timeout=timeout)
