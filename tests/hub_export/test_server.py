"""`gan-zoo serve`: TF Serving's REST contract on loopback, in a real server process: status,
metadata, predict by seed and by z (row and columnar formats, PNG output), concurrent requests
batched, large bodies and responses through the codec process, every kind of bad request answered
with the right status and a JSON message while the server keeps serving (a huge "num" at once, while
another request is served), a burst of 1000 requests, stalled clients dropped after --timeout, and a
graceful exit on SIGTERM."""
import base64
import io
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from zoo.images import to_uint8
from zoo.train.launch import free_port
from hub_export import saved_model
from hub_export.server import start_server_process

MAX_BATCH, MAX_BYTES, TIMEOUT = 64, 40_000, 2  # 64 images of 8×8 (8192 numbers) go through the codec process


def request(url, body=None, raw=None):
    """(status, JSON response) of a GET (no body) or POST."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server(generators, tmp_path_factory):
    models = tmp_path_factory.mktemp("served")
    for kind in ("unconditional", "conditional", "conditional_truncated"):
        saved_model.export_serving(generators[kind], str(models))
    port = free_port()
    process = start_server_process(models, port, "--max-batch", MAX_BATCH, "--max-request-bytes", MAX_BYTES,
                                   "--timeout", TIMEOUT)
    base = f"http://127.0.0.1:{port}/v1/models"
    yield {"base": base, "process": process, "models": models, "port": port}
    if process.poll() is None:
        process.kill()


def test_status_and_metadata(server):
    status, body = request(f"{server['base']}/tiny_conditional")
    assert status == 200
    assert body["model_version_status"] == [{"version": "1", "state": "AVAILABLE",
                                             "status": {"error_code": "OK", "error_message": ""}}]
    status, body = request(f"{server['base']}/tiny_conditional/versions/1/metadata")
    assert status == 200 and body["model_spec"] == {"name": "tiny_conditional", "signature_name": "", "version": "1"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert sorted(signatures) == ["sample", "serving_default"]
    z = signatures["serving_default"]["inputs"]["z"]
    assert z["dtype"] == "DT_FLOAT" and [d["size"] for d in z["tensor_shape"]["dim"]] == ["-1", "8"]
    assert signatures["sample"]["inputs"]["seed"]["dtype"] == "DT_INT64"
    assert signatures["sample"]["outputs"]["images"]["dtype"] == "DT_UINT8"


def test_predict_by_seed_and_by_z(server, generators):
    generator = generators["unconditional"]
    url = f"{server['base']}/tiny_unconditional:predict"
    status, body = request(url, {"inputs": {"seed": 5, "num": 3}})
    assert status == 200
    expected = generator.sample_seeds([5, 6, 7])
    assert np.abs(np.array(body["outputs"]["images"]) - expected.astype(int)).max() <= 1
    assert request(url, {"signature_name": "sample", "inputs": {"seed": [5, 6, 7]}})[1] == body  # same seeds, same images

    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    status, body = request(url.replace(":predict", "/versions/1:predict"), {"instances": z.tolist()})
    assert status == 200 and len(body["predictions"]) == 2
    np.testing.assert_allclose(np.array([p["images_float"] for p in body["predictions"]]), generator(z), atol=1e-5)


def test_conditional_rows_and_png_output(server, generators):
    url = f"{server['base']}/tiny_conditional:predict"
    z = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)
    rows = [{"z": z[0].tolist(), "labels": 2}, {"z": z[1].tolist(), "labels": 0}]
    status, body = request(url, {"instances": rows, "output_format": "png"})
    assert status == 200 and list(body["predictions"][0]) == ["images"]
    pngs = [np.array(Image.open(io.BytesIO(base64.b64decode(p["images"]["b64"])))) for p in body["predictions"]]
    expected = to_uint8(generators["conditional"]([z, np.array([2, 0], np.int32)]))[..., 0]
    assert np.abs(np.stack(pngs).astype(int) - expected.astype(int)).max() <= 1


def test_labels_and_truncation_by_seed_are_served(server, generators):
    """BigGAN-lite's kind: a served {"seed", "labels", "truncation"} row is `g.sample_seeds([seed], [label],
    truncation=ψ)`'s image (ψ the mass of z kept: 1 none), ψ per row."""
    generator = generators["conditional_truncated"]
    seeds, labels, psis = [4, 4, 9], [1, 1, 2], [1.0, 0.5, 0.25]
    status, body = request(f"{server['base']}/tiny_conditional_truncated:predict",
                           {"inputs": {"seed": seeds, "labels": labels, "truncation": psis}})
    assert status == 200
    served = np.array(body["outputs"]["images"])
    expected = np.stack([generator.sample_seeds([seed], [label], truncation=psi)[0]
                         for seed, label, psi in zip(seeds, labels, psis)])
    assert np.abs(served - expected.astype(int)).max() <= 1
    assert np.abs(served[0] - served[1]).max() > 1  # the same seed and class at ψ = 1 and 0.5: other images


def test_one_seed_is_one_image_in_every_runtime(server, generators, tmp_path):
    """Seed s (recipes.latents) in Python (`sample_seeds`, `sample(1, s)`), the SavedModel's `sample`
    signature, the server, and TFLite and ONNX fed `g.latents(seeds)`: the same image (uint8, ±1 for
    float rounding across runtimes)."""
    import tensorflow as tf

    from hub_export import convert
    from runtimes import run_onnx, run_tflite

    generator, seeds, labels = generators["conditional"], [0, 5, 2**40], np.array([2, 0, 1], np.int32)
    expected = generator.sample_seeds(seeds, labels).astype(int)
    for i, (seed, label) in enumerate(zip(seeds, labels)):
        np.testing.assert_array_equal(generator.sample(1, seed, labels=[label])[0], expected[i])
    same = lambda images: np.abs(np.asarray(images).astype(int) - expected).max() <= 1  # noqa: E731
    exported = tf.saved_model.load(str(server["models"] / "tiny_conditional" / "1")).signatures["sample"]
    assert same(exported(seed=tf.constant(seeds, tf.int64), labels=tf.constant(labels))["images"])
    status, body = request(f"{server['base']}/tiny_conditional:predict",
                           {"inputs": {"seed": seeds, "labels": labels.tolist()}})
    assert status == 200 and same(body["outputs"]["images"])
    inputs = {"z": generator.latents(seeds), "labels": labels}
    tflite = convert.convert(generator, str(tmp_path / "g.tflite"), "tflite")
    assert same(run_tflite(open(tflite, "rb").read(), inputs)["images"])
    pytest.importorskip("onnxruntime")
    assert same(run_onnx(convert.convert(generator, str(tmp_path / "g.onnx"), "onnx"), inputs)["images"])


def test_concurrent_requests_are_batched_and_answered_each_its_own(server, generators):
    url = f"{server['base']}/tiny_unconditional:predict"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda s: request(url, {"inputs": {"seed": [s, s + 100]}}), range(24)))
    assert all(status == 200 for status, _ in answers)
    for s, (_, body) in enumerate(answers):
        expected = generators["unconditional"].sample_seeds([s, s + 100])
        assert np.abs(np.array(body["outputs"]["images"]) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("path, body, raw, status, message", [
    ("tiny_unconditional:predict", None, b"{not json", 400, "not valid JSON"),
    ("tiny_unconditional:predict", {"inputs": {"z": [[0.0] * 3]}}, None, 400, "has shape [1, 3]"),
    ("tiny_unconditional:predict", {"inputs": {"z": [["a"] * 8]}}, None, 400, "must hold numbers"),
    ("tiny_conditional:predict", {"inputs": {"z": [[0.0] * 8], "labels": [1.5]}}, None, 400, "must hold integers"),
    ("tiny_conditional:predict", {"inputs": {"z": [[0.0] * 8]}}, None, 400, "takes inputs ['labels', 'z']"),
    ("tiny_conditional:predict", {"inputs": {"z": [[0.0] * 8], "labels": [7]}}, None, 400, "class ids in [0, 3)"),
    ("tiny_unconditional:predict", {"inputs": {"seed": 0, "num": MAX_BATCH + 1}}, None, 400, f"from 1 to {MAX_BATCH}"),
    ("tiny_unconditional:predict", {"inputs": {"seed": 0, "num": 10**9}}, None, 400, f"from 1 to {MAX_BATCH}"),
    ("tiny_unconditional:predict", {"inputs": {"z": [[0.0] * 8] * (MAX_BATCH + 1)}}, None, 400, f"1 to {MAX_BATCH} rows"),
    ("tiny_unconditional:predict", {"instances": 5}, None, 400, '"instances" must be a non-empty list'),
    ("tiny_unconditional:predict", None, b'{"inputs": {"z": [[NaN, 0, 0, 0, 0, 0, 0, 0]]}}', 400, "NaN or infinite"),
    ("tiny_unconditional:predict", None, b'{"inputs": {"z": [[1e999, 0, 0, 0, 0, 0, 0, 0]]}}', 400, "NaN or infinite"),
    ("tiny_unconditional:predict", None, b'{"inputs": {"z": ' + b"[" * 3000 + b"]" * 3000 + b"}}", 400,
     "nested too deeply"),  # decoded on the event loop
    ("tiny_unconditional:predict", None, b'{"inputs": {"z": ' + b"[" * 19000 + b"]" * 19000 + b"}}", 400,
     "nested too deeply"),  # decoded in the codec process
    ("tiny_unconditional:predict", {"inputs": {"seed": [0]}, "output_format": "gif"}, None, 400,
     '"output_format" must be "json" or "png"'),
    ("tiny_unconditional:predict", {"inputs": {"seed": [2**70]}}, None, 400, "must hold integers"),
    ("tiny_unconditional:predict", {"signature_name": "train", "inputs": {"z": [[0.0] * 8]}}, None, 400,
     "unknown signature_name"),
    ("tiny_unconditional:predict", {"instances": [], "inputs": {}}, None, 400, "exactly one of"),
    ("nothing_here:predict", {"inputs": {"seed": [0]}}, None, 404, "Servable not found"),
    ("tiny_unconditional/versions/9:predict", {"inputs": {"seed": [0]}}, None, 404, "versions: 1"),
    ("tiny_unconditional:predict", None, b"[" + b"0.0," * MAX_BYTES + b"0.0]", 413, f"larger than {MAX_BYTES} bytes"),
])
def test_bad_requests_get_status_and_message_and_the_server_keeps_serving(server, path, body, raw, status,
                                                                          message):
    answer_status, answer = request(f"{server['base']}/{path}", body, raw)
    assert answer_status == status and message in answer["error"], answer
    assert request(f"{server['base']}/tiny_unconditional:predict", {"inputs": {"seed": [0]}})[0] == 200


def test_large_bodies_and_responses_go_through_the_codec_process(server, generators):
    url = f"{server['base']}/tiny_unconditional:predict"
    z = np.random.default_rng(2).standard_normal((MAX_BATCH, 8)).astype(np.float32)
    body = json.dumps({"inputs": {"z": z.tolist()}}, indent=8).encode()  # > INLINE_REQUEST_BYTES
    assert 16 * 2**10 < len(body) < MAX_BYTES
    status, answer = request(url, raw=body)  # and 64 × 128 numbers out > INLINE_RESPONSE_VALUES
    assert status == 200
    np.testing.assert_allclose(np.array(answer["outputs"]["images_float"]), generators["unconditional"](z), atol=1e-5)


def test_a_huge_num_is_refused_at_once_while_another_request_is_served(server):
    url = f"{server['base']}/tiny_unconditional:predict"
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(request, url, {"inputs": {"seed": 0, "num": MAX_BATCH}})
        started = time.perf_counter()
        status, answer = request(url, {"inputs": {"seed": 0, "num": 10**9}})
        seconds = time.perf_counter() - started
        assert status == 400 and "from 1 to" in answer["error"] and seconds < 0.1, (status, answer, seconds)
        assert other.result()[0] == 200


def test_a_burst_of_1000_requests_from_16_clients_all_succeed(server):
    url = f"{server['base']}/tiny_unconditional:predict"
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda s: request(url, {"inputs": {"seed": [s]}})[0], range(1000)))
    assert statuses == [200] * 1000


def stalled_client(port, data, timeout):
    """What the server sends back to a client that sends `data` and then nothing (b"" when it just
    closes), and the seconds until it closed; bounded by `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        started, received = time.monotonic(), b""
        while chunk := connection.recv(65536):
            received += chunk
        return received, time.monotonic() - started


@pytest.mark.parametrize("data, expected", [
    (b"POST /v1/models/tiny_unconditional:predict HTTP/1.1\r\nHost: x\r\n", b""),  # headers never finish
    (b"POST /v1/models/tiny_unconditional:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in",
     b"408"),  # the body never finishes
])
def test_a_stalled_client_is_dropped_after_the_timeout_and_others_are_served(server, data, expected):
    url = f"{server['base']}/tiny_unconditional:predict"
    results = []
    thread = threading.Thread(target=lambda: results.append(stalled_client(server["port"], data, 30)))
    thread.start()
    assert request(url, {"inputs": {"seed": [1]}})[0] == 200  # while the stalled client holds its connection
    thread.join()
    received, seconds = results[0]
    assert expected in received.split(b"\r\n")[0] if expected else received == b"", received
    assert TIMEOUT - 0.5 < seconds < 2 * TIMEOUT + 5, seconds  # a 408 lingers at most TIMEOUT for the rest


def process_status(pid):
    """(state, parent pid) of a process from /proc (Linux), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state, parent = handle.read().rsplit(")", 1)[1].split()[:2]
            return state, int(parent)
    except (OSError, ValueError):
        return None


def children_of(pid):
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and (process_status(entry) or (0, 0))[1] == pid]


def running(pid):
    status = process_status(pid)
    return status is not None and status[0] != "Z"  # a zombie has exited (its parent has not reaped it yet)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process parents from /proc")
def test_a_killed_server_leaves_no_codec_process_behind(server):
    process = start_server_process(server["models"], free_port())
    children = children_of(process.pid)
    assert children  # the codec worker (and multiprocessing's resource tracker)
    process.kill()
    process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(map(running, children)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [child for child in children if running(child)]


def test_sigterm_shuts_down_gracefully(server):
    process = server["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "serving tiny_conditional (versions 1), tiny_conditional_truncated (versions 1), tiny_unconditional (versions 1)" in process.stdout.read()
