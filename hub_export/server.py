"""A local server with TF Serving's REST contract for exported generators (`gan-zoo serve DIR`).

    GET  /v1/models/<name>[/versions/<v>]             version status
    GET  /v1/models/<name>[/versions/<v>]/metadata    signature definitions
    POST /v1/models/<name>[/versions/<v>]:predict     {"signature_name"?, "instances": [...]}  → {"predictions": [...]}
                                                      {"signature_name"?, "inputs": {...}}     → {"outputs": {...}}

Models are TF Serving directories `DIR/<name>/<version>/saved_model.pb` (or DIR itself is one
`<name>/` with version subdirectories); the latest version answers when none is named.
Extensions of the contract, for generators:
- without "signature_name", a request whose inputs hold `seed` goes to the `sample` signature;
- `"inputs": {"seed": s, "num": n}` means seeds s, s+1, ..., s+n-1;
- `"output_format": "png"` returns `images` as base64 PNGs ({"b64": ...}, TF Serving's binary
  convention) instead of pixel arrays, and drops `images_float`.
Concurrent requests to the same signature are batched together up to `max_batch` rows; a single
request larger than `max_batch` rows is refused (400) before anything is allocated for it, a body
larger than `max_request_bytes` too (413), and a client that has not sent its whole request within
`timeout` seconds is answered 408 (body) or dropped (headers). The event loop only routes: JSON
decoding and encoding of anything but small bodies and responses run in a codec process (a CPU-bound
`json.loads` holds the GIL, so a thread would block the loop as much), the model in a thread.
Errors are JSON `{"error": "..."}`; built on aiohttp, which also shuts down gracefully (in-flight
requests finish) on SIGINT/SIGTERM.
"""
import asyncio
import base64
import collections
import gc
import io
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from aiohttp import web

from zoo.errors import first_line
from zoo.files import read_json

DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_REQUEST_BYTES = 8 * 2**20
DEFAULT_TIMEOUT_SECONDS = 30.0  # to send a whole request (headers and body)
BATCH_WINDOW_SECONDS = 0.002  # how long a batch waits for more concurrent requests
INLINE_REQUEST_BYTES = 16 * 2**10  # bodies up to this size are decoded on the event loop (well under 1 ms)
INLINE_RESPONSE_VALUES = 4096  # responses of up to this many numbers are encoded on the event loop (~1 ms)

InputSpec = collections.namedtuple("InputSpec", "dtype shape")  # numpy dtype; tuple, None = any size
Interface = collections.namedtuple("Interface", "name signatures num_classes")  # signatures: {name: {input: InputSpec}}


class RequestError(Exception):
    """A client error: `status` (400, 404, 413) and a message for {"error": ...}."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status

    def __reduce__(self):  # keeps the status when raised in the codec process
        return RequestError, (str(self), self.status)


# --- models --------------------------------------------------------------------------------
class ServedModel:
    """One loaded version: its signatures and a batcher per signature."""

    def __init__(self, name, version, path):
        from zoo.sampling import load_saved_model# here: the codec worker imports this module without TF

        self.name, self.version, self.path = name, version, path
        self.loaded = load_saved_model(path)
        self.signatures = dict(self.loaded.signatures)
        card_path = os.path.join(path, "assets.extra", "card.json")
        self.card = read_json(card_path) if os.path.isfile(card_path) else {}
        self.interface = Interface(name, {
            signature: {key: InputSpec(spec.dtype.as_numpy_dtype, tuple(spec.shape.as_list()))
                        for key, spec in function.structured_input_signature[1].items()}
            for signature, function in self.signatures.items()}, self.card.get("num_classes"))

    def run(self, signature, inputs):
        """Call a signature on numpy inputs (in a worker thread); numpy outputs."""
        import tensorflow as tf

        try:
            result = self.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()})
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            raise RequestError(f"the model rejected the inputs: {first_line(error)}") from error
        return {key: value.numpy() for key, value in result.items()}


def find_models(base_dir):
    """{name: {version: path}} of TF Serving model directories under `base_dir`."""
    def versions_in(model_dir):
        return {int(entry): os.path.join(model_dir, entry) for entry in os.listdir(model_dir)
                if entry.isdigit() and os.path.isfile(os.path.join(model_dir, entry, "saved_model.pb"))}

    if not os.path.isdir(base_dir):
        raise FileNotFoundError(f"{base_dir} is not a directory of exported models")
    own = versions_in(base_dir)
    if own:  # DIR is one model's directory
        return {os.path.basename(os.path.normpath(base_dir)): own}
    models = {name: versions_in(os.path.join(base_dir, name)) for name in sorted(os.listdir(base_dir))
              if os.path.isdir(os.path.join(base_dir, name))}
    return {name: versions for name, versions in models.items() if versions}


class Repository:
    """The served models, loaded once at start."""

    def __init__(self, base_dir):
        found = find_models(base_dir)
        if not found:
            raise FileNotFoundError(f"no exported models in {base_dir}: expected <name>/<version>/saved_model.pb "
                                    "(gan-zoo export NAME --format saved_model --out DIR)")
        self.models = {name: {version: ServedModel(name, version, path) for version, path in versions.items()}
                       for name, versions in found.items()}

    def get(self, name, version=None):
        if name not in self.models:
            raise RequestError(f"Servable not found for request: model {name!r}; served models: "
                               f"{', '.join(sorted(self.models))}", 404)
        versions = self.models[name]
        if version is None:
            return versions[max(versions)]
        if int(version) not in versions:
            raise RequestError(f"Servable not found for request: {name!r} version {version}; versions: "
                               f"{', '.join(map(str, sorted(versions)))}", 404)
        return versions[int(version)]


# --- request decoding (pure JSON and numpy: runs on the loop or in the codec process) -----
def parse_json(raw):
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(f"the request body is not valid JSON: {error}") from error
    except RecursionError as error:
        raise RequestError("the request body is nested too deeply (JSON arrays of at most a few hundred "
                           "levels are accepted)") from error


def choose_signature(interface, body):
    name = body.get("signature_name")
    if name is None:
        inputs, instances = body.get("inputs"), body.get("instances")
        keys = set(inputs) if isinstance(inputs, dict) else set()
        if isinstance(instances, list):
            keys |= {key for row in instances if isinstance(row, dict) for key in row}
        name = "sample" if "seed" in keys and "sample" in interface.signatures else "serving_default"
    if not isinstance(name, str) or name not in interface.signatures:
        raise RequestError(f"unknown signature_name {name!r}; {interface.name} has: "
                           f"{', '.join(sorted(interface.signatures))}")
    return name


def columns_of(body, specs):
    """The request's inputs as {name: nested list}, from "inputs" (columnar) or "instances" (rows)."""
    if ("inputs" in body) == ("instances" in body):
        raise RequestError('the request needs exactly one of "instances" (row format) or "inputs" (columnar format)')
    if "inputs" in body:
        inputs = body["inputs"]
        if not isinstance(inputs, dict):
            if len(specs) != 1:
                raise RequestError(f'"inputs" must be an object with keys {sorted(specs)}')
            inputs = {next(iter(specs)): inputs}
        return dict(inputs)
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError(f'"instances" must be a non-empty list of rows; received {type(instances).__name__}')
    if all(isinstance(row, dict) for row in instances):
        keys = set(instances[0])
        if any(set(row) != keys for row in instances):
            raise RequestError("every instance must have the same keys")
        return {key: [row[key] for row in instances] for key in keys}
    if len(specs) != 1:
        raise RequestError(f"instances must be objects with keys {sorted(specs)}")
    return {next(iter(specs)): instances}


def expand_seed_range(columns, max_batch):
    """{"seed": s, "num": n} → {"seed": [s, ..., s+n-1]} (the other inputs repeated n times if scalar);
    n is checked against `max_batch` before anything of size n is built."""
    if "num" not in columns:
        return columns
    num, seed = columns.pop("num"), columns.get("seed")
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= max_batch:
        raise RequestError(f'"num" must be an integer from 1 to {max_batch} (the server\'s --max-batch); '
                           f"received {num!r}")
    if isinstance(seed, list):
        if len(seed) != num:
            raise RequestError(f'"num" is {num} but "seed" lists {len(seed)} seeds')
        return columns
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RequestError(f'"num" needs an integer "seed" to start from; received {seed!r}')
    expanded = {key: [value] * num if not isinstance(value, list) else value for key, value in columns.items()}
    expanded["seed"] = list(range(seed, seed + num))
    return expanded


def as_array(name, value, spec):
    """A JSON value as a numpy array of the spec's dtype and a compatible shape, or a clear 400."""
    shape = ["batch" if d is None else d for d in spec.shape]
    integer = np.issubdtype(spec.dtype, np.integer)
    expected = f"{np.dtype(spec.dtype).name} of shape {shape}"
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged lists
        raise RequestError(f"input {name!r} is ragged; expected {expected}") from error
    if array.dtype.kind not in ("iu" if integer else "iuf") or array.dtype == bool:
        kind = "integers" if integer else "numbers"
        raise RequestError(f"input {name!r} must hold {kind}; received {array.dtype.name} values; expected {expected}")
    if array.ndim != len(spec.shape) or any(d is not None and d != n for d, n in zip(spec.shape, array.shape)):
        raise RequestError(f"input {name!r} has shape {list(array.shape)}; expected {expected}")
    if not integer and not np.isfinite(array).all():
        raise RequestError(f"input {name!r} holds NaN or infinite values; expected finite numbers")
    if integer and array.size and (array.min() < np.iinfo(spec.dtype).min or array.max() > np.iinfo(spec.dtype).max):
        raise RequestError(f"input {name!r} holds integers outside {np.dtype(spec.dtype).name}'s range")
    return array.astype(spec.dtype)


def check_labels(labels, num_classes):
    """Class ids out of range are refused here: an embedding lookup on GPU would not fail but read zeros."""
    if labels is not None and num_classes and (labels.min() < 0 or labels.max() >= num_classes):
        raise RequestError(f"labels must be class ids in [0, {num_classes}); received {sorted(set(labels.tolist()))}")


def decode_request(interface, raw, max_batch):
    """(signature, {name: numpy array}, row format?, output format) of a predict request body (bytes)."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    output_format = body.get("output_format", "json")
    if output_format not in ("json", "png"):
        raise RequestError(f'"output_format" must be "json" or "png"; received {output_format!r}')
    signature = choose_signature(interface, body)
    specs = interface.signatures[signature]
    columns = expand_seed_range(columns_of(body, specs), max_batch)
    if set(columns) != set(specs):
        raise RequestError(f"signature {signature!r} takes inputs {sorted(specs)}; received {sorted(columns)}")
    arrays = {name: as_array(name, columns[name], spec) for name, spec in specs.items()}
    check_labels(arrays.get("labels"), interface.num_classes)
    sizes = {len(array) for array in arrays.values()}
    if len(sizes) != 1:
        raise RequestError(f"all inputs need the same batch size; received {({k: len(v) for k, v in arrays.items()})}")
    size = sizes.pop()
    if not 1 <= size <= max_batch:
        raise RequestError(f"a request holds 1 to {max_batch} rows (the server's --max-batch); received {size}")
    return signature, arrays, "instances" in body, output_format


# --- responses -----------------------------------------------------------------------------
def png_b64(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return {"b64": base64.b64encode(buffer.getvalue()).decode("ascii")}


def encode_outputs(outputs, row_format, output_format):
    """The JSON response body (bytes) of a signature's numpy outputs."""
    if output_format == "png":
        outputs = {"images": [png_b64(image) for image in outputs["images"]]}
    else:
        outputs = {key: value.tolist() for key, value in outputs.items()}
    if not row_format:
        return json.dumps({"outputs": outputs}).encode()
    count = len(next(iter(outputs.values())))
    return json.dumps({"predictions": [{key: value[i] for key, value in outputs.items()} for i in range(count)]}).encode()


def exit_with_parent(parent_pid, interval=1.0):
    """In the codec worker: end it when the server process is gone (even killed with SIGKILL)."""
    import threading
    import time

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class Codec:
    """Runs JSON decoding/encoding inline when small, else in one spawned worker process (replaced if
    it dies), so no request holds the event loop for long."""

    def __init__(self):
        self.pool = None

    def start(self):
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=exit_with_parent, initargs=(os.getpid(),))
        return self.pool.submit(os.getpid)  # starts the worker now, not on the first large request

    async def __call__(self, offload, function, *args):
        if not offload:
            return function(*args)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)
        except BrokenProcessPool as error:  # the worker died (e.g. killed): the next request gets a new one
            self.pool.shutdown(wait=False)
            self.start()
            raise RequestError("the server's codec process stopped while handling this request; retry", 503) from error

    def stop(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def dtype_enum(dtype):
    return "DT_" + dtype.name.upper().replace("FLOAT32", "FLOAT").replace("FLOAT64", "DOUBLE")


def tensor_info(spec):
    dims = [{"size": str(-1 if d is None else d), "name": ""} for d in spec.shape.as_list()]
    return {"dtype": dtype_enum(spec.dtype), "tensor_shape": {"dim": dims, "unknown_rank": False}}


def metadata(model):
    signature_def = {name: {"inputs": {k: {**tensor_info(v), "name": k} for k, v in
                                       fn.structured_input_signature[1].items()},
                            "outputs": {k: {**tensor_info(v), "name": k} for k, v in fn.structured_outputs.items()},
                            "method_name": "tensorflow/serving/predict"}
                     for name, fn in sorted(model.signatures.items())}
    return {"model_spec": {"name": model.name, "signature_name": "", "version": str(model.version)},
            "metadata": {"signature_def": {"signature_def": signature_def}}}


def version_status(models):
    return {"model_version_status": [{"version": str(m.version), "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}} for m in models]}


# --- batching ------------------------------------------------------------------------------
def rows_of(item):
    """Rows (batch size) of a queued (arrays, future) request."""
    return len(next(iter(item[0].values())))


class Batcher:
    """Merge concurrent requests to one signature into one call of at most `max_batch` rows."""

    def __init__(self, model, signature, max_batch):
        self.model, self.signature, self.max_batch = model, signature, max_batch
        self.queue = asyncio.Queue()
        self.held_back = None  # a request that did not fit the last batch: it opens the next one
        self.worker = asyncio.get_running_loop().create_task(self.work())

    async def submit(self, arrays):
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((arrays, future))
        return await future

    async def next_batch(self):
        first, self.held_back = self.held_back or await self.queue.get(), None
        batch, rows = [first], rows_of(first)
        await asyncio.sleep(BATCH_WINDOW_SECONDS)
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if rows + rows_of(item) > self.max_batch:
                self.held_back = item
                break
            batch.append(item)
            rows += rows_of(item)
        return batch

    async def run(self, batch):
        """Outputs of each request of `batch`: one merged call; if it fails, each request alone
        (so one bad request does not fail the others)."""
        loop = asyncio.get_running_loop()
        merged = {key: np.concatenate([arrays[key] for arrays, _ in batch]) for key in batch[0][0]}
        try:
            outputs = await loop.run_in_executor(None, self.model.run, self.signature, merged)
        except Exception:  # noqa: BLE001
            if len(batch) == 1:
                raise
            results = []
            for item in batch:
                try:
                    results += await self.run([item])
                except Exception as error:  # noqa: BLE001
                    results.append(error)
            return results
        sizes = np.cumsum([0] + [rows_of(item) for item in batch])
        return [{key: value[a:b] for key, value in outputs.items()} for a, b in zip(sizes[:-1], sizes[1:])]

    async def work(self):
        while True:
            batch = await self.next_batch()
            try:
                results = await self.run(batch)
            except Exception as error:  # noqa: BLE001  reported to the waiting request
                results = [error]
            for (_, future), result in zip(batch, results):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)


# --- the aiohttp application ---------------------------------------------------------------
REPOSITORY = web.AppKey("repository", Repository)
MODEL = r"/v1/models/{name:[^/:]+}"
VERSION = r"/versions/{version:\d+}"


def make_app(base_dir, max_batch=DEFAULT_MAX_BATCH, max_request_bytes=DEFAULT_MAX_REQUEST_BYTES,
             timeout=DEFAULT_TIMEOUT_SECONDS):
    """The aiohttp application serving the exported models under `base_dir` (its Repository: app[REPOSITORY])."""
    repository = Repository(base_dir)
    codec = Codec()

    @web.middleware
    async def json_errors(request, handler):
        try:
            return await handler(request)
        except RequestError as error:
            return web.json_response({"error": str(error)}, status=error.status)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": f"request body larger than {max_request_bytes} bytes "
                                      "(the server's --max-request-bytes)"}, status=413)
        except web.HTTPException as error:
            return web.json_response({"error": error.reason}, status=error.status)
        except Exception as error:  # noqa: BLE001  the server keeps serving; the client learns why
            return web.json_response({"error": f"internal error: {type(error).__name__}: {error}"}, status=500)

    def model_of(request):
        return repository.get(request.match_info["name"], request.match_info.get("version"))

    async def status(request):
        if "version" in request.match_info:
            return web.json_response(version_status([model_of(request)]))
        name = request.match_info["name"]
        repository.get(name)
        return web.json_response(version_status(sorted(repository.models[name].values(), key=lambda m: m.version)))

    async def model_metadata(request):
        return web.json_response(metadata(model_of(request)))

    async def read_body(request):
        try:
            return await asyncio.wait_for(request.read(), timeout)
        except asyncio.TimeoutError as error:
            raise RequestError(f"the request body did not arrive within {timeout:g} s (the server's --timeout)",
                               408) from error

    async def predict(request):
        model = model_of(request)
        raw = await read_body(request)
        signature, arrays, row_format, output_format = await codec(
            len(raw) > INLINE_REQUEST_BYTES, decode_request, model.interface, raw, max_batch)
        key = (model.name, model.version, signature)
        if key not in batchers:
            batchers[key] = Batcher(model, signature, max_batch)
        outputs = await batchers[key].submit(arrays)
        values = sum(value.size for value in outputs.values())
        body = await codec(values > INLINE_RESPONSE_VALUES, encode_outputs, outputs, row_format, output_format)
        return web.Response(body=body, content_type="application/json")

    async def start_codec(app):
        await asyncio.wrap_future(codec.start())

    async def stop_codec(app):
        codec.stop()

    batchers = {}
    app = web.Application(client_max_size=max_request_bytes, middlewares=[json_errors])
    app.on_startup.append(start_codec)
    app.on_cleanup.append(stop_codec)
    for prefix in (MODEL, MODEL + VERSION):
        app.router.add_get(prefix, status)
        app.router.add_get(prefix + "/metadata", model_metadata)
        app.router.add_post(prefix + ":predict", predict)
    app[REPOSITORY] = repository
    return app


def serve(base_dir, host="127.0.0.1", port=8501, max_batch=DEFAULT_MAX_BATCH,
          max_request_bytes=DEFAULT_MAX_REQUEST_BYTES, timeout=DEFAULT_TIMEOUT_SECONDS, print_fn=print):
    """Run the server until SIGINT/SIGTERM; in-flight requests finish before it exits. A connection
    idle for `timeout` s, or still sending its headers, is closed (aiohttp's keep-alive timer); one
    still sending its body gets a 408 then."""
    app = make_app(base_dir, max_batch, max_request_bytes, timeout)
    gc.collect()
    gc.freeze()  # the loaded models' many objects leave the collector's view: a full collection walking
    # them stalled every request in flight for ~0.4 s (benchmarks/serve_latency.py, the 8-client p99)
    models = ", ".join(f"{name} (versions {', '.join(map(str, sorted(v)))})"
                       for name, v in app[REPOSITORY].models.items())
    print_fn(f"serving {models} on http://{host}:{port}/v1/models/<name>")
    web.run_app(app, host=host, port=port, print=None, shutdown_timeout=30, keepalive_timeout=timeout,
                lingering_time=min(timeout, 10.0))  # after a 408/413, how long the unread rest of a body may take
    return 0


# --- a server in a child process (tests, benchmarks) ----------------------------------------
def start_server_process(models_dir, port, *options, timeout=300):
    """`gan-zoo serve models_dir --port port *options` as a child process, returned once it answers
    (raises RuntimeError with its stderr if it exits or does not answer within `timeout` s)."""
    name = next(iter(find_models(models_dir)))
    return start_answering_process(["serve", str(models_dir), "--port", str(port), *map(str, options)],
                                   f"http://127.0.0.1:{port}/v1/models/{name}", timeout)


def start_answering_process(arguments, probe_url, timeout=300):
    """`gan-zoo *arguments` as a child process, returned once `probe_url` answers (RuntimeError with its
    stderr if it exits first or does not answer within `timeout` s)."""
    import subprocess
    import sys
    import time
    import urllib.request

    process = subprocess.Popen([sys.executable, "-m", "hub_export.cli", *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gan-zoo {arguments[0]} exited ({process.returncode}): "
                               f"{process.communicate()[1][-3000:]}")
        try:
            with urllib.request.urlopen(probe_url, timeout=5):
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"gan-zoo {arguments[0]} did not answer within {timeout} s")
