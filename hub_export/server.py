"""A local server with TF Serving's REST contract for exported generators (`gan-zoo serve DIR`).

    GET  /v1/models/<name>[/versions/<v>]             version status
    GET  /v1/models/<name>[/versions/<v>]/metadata    signature definitions
    POST /v1/models/<name>[/versions/<v>]:predict     {"signature_name"?, "instances": [...]}  → {"predictions": [...]}
                                                      {"signature_name"?, "inputs": {...}}     → {"outputs": {...}}
    POST ...:classify, ...:regress; GET /v1/models    400 with the reason, as TF Serving (generators have neither)

Models are TF Serving directories `DIR/<name>/<version>/saved_model.pb` (or DIR itself is one
`<name>/` with version subdirectories); the latest version answers when none is named.
Extensions of the contract, for generators:
- without "signature_name", a request whose inputs hold `seed` goes to the `sample` signature;
- `"inputs": {"seed": s, "num": n}` means seeds s, s+1, ..., s+n-1;
- `"output_format": "png"` returns `images` as base64 PNGs ({"b64": ...}, TF Serving's binary
  convention) instead of pixel arrays, and drops `images_float`.
Concurrent requests to the same signature whose inputs agree in shape (but for rows) are batched
together up to `max_batch` rows and `max_pixels` output pixels; a single request over either is refused
(400, 413) before its arrays are built (its shape is read off the JSON), a body larger than
`max_request_bytes` too (413), and a client that has not sent its whole request within `timeout`
seconds is answered 408 (body) or dropped (headers). Output pixels bound memory: SRGAN's activations at
output resolution dominate it (~500 bytes per output pixel), and after a large batch the freed memory
goes back to the system (oneDNN's system allocator and malloc_trim). Versions that do not load are
reported (status "END" with the error) and the others served, as TF Serving does. The event loop only routes: JSON
decoding and encoding of anything but small bodies and responses run in a codec process (a CPU-bound
`json.loads` holds the GIL, so a thread would block the loop as much), the model in a thread.
Errors are JSON `{"error": "..."}`; built on aiohttp, which also shuts down gracefully (in-flight
requests finish) on SIGINT/SIGTERM.
"""
import asyncio
import base64
import collections
import ctypes
import gc
import io
import json
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from aiohttp import web

from zoo.errors import UserError, first_line
from zoo.files import read_json

DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_REQUEST_BYTES = 8 * 2**20
DEFAULT_MAX_PIXELS = 2**20  # output pixels per model call: SRGAN ×4 peaks ~0.5 GB above idle (README)
TRIM_AFTER_PIXELS = 2**16  # after a batch of this many output pixels, freed heap goes back to the system
PROBE_SIDE = 8  # height and width of the input that measures an any-size signature's output scale
DEFAULT_TIMEOUT_SECONDS = 30.0  # to send a whole request (headers and body)
BATCH_WINDOW_SECONDS = 0.002  # how long a batch waits for more concurrent requests
INLINE_REQUEST_BYTES = 16 * 2**10  # bodies up to this size are decoded on the event loop (well under 1 ms)
INLINE_RESPONSE_VALUES = 4096  # responses of up to this many numbers are encoded on the event loop (~1 ms)

InputSpec = collections.namedtuple("InputSpec", "dtype shape")  # numpy dtype; tuple, None = any size
Interface = collections.namedtuple("Interface", "name signatures num_classes pixels")
# signatures: {name: {input: InputSpec}}; pixels: {name: PixelRule} of signatures that output images
PixelRule = collections.namedtuple("PixelRule", "per_row input ratio")
# output pixels of one row: `per_row` when the output size is fixed, else `ratio` × the input `input`'s height × width


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
        specs = {signature: {key: InputSpec(spec.dtype.as_numpy_dtype, tuple(spec.shape.as_list()))
                             for key, spec in function.structured_input_signature[1].items()}
                 for signature, function in self.signatures.items()}
        rules = {signature: pixel_rule(function, specs[signature]) for signature, function in self.signatures.items()}
        self.interface = Interface(name, specs, self.card.get("num_classes"),
                                   {signature: rule for signature, rule in rules.items() if rule is not None})

    def run(self, signature, inputs):
        """Call a signature on numpy inputs (in a worker thread); numpy outputs."""
        import tensorflow as tf

        try:
            result = self.signatures[signature](**{key: tf.constant(value) for key, value in inputs.items()})
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            raise RequestError(f"the model rejected the inputs: {first_line(error)}") from error
        return {key: value.numpy() for key, value in result.items()}


def pixel_rule(function, specs):
    """The PixelRule of a signature whose first output is images (None otherwise): their fixed size, or
    for any-size inputs the output/input area ratio, measured on one PROBE_SIDE² input."""
    import tensorflow as tf

    images = next(iter(function.structured_outputs.values()))
    if images.shape.rank != 4:
        return None
    height, width = images.shape.as_list()[1:3]
    if height is not None and width is not None:
        return PixelRule(height * width, None, None)
    name = next(key for key, spec in specs.items() if len(spec.shape) == 4)
    probe = function(**{key: tf.zeros([1] + [PROBE_SIDE if d is None else d for d in spec.shape[1:]], spec.dtype)
                        for key, spec in specs.items()})
    height, width = next(iter(probe.values())).shape[1:3]
    return PixelRule(None, name, height * width / PROBE_SIDE**2)


def output_pixels(rule, shapes):
    """Output pixels of inputs of `shapes` ({name: shape}) under `rule`; None when the shapes do not say
    (a malformed input, refused when its array is built)."""
    if rule.per_row is not None:
        rows = next((shape[0] for shape in shapes.values() if shape), None)
        return None if rows is None else rows * rule.per_row
    shape = shapes.get(rule.input, ())
    return round(shape[0] * shape[1] * shape[2] * rule.ratio) if len(shape) >= 3 else None


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


def load_version(name, version, path):
    """A ServedModel, or the one-line reason it does not load (a str)."""
    try:
        return ServedModel(name, version, path)
    except Exception as error:  # noqa: BLE001  corrupt files, a foreign SavedModel...: reported, others served
        return first_line(error)


class Repository:
    """The served models, loaded once at start, each version on its own: `models` {name: {version:
    ServedModel}} holds those that loaded, `failed` {name: {version: reason}} the others; at least one
    version must load."""

    def __init__(self, base_dir):
        found = find_models(base_dir)
        if not found:
            raise FileNotFoundError(f"no exported models in {base_dir}: expected <name>/<version>/saved_model.pb "
                                    "(gan-zoo export NAME --format saved_model --out DIR)")
        loaded = {name: {version: load_version(name, version, path) for version, path in sorted(versions.items())}
                  for name, versions in found.items()}
        self.models = {name: {v: m for v, m in versions.items() if isinstance(m, ServedModel)}
                       for name, versions in loaded.items()}
        self.failed = {name: {v: m for v, m in versions.items() if isinstance(m, str)} for name, versions in loaded.items()}
        if not any(self.models.values()):
            raise UserError(f"no version of any model in {base_dir} loads: "
                            + "; ".join(reason for versions in self.failed.values() for reason in versions.values()))

    def versions_of(self, name):
        """{version: (state, error_code, error_message)} of every version of `name` found (404 if none)."""
        if name not in self.models:
            raise RequestError(f"Servable not found for request: model {name!r}; served models: "
                               f"{', '.join(sorted(self.models))}", 404)
        return dict(sorted({**{v: ("AVAILABLE", "OK", "") for v in self.models[name]},
                            **{v: ("END", "UNKNOWN", reason) for v, reason in self.failed[name].items()}}.items()))

    def get(self, name, version=None):
        """The ServedModel of `name` at `version` (default: the latest that loaded), or a 404 saying why."""
        entries, loaded = self.versions_of(name), self.models[name]
        version = max(loaded, default=None) if version is None else int(version)
        if version not in loaded:
            found = ", ".join(f"{v} ({state})" for v, (state, _, _) in entries.items())
            reason = (f" version {version} did not load ({entries[version][2]})" if version in entries
                      else f" version {version} is not served" if version is not None else " has no version that loaded")
            raise RequestError(f"Servable not found for request: {name!r}{reason}; versions: {found}", 404)
        return loaded[version]

    def status(self, name, version=None):
        """TF Serving's model_version_status of one or every version of `name` (one that did not load: "END"
        with its error)."""
        entries = self.versions_of(name)
        if version is not None and int(version) not in entries:
            self.get(name, version)  # the 404
        return {"model_version_status": [
            {"version": str(v), "state": state, "status": {"error_code": code, "error_message": message}}
            for v, (state, code, message) in entries.items() if version is None or v == int(version)]}

    def describe(self):
        """One line for the startup print: the versions served, and those that did not load with why."""
        served = ", ".join(f"{name} (versions {', '.join(map(str, sorted(versions)))})"
                           for name, versions in self.models.items() if versions)
        failed = "; ".join(f"{name} version {version}: {reason}" for name, versions in self.failed.items()
                           for version, reason in sorted(versions.items()))
        return served + (f"; not loaded: {failed}" if failed else "")


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
    shape = ["batch" if d is None and i == 0 else "any" if d is None else d for i, d in enumerate(spec.shape)]
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
    if integer and array.size and (array.min() < np.iinfo(spec.dtype).min or array.max() > np.iinfo(spec.dtype).max):
        raise RequestError(f"input {name!r} holds integers outside {np.dtype(spec.dtype).name}'s range")
    with np.errstate(over="ignore"):
        array = array.astype(spec.dtype)
    if not integer and not np.isfinite(array).all():  # after the cast: 1e39 is finite, as float32 it is inf
        raise RequestError(f"input {name!r} holds NaN or infinite values, or values beyond "
                           f"{np.dtype(spec.dtype).name}'s range; expected finite numbers")
    return array


def nested_shape(value):
    """The shape a nested JSON list implies, read along its first elements (a ragged list is refused when
    its array is built): what a request holds, known before any array of it exists."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def check_pixels(interface, signature, columns, max_pixels):
    """Refuse (413) a request whose outputs would hold more than `max_pixels` pixels, from the shapes its
    JSON implies: memory grows with output pixels (SRGAN ×4: 16 per input pixel)."""
    rule = interface.pixels.get(signature)
    pixels = None if rule is None else output_pixels(rule, {name: nested_shape(v) for name, v in columns.items()})
    if pixels is None or pixels <= max_pixels:
        return
    if rule.per_row is not None:
        accepted = f"{rule.per_row} per row: at most {max_pixels // rule.per_row} rows"
    else:
        side = math.isqrt(int(max_pixels / rule.ratio))
        accepted = (f"{interface.name} makes {rule.ratio:g} output pixels of each input pixel: at most "
                    f"{int(max_pixels / rule.ratio)} input pixels in all, e.g. one {side}×{side} image; send smaller "
                    "images or tiles")
    raise RequestError(f"this request would produce {pixels} output pixels; a request may produce at most {max_pixels} "
                       f"(the server's --max-pixels; {accepted})", 413)


def check_seeds(seeds):
    """Seeds are what `g.sample_seeds` takes: integers in [0, 2**63) (the int64 range is checked already)."""
    if seeds is not None and seeds.size and seeds.min() < 0:
        raise RequestError(f"seeds must be integers in [0, 2**63), as g.sample_seeds takes them; received "
                           f"{seeds.min()}")


def check_labels(labels, num_classes):
    """Class ids out of range are refused here: an embedding lookup on GPU would not fail but read zeros."""
    if labels is not None and num_classes and (labels.min() < 0 or labels.max() >= num_classes):
        raise RequestError(f"labels must be class ids in [0, {num_classes}); received {sorted(set(labels.tolist()))}")


def decode_request(interface, raw, max_batch, max_pixels=DEFAULT_MAX_PIXELS):
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
    check_pixels(interface, signature, columns, max_pixels)
    arrays = {name: as_array(name, columns[name], spec) for name, spec in specs.items()}
    check_labels(arrays.get("labels"), interface.num_classes)
    check_seeds(arrays.get("seed"))
    sizes = {len(array) for array in arrays.values()}
    if len(sizes) != 1:
        raise RequestError(f"all inputs need the same batch size; received {({k: len(v) for k, v in arrays.items()})}")
    size = sizes.pop()
    if not 1 <= size <= max_batch:
        raise RequestError(f"a request holds 1 to {max_batch} rows (the server's --max-batch); received {size}")
    return signature, arrays, "instances" in body, output_format


# --- responses -----------------------------------------------------------------------------
def check_finite(outputs):
    """Finite inputs can still overflow inside the model (z of 1e38): NaN images are refused, not sent as
    bare NaN tokens, which are not JSON."""
    if any(value.dtype.kind == "f" and not np.isfinite(value).all() for value in outputs.values()):
        raise RequestError("the model's outputs for these inputs hold NaN or infinite values: the inputs are far "
                           "outside what it was trained on (z ~ N(0, 1), images in [-1, 1])")


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


# --- batching ------------------------------------------------------------------------------
def rows_of(arrays):
    """Rows (batch size) of a request's {name: array}."""
    return len(next(iter(arrays.values())))


def shape_key(arrays):
    """What requests merged into one call must share: every input's shape but for rows."""
    return tuple((name, array.shape[1:]) for name, array in sorted(arrays.items()))


def release_freed_memory():
    """Hand the heap's free pages back to the system (glibc keeps them: after one large batch the server
    would stay at its peak size); a no-op without glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Batcher:
    """Merge concurrent requests to one signature whose inputs agree in shape (but for rows) into one call
    of at most `max_batch` rows and `max_pixels` output pixels; the others wait, oldest first, for the next."""

    def __init__(self, model, signature, max_batch, max_pixels):
        self.model, self.signature, self.max_batch, self.max_pixels = model, signature, max_batch, max_pixels
        self.rule = model.interface.pixels.get(signature)
        self.queue = asyncio.Queue()
        self.waiting = collections.deque()  # requests not in a batch yet, oldest first
        self.worker = asyncio.get_running_loop().create_task(self.work())

    async def submit(self, arrays):
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((arrays, future))
        return await future

    def pixels_of(self, arrays):
        return 0 if self.rule is None else output_pixels(self.rule, {name: a.shape for name, a in arrays.items()})

    async def next_batch(self):
        if not self.waiting:
            self.waiting.append(await self.queue.get())
        await asyncio.sleep(BATCH_WINDOW_SECONDS)
        while not self.queue.empty():
            self.waiting.append(self.queue.get_nowait())
        batch, rest = [self.waiting.popleft()], collections.deque()
        key, rows, pixels = shape_key(batch[0][0]), rows_of(batch[0][0]), self.pixels_of(batch[0][0])
        for item in self.waiting:
            more_rows, more_pixels = rows + rows_of(item[0]), pixels + self.pixels_of(item[0])
            if shape_key(item[0]) == key and more_rows <= self.max_batch and more_pixels <= self.max_pixels:
                batch.append(item)
                rows, pixels = more_rows, more_pixels
            else:
                rest.append(item)
        self.waiting = rest
        return batch

    def call(self, inputs):
        """The model on merged inputs (in a worker thread); after a large call, freed memory is released."""
        try:
            return self.model.run(self.signature, inputs)
        finally:
            if self.pixels_of(inputs) >= TRIM_AFTER_PIXELS:
                release_freed_memory()

    async def run(self, batch):
        """Outputs of each request of `batch`: one merged call; if merging or the call fails, each request
        alone (so one bad request does not fail the others)."""
        try:
            merged = {key: np.concatenate([arrays[key] for arrays, _ in batch]) for key in batch[0][0]}
            outputs = await asyncio.get_running_loop().run_in_executor(None, self.call, merged)
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
        sizes = np.cumsum([0] + [rows_of(arrays) for arrays, _ in batch])
        return [{key: value[a:b] for key, value in outputs.items()} for a, b in zip(sizes[:-1], sizes[1:])]

    async def work(self):
        while True:
            batch = await self.next_batch()
            try:
                results = await self.run(batch)
            except Exception as error:  # noqa: BLE001  reported to every waiting request
                results = [error] * len(batch)
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
             timeout=DEFAULT_TIMEOUT_SECONDS, max_pixels=DEFAULT_MAX_PIXELS):
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
        return web.json_response(repository.status(request.match_info["name"], request.match_info.get("version")))

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
            len(raw) > INLINE_REQUEST_BYTES, decode_request, model.interface, raw, max_batch, max_pixels)
        key = (model.name, model.version, signature)
        if key not in batchers:
            batchers[key] = Batcher(model, signature, max_batch, max_pixels)
        outputs = await batchers[key].submit(arrays)
        check_finite(outputs)
        values = sum(value.size for value in outputs.values())
        body = await codec(values > INLINE_RESPONSE_VALUES, encode_outputs, outputs, row_format, output_format)
        return web.Response(body=body, content_type="application/json")

    async def other_method(request):
        model_of(request)  # an unknown model is still a 404
        raise RequestError(f"this server implements :predict only (generators have no classify or regress "
                           f"signature); received :{request.match_info['method']}")

    async def no_model_named(request):
        raise RequestError("GET /v1/models needs a model name: /v1/models/<name>[/versions/<v>][/metadata]; "
                           f"served: {', '.join(sorted(repository.models))}")

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
        app.router.add_post(prefix + ":{method:classify|regress}", other_method)
    for path in ("/v1/models", "/v1/models/"):
        app.router.add_get(path, no_model_named)
    app[REPOSITORY] = repository
    return app


def check_options(port, max_batch, max_request_bytes, timeout, max_pixels):
    """Refuse options the server cannot run with, in one line, before anything loads."""
    for name, value, low in (("--port", port, 1), ("--max-batch", max_batch, 1), ("--max-pixels", max_pixels, 1),
                             ("--max-request-bytes", max_request_bytes, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (name == "--port" and value > 65535):
            bound = "an integer from 1 to 65535" if name == "--port" else "a positive integer"
            raise UserError(f"{name} must be {bound}; received {value!r}")
    if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise UserError(f"--timeout must be a positive number of seconds; received {timeout!r}")


def serve(base_dir, host="127.0.0.1", port=8501, max_batch=DEFAULT_MAX_BATCH,
          max_request_bytes=DEFAULT_MAX_REQUEST_BYTES, timeout=DEFAULT_TIMEOUT_SECONDS, max_pixels=DEFAULT_MAX_PIXELS,
          print_fn=print):
    """Run the server until SIGINT/SIGTERM; in-flight requests finish before it exits. A connection
    idle for `timeout` s, or still sending its headers, is closed (aiohttp's keep-alive timer); one
    still sending its body gets a 408 then. "serving ..." is printed once it listens; an address it
    cannot listen on is a UserError."""
    check_options(port, max_batch, max_request_bytes, timeout, max_pixels)
    # oneDNN's own allocator keeps a large batch's peak for good (+530 MB after one 256×256 SRGAN image);
    # the system allocator frees it. Read when TensorFlow makes its first tensor, i.e. in make_app.
    os.environ.setdefault("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "1")
    app = make_app(base_dir, max_batch, max_request_bytes, timeout, max_pixels)
    gc.collect()
    gc.freeze()  # the loaded models' many objects leave the collector's view: a full collection walking
    # them stalled every request in flight for ~0.4 s (benchmarks/serve_latency.py, the 8-client p99)
    message = f"serving {app[REPOSITORY].describe()} on http://{host}:{port}/v1/models/<name>"
    try:
        web.run_app(app, host=host, port=port, print=lambda _: print_fn(message, flush=True), shutdown_timeout=30,
                    keepalive_timeout=timeout,
                    lingering_time=min(timeout, 10.0))  # after a 408/413, how long the unread rest of a body may take
    except OSError as error:  # raised while binding: in use, not permitted, no such address
        reason = first_line(error).rsplit(": ", 1)[-1]  # asyncio's "error while attempting to bind on ...: why"
        raise UserError(f"cannot listen on {host}:{port} ({reason}); choose another --port or --host") from None
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
