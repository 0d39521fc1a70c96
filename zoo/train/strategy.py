"""Where a step runs: the tf.distribute strategy, the chief, XLA and mixed precision."""
import contextlib
import json
import os
import signal
import sys
import threading
import zlib

import keras
import tensorflow as tf

import recipes
from zoo.errors import UserError, first_line
from zoo.train import autotune
from zoo.train.config import STRATEGIES


XLA_ENV = "GAN_ZOO_XLA"  # "0": nothing measured: the graph in float32 unless --xla / --mixed-precision; "auto" (or
# unset): the measured default (use_xla, mixed_precision_candidates)


def make_strategy(name):
    """auto: MirroredStrategy over all GPUs when there are several, else the default;
    mirrored: all GPUs, or all logical CPUs when there is no GPU; multi_worker: TF_CONFIG."""
    if name not in STRATEGIES:
        raise UserError(f"Unknown strategy {name!r}; accepted: {', '.join(STRATEGIES)}")
    if name == "multi_worker":  # before anything initialises TensorFlow's context: collectives are set up at start
        if "TF_CONFIG" not in os.environ:
            raise UserError("--strategy multi_worker needs the TF_CONFIG environment variable (cluster spec and task)")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        reclaim_sigterm()
        return strategy
    if name == "tpu":
        return tpu_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def reclaim_sigterm():
    """Starting MultiWorkerMirroredStrategy's coordination service installs a C++ SIGTERM handler (TensorFlow's
    preemption notifier) in place of Python's, and SIGTERM then no longer reaches the process's handler (nor
    ends it): give it back to the Python handler of the moment (zoo.errors.StopRequest's while training)."""
    if threading.current_thread() is threading.main_thread():
        handler = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, signal.SIG_DFL if handler is None else handler)


def tpu_strategy(tpu=""):
    """TPUStrategy on the TPU that TPUClusterResolver finds (Cloud TPU VM, or $TPU_NAME).
    Not tested here: this machine has no TPU."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise UserError(f"--strategy tpu found no TPU ({first_line(error)}); accepted elsewhere: "
                        f"{', '.join(name for name in STRATEGIES if name != 'tpu')}") from None
    return tf.distribute.TPUStrategy(resolver)


def task_name(strategy):
    """"worker-1" etc. for a task of a multi-worker cluster; None in a single process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None
    return f"{resolver.task_type}-{resolver.task_id}"


def is_chief(strategy):
    """Only the chief writes samples, logs and the real checkpoints in multi-worker training."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if task_name(strategy) is None or resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def check_workers_agree(strategy, step, description):
    """Multi-worker: every worker must resume at the same step (so --out must be storage all of them
    share) with the same run configuration; otherwise every worker raises instead of training
    replicas that silently disagree. Compares MEAN-reduced (step, CRC32 of the configuration)."""
    if task_name(strategy) is None:
        return
    mine = tf.constant([step, zlib.crc32(json.dumps(description, sort_keys=True, default=str).encode())], tf.float64)
    mean = strategy.reduce("MEAN", strategy.run(lambda: mine), axis=None)
    step_differs, config_differs = strategy.reduce("MEAN", strategy.run(lambda: tf.cast(mine != mean, tf.float64)),
                                                   axis=None).numpy() > 0
    if step_differs:
        raise UserError(f"this worker ({task_name(strategy)}) resumes at step {step} but not every worker does: "
                        "--out must be a directory every worker reads and writes (shared storage)")
    if config_differs:
        raise UserError("the workers were started with different training arguments: run the same command on each")


def warn_unsynchronized_batch_norm(recipe, replicas, verbose):
    """Plain batch norm over several replicas normalises each replica's share of the batch and
    lets each replica's moving statistics drift apart (only the first replica's are saved)."""
    settings = [f"{key}={value}" for key, value in recipe.get_config().items() if key.endswith("norm") and value == "batch"]
    if replicas > 1 and settings and verbose:
        print(f"Note: {', '.join(settings)} with {replicas} replicas normalises per replica and the replicas' moving "
              f"statistics differ; for the single-device result at this global batch use "
              f"{' '.join('--set ' + s.split('=')[0] + '=sync_batch' for s in settings)}", file=sys.stderr, flush=True)


def use_xla(requested, replicas, recipe_cls=recipes.GAN, cross_replica=False, previous=None):
    """XLA-compile the step? True insists (refused where it cannot run), False declines. By default (`requested`
    None): not where XLA cannot run (several devices, a cross-replica strategy even with one replica, a recipe
    whose step has ops without an XLA kernel); what the run used before (`previous`: a resumed run keeps its
    numerics); not when the environment says GAN_ZOO_XLA=0, nor for a recipe whose XLA compile is too slow to
    try (`xla_by_default` False); else None: measure it (zoo.train.autotune: XLA was 1.57× TensorFlow's graph
    on an AVX2 machine and 0.77× on an AVX-512 one)."""
    supported, one_device = recipe_cls.xla_compatible, replicas == 1 and not cross_replica
    if requested and not supported:
        raise UserError(f"--xla: {recipe_cls.__name__}'s train step has ops without an XLA kernel; drop --xla")
    if requested and not one_device:
        raise UserError(f"--xla runs on one device for now: under a {replicas}-replica distribution strategy the "
                        "cross-replica all-reduces (gradients, synchronized batch norm) cannot run inside the "
                        "XLA-compiled step; drop --xla or use --strategy default")
    if requested is not None:
        return bool(requested)
    if not (supported and one_device):
        return False
    if previous is not None:
        return bool(previous)
    return None if xla_allowed_by_environment() and recipe_cls.xla_by_default else False


def xla_allowed_by_environment():
    """False when GAN_ZOO_XLA=0 (a site or test-suite wide default: the graph in float32, nothing measured;
    --xla and --mixed-precision still insist)."""
    value = os.environ.get(XLA_ENV, "auto")
    if value not in ("0", "auto"):
        raise UserError(f"{XLA_ENV}={value!r} is not a setting; accepted: 0 (no XLA unless --xla) or auto")
    return value == "auto"


def cross_replica(strategy):
    """True for strategies that all-reduce across replicas (Mirrored, MultiWorkerMirrored, TPU), whatever their count."""
    return isinstance(strategy, (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy,
                                 tf.distribute.TPUStrategy))


def mixed_precision_candidates(requested, checked, one_device=True, previous=None):
    """(precisions the run may take, precisions timed for the record only), each a list of "mixed or not".
    `requested` True or False insists (--mixed-precision, --no-mixed-precision). By default (None): what the run
    used before (`previous`, from its run.json: checkpoints and numerics never switch mid-run); float32 where no
    probe runs (several devices, GAN_ZOO_XLA=0) or where bfloat16 cannot pay (a GPU, a CPU without native
    bfloat16); both where the recipe's quality was checked in bfloat16 (`checked`: GAN.trains_in_bfloat16), else
    float32, with bfloat16 timed for a hint (--mixed-precision)."""
    if requested is not None:
        return [bool(requested)], []
    if previous is not None:
        return [bool(previous)], []
    if not (one_device and xla_allowed_by_environment()) or tf.config.list_logical_devices("GPU") \
            or not autotune.native_bfloat16(autotune.cpu_flags()):
        return [False], []
    return ([False, True], []) if checked else ([False], [True])


@contextlib.contextmanager
def kept_dtype_policy():
    """Give the global Keras dtype policy found on entry back on exit (a throwaway recipe, or train() for its
    caller: the policy a run chose is not left behind)."""
    policy = keras.config.dtype_policy()
    try:
        yield
    finally:
        keras.config.set_dtype_policy(policy)


def half_precision():
    """The compute type of mixed precision here: float16 on GPU (the recipes wrap their optimizers in loss
    scaling), bfloat16 elsewhere."""
    return "float16" if tf.config.list_logical_devices("GPU") else "bfloat16"


def set_mixed_precision(enabled):
    """Keras's mixed_<half_precision()> policy when `enabled`, else float32."""
    policy = f"mixed_{half_precision()}" if enabled else "float32"
    keras.config.set_dtype_policy(policy)
    return policy
