"""Latency and throughput of `gan-zoo serve` on loopback, beside the SavedModel signature called
in-process: the server's own cost (HTTP, JSON, batching) is the difference.

    python benchmarks/serve_latency.py [--preset dcgan_fashion_mnist_28] [--requests 1000] [--clients 1,8]

Each request asks for one image by seed ({"inputs": {"seed": [s]}}, the `sample` signature, JSON
pixel output). Prints a table; asserts nothing; every phase is bounded by --timeout seconds.
"""
import argparse
import gc
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def timed_request(url, seed):
    """(seconds, ok) of one predict request."""
    body = json.dumps({"inputs": {"seed": [seed]}}).encode()
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as response:
            ok = response.status == 200 and len(json.loads(response.read())["outputs"]["images"]) == 1
    except (OSError, urllib.error.HTTPError, KeyError, ValueError):
        ok = False
    return time.perf_counter() - started, ok


def load_run(url, requests, clients, timeout):
    """Send `requests` requests from `clients` threads; stop early at `timeout` s."""
    deadline = time.monotonic() + timeout
    started = time.perf_counter()

    def client(index):
        results = []
        for seed in range(index, requests, clients):
            if time.monotonic() > deadline:
                break
            results.append(timed_request(url, seed))
        return results

    with ThreadPoolExecutor(clients) as pool:
        results = [r for chunk in pool.map(client, range(clients)) for r in chunk]
    return results, time.perf_counter() - started


def in_process(path, requests, timeout):
    import tensorflow as tf

    sample = tf.saved_model.load(path).signatures["sample"]
    sample(seed=tf.constant([0], tf.int64))  # warm-up
    deadline, results = time.monotonic() + timeout, []
    started = time.perf_counter()
    for seed in range(requests):
        if time.monotonic() > deadline:
            break
        t = time.perf_counter()
        sample(seed=tf.constant([seed], tf.int64))["images"].numpy()
        results.append((time.perf_counter() - t, True))
    return results, time.perf_counter() - started


def row(label, results, wall):
    latencies = np.array([seconds for seconds, _ in results]) * 1000
    errors = sum(not ok for _, ok in results)
    return (f"| {label} | {len(results)} | {np.percentile(latencies, 50):.2f} | {np.percentile(latencies, 99):.2f} | "
            f"{len(results) / wall:.0f} | {errors} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="dcgan_fashion_mnist_28")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--timeout", type=float, default=300, help="bound of each phase, seconds")
    args = parser.parse_args()

    from zoo.presets.pretrained import load_generator
    from zoo.train.launch import free_port
    from hub_export.saved_model import export_serving
    from hub_export.server import start_server_process

    with tempfile.TemporaryDirectory() as models:
        path = export_serving(load_generator(args.preset)[0], models)
        rows = [row("SavedModel `sample` in-process (no server)", *in_process(path, args.requests, args.timeout))]
        port = free_port()
        server = start_server_process(models, port)
        try:
            url = f"http://127.0.0.1:{port}/v1/models/{args.preset}:predict"
            load_run(url, 20, 1, args.timeout)  # warm-up: traces, connections
            gc.collect()
            gc.freeze()  # this client process holds TensorFlow too: its full collections would stall the
            # client threads and count as server latency
            for clients in map(int, args.clients.split(",")):
                rows.append(row(f"gan-zoo serve, {clients} client(s)", *load_run(url, args.requests, clients,
                                                                                 args.timeout)))
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"{args.preset}: one image per request by seed; {os.cpu_count()} CPU cores; loopback HTTP/1.1, "
          "a new connection per request (urllib)")
    print("\n| path | requests | p50 ms | p99 ms | requests/s | errors |\n|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
