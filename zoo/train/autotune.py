"""Which path a run's train step takes on this machine: each candidate (TensorFlow's graph, XLA, and their
bfloat16 forms where the CPU computes bfloat16 natively) timed on the real step, the fastest chosen, and the
choice cached per machine fingerprint so the probe is paid once (the idea of cuDNN's autotuner,
`torch.backends.cudnn.benchmark`). XLA's CPU convolutions beat oneDNN's on some CPUs and lose on others (1.57×
the graph on an AVX2 machine, 0.77× on an AVX-512 one): no fixed default is right everywhere. Which candidates a
run may choose is zoo.train's (a forced flag, a resumed run's path, bfloat16 where the recipe was checked in it)."""
import dataclasses
import functools
import hashlib
import json
import os
import platform
import statistics
import time

from zoo.errors import UserError
from zoo.files import cache_path, exclusive, read_json, write_json

CACHE_FILE = "train_paths.json"  # under zoo.files.CACHE_DIR


@dataclasses.dataclass(frozen=True)
class Path:
    """One way to run the step: XLA-compiled or not, float32 or mixed precision (float32 weights, `half` the
    compute type: bfloat16 on a CPU, float16 on a GPU), named as it runs: "graph", "xla+bfloat16", ..."""

    xla: bool
    mixed: bool = False
    half: str = "bfloat16"

    @property
    def name(self):
        return ("xla" if self.xla else "graph") + (f"+{self.half}" if self.mixed else "")

    @classmethod
    def from_name(cls, name):
        base, _, half = name.partition("+")
        return cls(xla=base == "xla", mixed=bool(half), half=half or "bfloat16")


def cpu_flags():
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bfloat16(flags):
    """True when the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX-BF16)."""
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def candidates(xla_options, mixed_options, half="bfloat16"):
    """Every path of the compile choices `xla_options` (e.g. [False, True]: the graph and XLA) and the precision
    choices `mixed_options` ([False]: float32 only; True: mixed, computing in `half`), float32 first."""
    return [Path(xla=xla, mixed=mixed, half=half) for mixed in mixed_options for xla in xla_options]


SPEED_SETTINGS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "TF_ENABLE_ONEDNN_OPTS",
                  "XLA_FLAGS", "TF_XLA_FLAGS")  # environment variables that change which path is faster


def usable_cores():
    """The cores this process may run on (a Slurm or taskset share of a larger node), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def gpu_models(tf):
    """Each GPU's model and compute capability (an A100 node and a V100 node are different machines)."""
    return [str(tf.config.experimental.get_device_details(gpu)) for gpu in tf.config.list_physical_devices("GPU")]


def fingerprint(workload):
    """A stable key of the machine and the `workload` (recipe, its settings, shapes, batch, strategy):
    CPU model and flags, usable cores, GPU models, the environment variables that change speed, TensorFlow
    and Keras versions, and the modelling code (a change to recipes/, e.g. a faster layer, measures again)."""
    import keras
    import tensorflow as tf

    machine = {"cpu": cpu_model(), "flags": sorted(cpu_flags()), "cores": usable_cores(), "gpus": gpu_models(tf),
               "environment": {name: os.environ.get(name) for name in SPEED_SETTINGS},
               "tensorflow": tf.__version__, "keras": keras.__version__}
    text = json.dumps({"machine": machine, "workload": workload, "code": modelling_code()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def modelling_code():
    """sha256 of the recipes package's source (what a training step runs), read once per process."""
    import recipes

    digest = hashlib.sha256()
    root = os.path.dirname(recipes.__file__)
    for directory, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    return digest.hexdigest()[:16]


class PathFailed(Exception):
    """A path's step could not run (an XLA compile error, out of memory): it drops out of the measurement."""


def interleaved_seconds(runs, warmup, steps, clock=time.perf_counter):
    """{name: median seconds per step} of each `runs[name](n)` (n steps of one path), after `warmup` untimed steps
    of each (compilation, tracing, the input pipeline's start), timing one step of every path in turn, `steps`
    rounds, the order reversed every other round: a machine whose speed drifts (shared cores, clock boost)
    slows every path alike instead of the one that happened to run last. A path whose steps raise PathFailed
    gets None."""
    seconds = {name: [] for name in runs}
    for name, run_steps in runs.items():
        try:
            run_steps(warmup)
        except PathFailed:
            seconds[name] = None
    for round_number in range(steps):
        order = [name for name in runs if seconds[name] is not None]
        for name in order if round_number % 2 == 0 else order[::-1]:
            started = clock()
            try:
                runs[name](1)
            except PathFailed:
                seconds[name] = None
                continue
            seconds[name].append(clock() - started)
    return {name: statistics.median(times) if times else None for name, times in seconds.items()}


def cached_choices(cache_file):
    """The cache's {key: choice}; a missing, unreadable or malformed cache is empty (it is measured again)."""
    try:
        table = read_json(cache_file) if os.path.exists(cache_file) else {}
    except (UserError, OSError):
        return {}
    return table if isinstance(table, dict) else {}


def choose_path(key, paths, measure, cache_file=None, eligible=None):
    """(chosen Path, record) for the workload `key`: the cached choice when there is one for `key` and it
    is still eligible, else `paths` timed by `measure(paths)` ({name: seconds per step}, e.g. interleaved_seconds
    of each path's steps), the fastest of the `eligible` ones (default: all) chosen and cached; the others are
    timed for the record only (bfloat16 for a recipe whose quality was not checked in it). A path that failed to
    run (an XLA compile error, memory) measures None: it is not chosen. The record says which path, why, and every
    measurement."""
    eligible = [path.name for path in (eligible or paths)]
    if len(paths) == 1:
        return paths[0], {"path": eligible[0], "why": "the only path that can run here"}
    try:
        cache_file = cache_file or cache_path(CACHE_FILE)
        cached = cached_choice(cache_file, key, eligible)
    except (UserError, OSError):  # an unusable cache: measure, and do not cache
        cache_file, cached = None, None
    if cached:
        return Path.from_name(cached["path"]), {**cached, "why": f"measured before on this machine ({cache_file})"}
    measured = measure(paths)  # not under the cache's lock: it may take minutes
    ran = [name for name in eligible if measured[name] is not None]  # None: the path failed to run
    fastest = min(ran, key=measured.get) if ran else eligible[0]
    record = {"path": fastest, "seconds_per_step": measured,
              "why": f"fastest of {len(eligible)} measured: " + ", ".join(
                  f"{name} {measured[name] * 1000:.1f} ms" if measured[name] is not None else f"{name} failed"
                  for name in sorted(eligible, key=lambda name: (measured[name] is None, measured[name] or 0)))}
    if cache_file:
        with exclusive(cache_file):
            write_json(cache_file, {**cached_choices(cache_file), key: {k: record[k] for k in ("path", "seconds_per_step")}})
    return Path.from_name(fastest), record


def cached_choice(cache_file, key, eligible):
    """The cache's choice for `key` when it is well formed (an eligible path, with a time for it), else None."""
    with exclusive(cache_file):
        cached = cached_choices(cache_file).get(key)
    seconds = cached.get("seconds_per_step") if isinstance(cached, dict) else None
    if not isinstance(seconds, dict) or cached.get("path") not in eligible \
            or not isinstance(seconds.get(cached["path"]), (int, float)):
        return None
    return cached
