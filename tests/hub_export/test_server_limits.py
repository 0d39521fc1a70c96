"""What bounds `gan-zoo serve` and the Python API's image methods, and what a bad input gets (issue 30):
SRGAN's pixel budget per request and per batch (refused 413 before its arrays are built, the server's
memory back near idle after a large allowed request), concurrent requests of mixed sizes batched by
shape and each answered, a corrupt version reported while the others serve, seeds, float32 overflow,
:classify/:regress and GET /v1/models answered 400 with a reason, `serve` options refused in one line,
and upscale/translate bounded and shape-checked. One server process for the module."""
import base64
import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import zoo
from hub_export import cli, saved_model, server
from hub_export.server import DEFAULT_MAX_PIXELS, start_server_process
from zoo.errors import UserError
from zoo.presets import pretrained
from zoo.train.launch import free_port

SR = "srgan_fashion_mnist_x4"
TINY = "tiny_unconditional"
SIDE = int((DEFAULT_MAX_PIXELS / 16) ** 0.5)  # 256: the largest square SRGAN ×4 input the default budget takes


def request(url, body=None, raw=None):
    """(status, JSON response) of a GET (no body) or POST."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def memory_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith(field + ":"))


@pytest.fixture(scope="module")
def upscaler():
    return zoo.load(SR)


@pytest.fixture(scope="module")
def served(generators, upscaler, tmp_path_factory):
    """The SRGAN preset (version 1, and a corrupt version 2) and a tiny sampling model, served with the
    default limits."""
    models = tmp_path_factory.mktemp("served")
    saved_model.export_serving(upscaler, str(models), version=1)
    saved_model.export_serving(generators["unconditional"], str(models), version=1)
    (models / SR / "2").mkdir()
    (models / SR / "2" / "saved_model.pb").write_bytes(b"\x08\x01\x12 not a SavedModel")
    port = free_port()
    process = start_server_process(models, port)
    yield {"base": f"http://127.0.0.1:{port}/v1/models", "process": process, "models": models, "port": port}
    if process.poll() is None:
        process.kill()


def images(side, rows=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (rows, side, side, 1)).astype(np.uint8)


def as_json_input(pixels):
    return (pixels / 127.5 - 1).round(4).tolist()


def test_mixed_sizes_at_once_are_each_answered_an_oversized_one_refused_and_memory_comes_back(served, upscaler):
    """Concurrent SRGAN requests of five sizes (merged only with their own size) plus two over the pixel
    budget: every one answered, the small ones with `g.upscale`'s images (±1), the oversized 413 before any
    model call; then the largest allowed image (256×256, 1 M output pixels): the server's RSS ends near
    where it started (oneDNN's allocator kept the peak, ~+520 MB, before the server used the system's)."""
    url, pid = f"{served['base']}/{SR}:predict", served["process"].pid
    assert request(url, {"instances": as_json_input(images(8))})[0] == 200  # warm
    idle = memory_mb(pid)
    sides = [8, 12, 16, 8, 20, 12, 24, 16, 8, 20]
    inputs = [images(side, seed=i) for i, side in enumerate(sides)]
    bodies = [{"inputs": {"images": as_json_input(x)}} for x in inputs]
    bodies += [{"inputs": {"images": np.zeros((1, SIDE + 1, SIDE + 1, 1)).tolist()}},  # just over
               {"inputs": {"images": np.zeros((1, 600, 600, 1), np.int8).tolist()}}]  # ~30 GB of activations before
    started = time.monotonic()
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: request(url, body), bodies))
    for x, (status, answer) in zip(inputs, answers):
        assert status == 200, answer
        expected = upscaler.upscale(x).astype(int)
        assert np.abs(np.array(answer["outputs"]["images"]) - expected).max() <= 1
    for side, (status, answer) in zip((SIDE + 1, 600), answers[len(inputs):]):
        assert status == 413 and f"at most {DEFAULT_MAX_PIXELS} (the server's --max-pixels" in answer["error"], answer
        assert f"{16 * side * side} output pixels" in answer["error"] and "one 256×256 image" in answer["error"]
    assert time.monotonic() - started < 60
    assert memory_mb(pid) - idle < 100

    status, answer = request(url, {"inputs": {"images": as_json_input(images(SIDE))}, "output_format": "png"})
    assert status == 200
    image = Image.open(io.BytesIO(base64.b64decode(answer["outputs"]["images"][0]["b64"])))
    assert image.size == (4 * SIDE, 4 * SIDE)
    assert memory_mb(pid, "VmHWM") - idle > 250  # it did need the memory...
    assert memory_mb(pid) - idle < 150  # ...and gave it back


def test_a_version_that_does_not_load_is_reported_and_the_others_served(served):
    status, answer = request(f"{served['base']}/{SR}")
    assert status == 200
    first, second = answer["model_version_status"]
    assert first == {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    assert second["version"] == "2" and second["state"] == "END" and second["status"]["error_code"] == "UNKNOWN"
    assert f"cannot load the SavedModel in {served['models'] / SR / '2'}" in second["status"]["error_message"]
    assert request(f"{served['base']}/{SR}/versions/2")[1] == {"model_version_status": [second]}
    assert request(f"{served['base']}/{SR}/metadata")[1]["model_spec"]["version"] == "1"  # latest that loaded
    line = served["process"].stdout.readline()
    assert line.startswith(f"serving {SR} (versions 1), {TINY} (versions 1); not loaded: {SR} version 2: "
                           f"cannot load the SavedModel in {served['models'] / SR / '2'}"), line


def test_seeds_mean_one_range_in_the_api_the_server_and_the_savedmodel(served, generators):
    import tensorflow as tf

    generator = generators["unconditional"]
    with pytest.raises(UserError, match=r"seeds must be integers in \[0, 2\*\*63\)"):
        generator.sample_seeds([-1])
    status, answer = request(f"{served['base']}/{TINY}:predict", {"inputs": {"seed": [-1]}})
    assert status == 400 and "seeds must be integers in [0, 2**63)" in answer["error"]
    sample = tf.saved_model.load(str(served["models"] / TINY / "1")).signatures["sample"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"seeds must be integers in \[0, 2\*\*63\)"):
        sample(seed=tf.constant([3, -1], tf.int64))
    top = np.iinfo(np.int64).max
    status, answer = request(f"{served['base']}/{TINY}:predict", {"inputs": {"seed": [0, top]}})
    assert status == 200
    np.testing.assert_allclose(answer["outputs"]["images"], generator.sample_seeds([0, top]), atol=1)


SEED_RANGE = "seeds must be integers in [0, 2**63)"
NOT_LOADED = "version 2 did not load (cannot load the SavedModel"


@pytest.mark.parametrize("method, path, body, raw, status, message", [
    # the pixel budget, from the shapes the JSON implies
    ("POST", f"{SR}:predict", {"instances": np.zeros((17, 64, 64, 1), np.int8).tolist()}, None, 413,
     "this request would produce 1114112 output pixels; a request may produce at most 1048576"),
    ("POST", f"{SR}:predict", {"inputs": {"images": np.zeros((1, 16, 2**12 + 1, 1), np.int8).tolist()}}, None, 413,
     "at most 65536 input pixels in all"),
    # image shapes and values
    ("POST", f"{SR}:predict", {"inputs": {"images": np.zeros((1, 8, 8, 3)).tolist()}}, None, 400,
     "has shape [1, 8, 8, 3]; expected float32 of shape ['batch', 'any', 'any', 1]"),
    ("POST", f"{SR}:predict", {"inputs": {"images": np.zeros((8, 8, 1)).tolist()}}, None, 400, "has shape [8, 8, 1]"),
    ("POST", f"{SR}:predict", {"inputs": {"images": [[[]]]}}, None, 400, "has shape [1, 1, 0]"),
    ("POST", f"{SR}:predict", {"inputs": {"images": [[[[0.0]]], [[[0.0], [0.0]]]]}}, None, 400, "is ragged"),
    ("POST", f"{SR}:predict", None, b'{"inputs": {"images": [[[[1e39]]]]}}', 400, "beyond float32's range"),
    ("POST", f"{SR}:predict", {"signature_name": "translate_b2a", "inputs": {"images": [[[[0.0]]]]}}, None, 400,
     "unknown signature_name 'translate_b2a'"),
    # float32 overflow, seeds
    ("POST", f"{TINY}:predict", None, b'{"inputs": {"z": [[1e39, 0, 0, 0, 0, 0, 0, 0]]}}', 400,
     "holds NaN or infinite values, or values beyond float32's range"),
    ("POST", f"{TINY}:predict", None, b'{"instances": [[0, 0, 0, 0, 0, 0, 0, -3.5e38]]}', 400, "beyond float32's range"),
    ("POST", f"{SR}:predict", {"inputs": {"images": [[[[3e38], [3e38]], [[3e38], [3e38]]]]}}, None, 400,
     "the model's outputs for these inputs hold NaN or infinite values"),  # finite float32 in, overflow inside
    ("POST", f"{TINY}:predict", {"inputs": {"seed": [-1]}}, None, 400, SEED_RANGE),
    ("POST", f"{TINY}:predict", {"inputs": {"seed": -3, "num": 2}}, None, 400, SEED_RANGE),
    ("POST", f"{TINY}:predict", {"instances": [{"seed": 1}, {"seed": -(2**63)}]}, None, 400, SEED_RANGE),
    # what TF Serving answers 400 to
    ("POST", f"{TINY}:classify", {"examples": []}, None, 400, "this server implements :predict only"),
    ("POST", f"{SR}/versions/1:regress", {"examples": []}, None, 400, "received :regress"),
    ("POST", "nothing_here:classify", {"examples": []}, None, 404, "Servable not found"),
    ("GET", "", None, None, 400, f"GET /v1/models needs a model name: /v1/models/<name>"),
    ("GET", "/", None, None, 400, f"served: {SR}, {TINY}"),
    # versions
    ("POST", f"{SR}/versions/2:predict", {"inputs": {"images": [[[[0.0]]]]}}, None, 404, NOT_LOADED),
    ("GET", f"{SR}/versions/2/metadata", None, None, 404, NOT_LOADED),
    ("GET", f"{SR}/versions/7", None, None, 404, "version 7 is not served; versions: 1 (AVAILABLE), 2 (END)"),
    ("POST", f"{SR}/versions/1", {}, None, 405, "Method Not Allowed"),
])
def test_bad_requests_get_status_and_one_line(served, method, path, body, raw, status, message):
    url = served["base"] + ("/" + path if path and not path.startswith("/") else path)
    if method == "GET":
        answer_status, answer = request(url)
    else:
        answer_status, answer = request(url, body if body is not None else {}, raw)
    assert answer_status == status and message in answer["error"] and "\n" not in answer["error"], answer


@pytest.mark.parametrize("options, message", [
    (["--port", "70000"], "--port must be an integer from 1 to 65535; received 70000"),
    (["--port", "0"], "--port must be an integer from 1 to 65535; received 0"),
    (["--port", "-80"], "--port must be an integer from 1 to 65535; received -80"),
    (["--max-pixels", "0"], "--max-pixels must be a positive integer; received 0"),
    (["--max-batch", "-1"], "--max-batch must be a positive integer; received -1"),
    (["--max-request-bytes", "0"], "--max-request-bytes must be a positive integer; received 0"),
    (["--timeout", "0"], "--timeout must be a positive number of seconds; received 0.0"),
    (["--timeout", "nan"], "--timeout must be a positive number of seconds; received nan"),
    (["--timeout", "inf"], "--timeout must be a positive number of seconds; received inf"),
    ([], "no exported models in {dir}: expected <name>/<version>/saved_model.pb"),
])
def test_serve_options_are_refused_in_one_line_before_loading(options, message, tmp_path, capsys):
    """Checked before the models load: the directory here holds none."""
    assert cli.main(["serve", str(tmp_path), *options]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"gan-zoo: error: {message.format(dir=tmp_path)}") and "\n" not in error, error


def test_an_address_in_use_is_one_line_and_exit_2(served):
    process = subprocess.run([sys.executable, "-m", "hub_export.cli", "serve", str(served["models"]), "--port",
                              str(served["port"])], capture_output=True, text=True, timeout=300)
    assert process.returncode == 2, process.stderr[-2000:]
    lines = [line for line in process.stderr.splitlines() if line.startswith("gan-zoo")]
    assert lines == [f"gan-zoo: error: cannot listen on 127.0.0.1:{served['port']} (address already in use); "
                     "choose another --port or --host"], process.stderr[-2000:]
    assert "Traceback" not in process.stderr and "serving" not in process.stdout


# --- the Python API ------------------------------------------------------------------------
@pytest.mark.parametrize("model_kind, call, message", [
    ("super_resolution", lambda g: g.upscale(np.zeros((2, 7, 9, 3), np.uint8)),
     "tiny_super_resolution's upscale takes height × width × 1 images, one or a batch of them; received shape "
     "(2, 7, 9, 3)"),
    ("super_resolution", lambda g: g.upscale(np.zeros((7, 9), np.uint8)), "received shape (7, 9)"),
    ("super_resolution", lambda g: g.upscale(np.zeros((1, 1, 7, 9, 1), np.uint8)), "received shape (1, 1, 7, 9, 1)"),
    ("super_resolution", lambda g: g.upscale(np.zeros((1, 0, 9, 1), np.uint8)), "received shape (1, 0, 9, 1)"),
    ("super_resolution", lambda g: g.upscale(np.zeros((363, 363, 1), np.uint8)),
     "upscale: one 363×363 image would make 2108304 output pixels; at most 2097152 per image (~1 GB of "
     "activations): split it into overlapping tiles of at most 362×362 and upscale each"),
    ("translation", lambda g: g.translate(np.zeros((2, 28, 28, 1), np.uint8)),
     "tiny_translation's translate takes 8 × 8 × 1 images, one or a batch of them; received shape (2, 28, 28, 1)"),
    ("translation", lambda g: g.translate(np.zeros((8, 8, 3), np.uint8), "b2a"), "received shape (8, 8, 3)"),
    ("translation", lambda g: g.translate(np.zeros((8, 8), np.uint8)), "received shape (8, 8)"),
])
def test_upscale_and_translate_refuse_in_one_line_before_converting(generators, model_kind, call, message):
    with pytest.raises(UserError) as error:
        call(generators[model_kind])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_upscale_and_translate_run_in_chunks_of_the_pixel_budget(generators, monkeypatch):
    """With a budget of 3 images' output pixels, 7 images run in 3 calls and give the one-call result."""
    upscaler, translator = generators["super_resolution"], generators["translation"]
    low = images(6, rows=7)
    whole_up, whole_across = upscaler.upscale(low), translator.translate(images(8, rows=7))
    calls, generating, translate = [], pretrained.sampling.generating, translator.recipe.translate

    def counted(function):
        return lambda x, *rest: calls.append(len(x)) or function(x, *rest)

    monkeypatch.setattr(pretrained.sampling, "generating", lambda recipe: counted(generating(recipe)))
    monkeypatch.setattr(translator.recipe, "translate", counted(translate))
    monkeypatch.setattr(pretrained, "MAX_OUTPUT_PIXELS", 3 * 24 * 24)
    np.testing.assert_array_equal(upscaler.upscale(low), whole_up)
    monkeypatch.setattr(pretrained, "MAX_OUTPUT_PIXELS", 3 * 8 * 8)
    np.testing.assert_array_equal(translator.translate(images(8, rows=7)), whole_across)
    assert calls == [3, 3, 1, 3, 3, 1]


# --- the batcher, in-process ---------------------------------------------------------------
class FakeModel:
    """A model whose output row i is its input row i doubled, recording each call's input shape."""

    def __init__(self, fail_merged=False):
        self.calls, self.fail_merged = [], fail_merged
        self.interface = server.Interface("fake", {}, None, {"serving_default": server.PixelRule(None, "images", 4.0)})

    def run(self, signature, inputs):
        images = inputs["images"]
        self.calls.append(images.shape)
        if self.fail_merged and len(images) > 1:
            raise ValueError("merged calls fail")
        return {"images": images * 2}


def batch_of(model, arrays, max_batch=8, max_pixels=400):
    """Each request's outputs (or exception) after submitting `arrays` at once to one Batcher."""
    import asyncio

    async def main():
        batcher = server.Batcher(model, "serving_default", max_batch, max_pixels)
        try:
            return await asyncio.gather(*(batcher.submit({"images": a}) for a in arrays), return_exceptions=True)
        finally:
            batcher.worker.cancel()

    return asyncio.run(main())


def test_the_batcher_merges_only_equal_shapes_within_rows_and_pixels_and_answers_everyone():
    model = FakeModel()
    arrays = [np.full((1, 5, 5, 1), i, np.float32) for i in range(3)] + [np.full((2, 3, 3, 1), 9, np.float32)]
    arrays.append(np.full((1, 5, 5, 1), 7, np.float32))
    results = batch_of(model, arrays)
    for array, result in zip(arrays, results):
        np.testing.assert_array_equal(result["images"], array * 2)
    # 5×5 rows make 100 output pixels each: 4 fit 400; 3×3 ones only with each other
    assert model.calls == [(4, 5, 5, 1), (2, 3, 3, 1)]
    model = FakeModel()
    batch_of(model, [np.zeros((1, 5, 5, 1), np.float32)] * 5)
    assert model.calls == [(4, 5, 5, 1), (1, 5, 5, 1)]


def test_a_failing_merged_call_answers_every_request_of_the_batch():
    model = FakeModel(fail_merged=True)
    arrays = [np.full((1, 4, 4, 1), i, np.float32) for i in range(3)]
    results = batch_of(model, arrays)
    for array, result in zip(arrays, results):
        np.testing.assert_array_equal(result["images"], array * 2)
    assert model.calls == [(3, 4, 4, 1), (1, 4, 4, 1), (1, 4, 4, 1), (1, 4, 4, 1)]
