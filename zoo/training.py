"""Train a recipe: strategy selection, data feed, checkpoints, resume, callbacks.

A run directory (`out`) holds:
  run.json           what was asked (recipe config, optimizer, data, batch, seed)
  train_state.json   the step reached, status and last logs (rewritten atomically)
  checkpoints/       both networks, both optimizers, EMA, BN statistics and RNG state
  samples/           sample grids from a fixed latent batch (PNG)
  logs/              TensorBoard scalars and images
Rerunning the same command resumes from the last checkpoint; the data order is a
function of (seed, step), so a resumed run sees the batches an uninterrupted run would.
"""
import dataclasses
import glob
import inspect
import json
import math
import os
import shutil
import sys
import time
import zlib

import keras
import tensorflow as tf

import recipes
from recipes.augment import parse_policies
from recipes.capabilities import SAMPLE, TRANSLATE
from zoo import datasets, perceptual
from zoo.errors import TrainingDiverged, UserError
from zoo.files import check_output_directory, entries, read_json, remove_new_entries, write_json
from zoo.images import make_grid, save_png, to_uint8

EVALUATOR_SIZE = (28, 28)  # the Fashion-MNIST evaluator's input (periodic FID)
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
OPTIMIZER_KEYS = ("lr", "g_lr", "d_lr", "beta_1", "beta_2")
XLA_ENV = "GAN_ZOO_XLA"  # "0": train without XLA unless --xla; "auto" (or unset): use_xla's measured default


@dataclasses.dataclass
class TrainConfig:
    """Everything `gan-zoo train` accepts. `recipe_args` go to the recipe's constructor;
    `optimizer_args` (keys in OPTIMIZER_KEYS) override the recipe's Adam defaults."""

    recipe: str
    out: str
    dataset: str = "fashion_mnist"
    data_dir: str = None
    split: str = "train"
    image_size: int = None
    crop: str = "none"  # how images reach image_size: resize ("none"), "center", "random" crops, or "pad"
    channels: int = None
    classes: list = None
    domains: list = None  # unpaired recipes (CycleGAN): [domain A, domain B], each a class of `dataset` or a folder
    steps: int = 2000
    batch_size: int = 64
    seed: int = 0
    strategy: str = "auto"
    mixed_precision: bool = False
    jit_compile: bool = None  # XLA-compile each replica's train step; None: wherever it can run (one replica)
    recipe_args: dict = dataclasses.field(default_factory=dict)
    optimizer_args: dict = dataclasses.field(default_factory=dict)
    log_every: int = 100
    eval_every: int = 0  # 0: off; else FID/KID (Fashion-MNIST evaluator features) every N steps
    eval_samples: int = 2000
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    verbose: int = 1  # 0 silent, 1 a line per log_every steps, 2 a progress bar
    command: str = None  # the command line that asked for this run (provenance in train_state.json)
    init_from: str = None  # a preset (name or directory): start from its networks and architecture (fine-tuning)


# --- strategy and precision ------------------------------------------------------
def make_strategy(name):
    """auto: MirroredStrategy over all GPUs when there are several, else the default;
    mirrored: all GPUs, or all logical CPUs when there is no GPU; multi_worker: TF_CONFIG."""
    if name not in STRATEGIES:
        raise UserError(f"Unknown strategy {name!r}; accepted: {', '.join(STRATEGIES)}")
    if name == "multi_worker":  # before anything initialises TensorFlow's context: collectives are set up at start
        if "TF_CONFIG" not in os.environ:
            raise UserError("--strategy multi_worker needs the TF_CONFIG environment variable (cluster spec and task)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return tpu_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def tpu_strategy(tpu=""):
    """TPUStrategy on the TPU that TPUClusterResolver finds (Cloud TPU VM, or $TPU_NAME).
    Not tested here: this machine has no TPU."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise UserError(f"--strategy tpu found no TPU ({str(error).splitlines()[0]}); accepted elsewhere: "
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
    """XLA-compile the step? True insists (refused where it cannot run), False declines. By default (None):
    what the run used before (`previous`, a resumed run keeps its numerics), else wherever it can run (one
    device, not a cross-replica strategy even with one replica, a recipe whose step XLA compiles) and was
    measured faster (`xla_by_default`): the fastest correct setting on these CPUs (benchmarks/xla_speedup.py),
    unless the environment says GAN_ZOO_XLA=0."""
    supported, one_device = recipe_cls.xla_compatible, replicas == 1 and not cross_replica
    if requested and not supported:
        raise UserError(f"--xla: {recipe_cls.__name__}'s train step has ops without an XLA kernel; drop --xla")
    if requested and not one_device:
        raise UserError(f"--xla runs on one device for now: under a {replicas}-replica distribution strategy the "
                        "cross-replica all-reduces (gradients, synchronized batch norm) cannot run inside the "
                        "XLA-compiled step; drop --xla or use --strategy default")
    if requested is None:
        default = recipe_cls.xla_by_default and xla_allowed_by_environment()
        return bool(default if previous is None else previous) and supported and one_device
    return bool(requested)


def xla_allowed_by_environment():
    """False when GAN_ZOO_XLA=0 (a site or test-suite wide --no-xla default; --xla still insists)."""
    value = os.environ.get(XLA_ENV, "auto")
    if value not in ("0", "auto"):
        raise UserError(f"{XLA_ENV}={value!r} is not a setting; accepted: 0 (no XLA unless --xla) or auto")
    return value == "auto"


def cross_replica(strategy):
    """True for strategies that all-reduce across replicas (Mirrored, MultiWorkerMirrored, TPU), whatever their count."""
    return isinstance(strategy, (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy,
                                 tf.distribute.TPUStrategy))


def set_mixed_precision(enabled):
    """mixed_float16 on GPU (the recipes wrap their optimizers in loss scaling), mixed_bfloat16 elsewhere."""
    policy = "float32"
    if enabled:
        policy = "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    keras.config.set_dtype_policy(policy)
    return policy


# --- recipe ------------------------------------------------------------------------
def recipe_argument_names(recipe_cls):
    """Constructor arguments accepted by a recipe class and its bases."""
    names = set()
    for cls in recipe_cls.__mro__:
        if issubclass(cls, recipes.GAN):
            names |= {p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")}
    return names


def recipe_class(name):
    try:
        return recipes.get_recipe(name)
    except ValueError as error:
        raise UserError(str(error)) from None


def build_recipe(config, image_shape):
    """The recipe named in `config`, compiled, for images of `image_shape`."""
    recipe_cls = recipe_class(config.recipe)
    args = dict(config.recipe_args)
    settable = recipe_argument_names(recipe_cls) - {"image_shape", "seed"}  # from the data and --seed
    unknown = set(args) - settable
    if unknown:
        raise UserError(f"Unknown setting(s) {sorted(unknown)} for {config.recipe}; accepted: "
                        f"{', '.join(sorted(settable) + list(OPTIMIZER_KEYS))}")
    bad_optimizer_keys = set(config.optimizer_args) - set(OPTIMIZER_KEYS)
    if bad_optimizer_keys:
        raise UserError(f"Unknown optimizer setting(s) {sorted(bad_optimizer_keys)}; accepted: {', '.join(OPTIMIZER_KEYS)}")
    if "content_network" in settable:  # a name in perceptual.CONTENT_NETWORKS → the frozen network
        args["content_network"] = perceptual.content_network(args.get("content_network", "auto"), image_shape[-1])
    try:
        recipe = recipe_cls(image_shape=image_shape, seed=config.seed, **args)
    except (TypeError, ValueError) as error:
        raise UserError(f"Invalid setting for {config.recipe}: {error}") from None
    compile_recipe(recipe, config)
    return recipe


FINETUNE_SETTINGS = ("ema_decay", "augment")  # recipe settings a fine-tuning run may change; the rest is architecture


def recipe_from_preset(config, image_shape):
    """The preset's recipe with its weights (generators, discriminators, fixed networks), compiled
    with the optimizers of `config`; the data must have the preset's image shape."""
    from zoo import registry

    architecture = sorted(set(config.recipe_args) - set(FINETUNE_SETTINGS))
    if architecture:
        raise UserError(f"fine-tuning keeps the preset's architecture; remove --set {', '.join(architecture)} "
                        f"(settings that may change: {', '.join(FINETUNE_SETTINGS + OPTIMIZER_KEYS)})")
    recipe = registry.load_recipe(config.init_from, compile=False)
    if "ema_decay" in config.recipe_args:  # short fine-tuning runs want a shorter EMA horizon
        decay = float(config.recipe_args["ema_decay"])
        if recipe.ema_generator is None or not 0.0 < decay < 1.0:
            raise UserError(f"ema_decay={decay} needs a preset with an EMA generator and a value in (0, 1)")
        recipe.ema_decay = decay
    if "augment" in config.recipe_args:  # DiffAugment: what lets a few hundred images fine-tune D without overfitting
        try:
            recipe.augment_policies = parse_policies(config.recipe_args["augment"])
        except ValueError as error:
            raise UserError(str(error)) from None
        if recipe.augment_policies and SAMPLE not in recipe.capabilities:
            raise UserError(f"augment (DiffAugment) is for sampling recipes; {config.init_from} does {recipe.task}")
    if tuple(recipe.image_shape) != tuple(image_shape):
        raise UserError(f"{config.init_from} makes {recipe.image_shape} images; the data gives {tuple(image_shape)}")
    compile_recipe(recipe, config)
    return recipe


def compile_recipe(recipe, config):
    """One optimizer per player (see `player_optimizer`); XLA when `config.jit_compile`."""
    recipe.compile(jit_compile=config.jit_compile, **{name: player_optimizer(recipe, config.optimizer_args, kind)
                                                      for name, (kind, _) in recipe.players.items()})


def check_optimizer_settings(settings):
    """Learning rates finite and ≥ 0 (0 freezes a player); Adam's β₁, β₂ in [0, 1) (β ≥ 1 makes its
    moment estimates diverge)."""
    for key, value in settings.items():
        rate = key.endswith("lr")
        number = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        if not number or not (value >= 0 if rate else 0 <= value < 1):
            accepted = "a finite number ≥ 0" if rate else "a number in [0, 1)"
            raise UserError(f"Optimizer setting {key}={value!r} must be {accepted}")


def player_optimizer(recipe, settings, player):
    """Adam with the recipe's defaults, overridden by `lr` / `{player}_lr`, `beta_1`, `beta_2`."""
    check_optimizer_settings(settings)
    overrides = {key: settings[key] for key in ("beta_1", "beta_2") if key in settings}
    learning_rate = settings.get(f"{player}_lr", settings.get("lr"))
    if learning_rate is not None:
        overrides["learning_rate"] = learning_rate
    return recipe.default_optimizer(**{key: float(value) for key, value in overrides.items()})


# --- data ----------------------------------------------------------------------------
DEFAULT_DOMAINS = {"fashion_mnist": ["sneaker", "ankle boot"]}


def load_examples(config, unpaired=False):
    """Unbatched, shuffled, repeated examples; the order is a function of the seed. Unpaired
    recipes get (image A, image B) pairs from two independently shuffled domains."""
    if not unpaired:
        return load_stream(config, config.dataset, config.classes, config.seed)
    domains = config.domains or DEFAULT_DOMAINS.get(config.dataset)
    if not domains or len(domains) != 2 or None in domains:
        raise UserError(f"{config.recipe} translates between two domains: pass --domain-a and --domain-b "
                        "(a class of --dataset, or a folder of images)")
    streams = []
    for index, domain in enumerate(domains):
        if os.path.isdir(str(domain)):
            stream = load_stream(config, str(domain), None, config.seed + index)
        else:
            stream = load_stream(config, config.dataset, [domain], config.seed + index)
        streams.append(stream.map(lambda *example: example[0]))  # images only
    return tf.data.Dataset.zip(tuple(streams))


def load_stream(config, dataset, classes, seed):
    return datasets.load(dataset, config.split, data_dir=config.data_dir, image_size=config.image_size,
                         crop=config.crop, channels=config.channels, classes=classes, shuffle=True, seed=seed, repeat=True,
                         prefetch=False)


def image_spec(examples):
    spec = examples.element_spec
    return spec[0] if isinstance(spec, tuple) else spec


def training_batches(examples, global_batch, real_batches_per_step, start_step):
    """Global batches for train steps start_step, start_step + 1, ...; recipes that consume
    k > 1 real batches per step (WGAN-GP's n_critic) get images shaped [batch, k, H, W, C]."""
    if real_batches_per_step > 1:
        examples = examples.batch(real_batches_per_step, drop_remainder=True)
    batches = examples.batch(global_batch, drop_remainder=True).skip(start_step)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return batches.with_options(options).prefetch(tf.data.AUTOTUNE)


# --- run directory ---------------------------------------------------------------------
def run_description(config, recipe):
    """What defines a run: a rerun must match it to resume (steps and strategy may change)."""
    def without_name(settings):  # Keras numbers object names per process: not part of the run
        return {key: value for key, value in settings.items() if key != "name"}

    return {
        "recipe": config.recipe,
        "recipe_config": without_name(recipe.get_config()),
        "optimizers": {name: without_name(opt.get_config()) for name, opt in recipe.player_optimizers.items()},
        "data": {"dataset": config.dataset, "split": config.split, "image_size": config.image_size,
                 "crop": config.crop, "channels": config.channels, "classes": config.classes, "domains": config.domains},
        "batch_size": config.batch_size,
        "seed": config.seed,
        **({"init_from": config.init_from} if config.init_from else {}),
        "dtype_policy": keras.config.dtype_policy().name,
    }


def constructor_defaults(recipe_cls):
    """{argument: default} of a recipe class's constructor and its bases'."""
    defaults = {}
    for cls in reversed(recipe_cls.__mro__):
        if issubclass(cls, recipes.GAN):
            defaults.update({name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                             if p.default is not inspect.Parameter.empty})
    return defaults


def with_constructor_defaults(previous, current):
    """A run.json from an older version lacks settings added since (e.g. DCGAN's `loss`): they had
    their default values, so fill those the current description has before comparing."""
    if previous.get("recipe") not in recipes.RECIPES or "recipe_config" not in previous:
        return previous
    defaults = json.loads(json.dumps(constructor_defaults(recipes.get_recipe(previous["recipe"])), default=str))
    added = {key: defaults[key] for key in current.get("recipe_config", {})
             if key in defaults and key not in previous["recipe_config"]}
    return {**previous, "recipe_config": {**added, **previous["recipe_config"]}}


def check_same_run(out, description):
    """Write run.json on the first run; on a rerun, refuse a different configuration."""
    path = os.path.join(out, "run.json")
    if not os.path.exists(path):
        write_json(path, description)
        return
    current = json.loads(json.dumps(description, default=str))
    previous = with_constructor_defaults(read_json(path), current)
    changed = sorted(key for key in set(previous) | set(current) if previous.get(key) != current.get(key))
    if changed:
        raise UserError(f"{out} holds a run with a different configuration ({', '.join(changed)} changed); "
                        "rerun with the same arguments to resume, or choose a new --out")


def generator_step(recipe):
    """Generator steps taken so far (the step a run is at)."""
    return int(keras.ops.convert_to_numpy(recipe.optimizer.iterations))


LOSSES_FILE = "losses.jsonl"  # {"step", loss: value} every log_every steps (a rerun may repeat a step: last wins)
EVAL_FILE = "eval.jsonl"  # {"step", "fid", "kid", ...} of --eval-every


class TrainingMonitor(keras.callbacks.Callback):
    """Per step: NaN guard; every N steps: sample grid (PNG + TensorBoard), checkpoint,
    train_state.json; stops the fit at the requested number of steps."""

    def __init__(self, out, manager, total_steps, config, chief, real_batch=None, start_step=0):
        super().__init__()
        self.real_batch = real_batch
        self.out, self.manager, self.total_steps, self.config, self.chief = out, manager, total_steps, config, chief
        self.diverged = None
        self.saved_step = None
        self.last_logs = {}
        self.provenance = session_provenance(out, config.command, start_step, config.jit_compile)
        self.image_writer = tf.summary.create_file_writer(os.path.join(out, "logs", "samples")) if chief else None

    @property
    def step(self):
        return generator_step(self.model)

    def on_train_begin(self, logs=None):
        self.preview_inputs = self.model.preview_inputs(self.config.seed, self.real_batch)

    def on_train_batch_end(self, batch, logs=None):
        logs = {name: float(value) for name, value in (logs or {}).items()}
        step = self.step
        if not all(math.isfinite(value) for value in logs.values()):
            self.diverged = (step, logs)
            self.model.stop_training = True
            return
        self.last_logs = logs
        if step % self.config.log_every == 0 and self.chief:
            with open(os.path.join(self.out, LOSSES_FILE), "a") as handle:
                handle.write(json.dumps({"step": step, **logs}) + "\n")
        if step % self.config.sample_every == 0:
            self.write_samples(step)
        if step % self.config.checkpoint_every == 0:
            self.save(step, "running")
        if step >= self.total_steps:
            self.model.stop_training = True

    def write_samples(self, step):
        if not self.chief:
            return
        images, columns = self.model.preview(self.preview_inputs)
        grid = make_grid(to_uint8(images), columns)
        save_png(os.path.join(self.out, "samples", f"step_{step:06d}.png"), grid)
        with self.image_writer.as_default():
            tf.summary.image("samples", grid[None], step=step)

    def save(self, step, status):
        """Checkpoint (every worker takes part; non-chiefs write to a scratch directory)."""
        if self.saved_step != step:
            self.manager.save(checkpoint_number=step)
            self.saved_step = step
        self.provenance["sessions"][-1].update(to_step=step,
                                               wall_time_seconds=round(time.time() - self.provenance["started"], 1))
        self.state = {
            "step": step, "total_steps": self.total_steps, "status": status,
            "checkpoint": self.manager.latest_checkpoint, "logs": self.last_logs,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "wall_time_seconds": round(self.provenance["earlier_seconds"] + time.time() - self.provenance["started"], 1),
            "commands": self.provenance["commands"], "machine": self.provenance["machine"],
            "sessions": self.provenance["sessions"],
        }
        if self.chief:
            write_json(os.path.join(self.out, "train_state.json"), self.state)


class PeriodicEvaluation(keras.callbacks.Callback):
    """Every `every` steps: FID and KID of `num_samples` samples (sampling seed 0) against the
    reference split's evaluator features, logged to TensorBoard (eval/fid, eval/kid) and
    out/eval.jsonl; the checkpoint with the best FID so far is kept in out/best/."""

    def __init__(self, out, checkpoint, every, num_samples, config):
        from zoo import evaluation
        from zoo.metrics import features

        super().__init__()
        self.out, self.checkpoint, self.every, self.num_samples = out, checkpoint, every, num_samples
        self.extractor = features.fashion_mnist_evaluator()
        self.reference, _ = evaluation.reference_features(self.extractor, config.dataset, "test", 500,
                                                          config.data_dir)
        self.writer = tf.summary.create_file_writer(os.path.join(out, "logs", "eval"))
        self.crop_to = EVALUATOR_SIZE if config.crop == "pad" and config.image_size != EVALUATOR_SIZE[0] else None
        self.best = previous_best(out)

    def on_train_begin(self, logs=None):
        from zoo.generators import center_cropped, sampler

        sample_fn = sampler(self.model)
        if self.crop_to:  # trained on padded images: score the dataset's own frame
            sample_fn = center_cropped(sample_fn, self.crop_to)
        self.sample = sample_fn(0)

    def on_train_batch_end(self, batch, logs=None):
        from zoo import evaluation

        step = generator_step(self.model)
        if step % self.every:
            return
        generated = evaluation.extract_features(
            self.extractor, evaluation.generated_batches(self.sample, self.num_samples, 500))
        result = evaluation.compute_metrics(generated, self.reference, ("fid", "kid"))
        with self.writer.as_default():
            for name in ("fid", "kid"):
                tf.summary.scalar(f"eval/{name}", result[name], step=step)
        with open(os.path.join(self.out, EVAL_FILE), "a") as handle:
            handle.write(json.dumps({"step": step, "num_samples": self.num_samples, **result}) + "\n")
        if self.best is None or result["fid"] < self.best["fid"]:
            self.best = {"step": step, "fid": result["fid"]}
            path = self.checkpoint.write(os.path.join(self.out, "best", "ckpt"))
            write_json(os.path.join(self.out, "best", "best.json"), {**self.best, "checkpoint": path})


def previous_best(out):
    path = os.path.join(out, "best", "best.json")
    return read_json(path) if os.path.exists(path) else None


def checkpoint_manager(recipe, out, chief, keep, task=None):
    """Checkpoints of both networks, all optimizers and the seed state in out/checkpoints. In
    multi-worker training every worker must save (saving is collective); a non-chief `task`
    ("worker-1") keeps only its latest copy in out/checkpoints/.worker_scratch/<task>."""
    checkpoint = tf.train.Checkpoint(recipe=recipe, seed_state=recipe.seed_generator.state,
                                     **recipe.player_optimizers)
    directory = os.path.join(out, "checkpoints")
    if not chief:
        directory, keep = os.path.join(out, "checkpoints", ".worker_scratch", task), 1
    return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)


def restore_latest(checkpoint, out):
    """Restore the newest checkpoint under out/checkpoints that reads back whole; return its path (None
    when there is none). One that does not (e.g. truncated by a kill or a full disk) is skipped with a
    note, and its files are copied to out/checkpoints/unreadable/ first: a later save at the same step
    would overwrite them."""
    directory = os.path.join(out, "checkpoints")
    state = tf.train.get_checkpoint_state(directory)
    candidates = list(reversed(state.all_model_checkpoint_paths)) if state else []
    for path in candidates:
        try:
            checkpoint.read(path).assert_existing_objects_matched()
            return path
        except Exception as error:  # TensorFlow raises DataLossError, IndexError, ValueError, … for bad files
            kept = keep_unreadable(path, directory)
            reason = str(error).strip().splitlines()[0][:200]
            print(f"Skipped checkpoint {path}: it does not restore ({reason}); its files are kept in {kept}",
                  file=sys.stderr, flush=True)
    if candidates:
        raise UserError(f"No checkpoint in {directory} restores (tried {', '.join(map(os.path.basename, candidates))}); "
                        "their files are kept in its unreadable/ folder: start a new run with another --out")
    return None


def keep_unreadable(path, directory):
    """Copy a checkpoint's files (path.index, path.data-*) to directory/unreadable/; return that folder."""
    kept = os.path.join(directory, "unreadable")
    os.makedirs(kept, exist_ok=True)
    for part in glob.glob(f"{path}.*"):
        shutil.copy2(part, kept)
    return kept


def session_provenance(out, command, start_step=0, xla=False):
    """Wall time of earlier sessions of the run, the commands of all sessions, this machine, and the
    resume history: one record per session (when it started, from which step, on which machine and
    library versions, with XLA or not; `to_step` and its own wall time are filled in at each save)."""
    from zoo.provenance import machine

    earlier = previous_state(out) or {}
    commands = list(earlier.get("commands", []))
    if command:
        commands.append(command)
    this_machine = machine()
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "from_step": start_step, "to_step": start_step,
               "wall_time_seconds": 0.0, "command": command, "machine": this_machine, "xla": bool(xla)}
    return {"started": time.time(), "earlier_seconds": earlier.get("wall_time_seconds", 0.0), "commands": commands,
            "machine": this_machine, "sessions": [*earlier_sessions(earlier), session]}


def earlier_sessions(state):
    """The resume history of an earlier train_state.json; a run from before sessions were recorded counts
    as one session (0 → its step) with its total wall time, commands and last machine."""
    if not state or "sessions" in state:
        return (state or {}).get("sessions", [])
    return [{"started": None, "from_step": 0, "to_step": state.get("step", 0),
             "wall_time_seconds": state.get("wall_time_seconds", 0.0),
             "command": " ; ".join(state.get("commands", [])) or None, "machine": state.get("machine")}]


def previous_xla(out):
    """Whether the run in `out` last trained XLA-compiled (None for a new run; runs from before the
    sessions recorded it trained without, unless asked)."""
    sessions = earlier_sessions(previous_state(out))
    return bool(sessions[-1].get("xla", False)) if sessions else None


def previous_state(out):
    """train_state.json of an earlier run in `out`, or None."""
    path = os.path.join(out, "train_state.json")
    return read_json(path) if os.path.exists(path) else None


# --- the loop --------------------------------------------------------------------------
def distributed_train_function(recipe, strategy, replica_batch):
    """tf.function: one `recipe.train_step` per replica on the next distributed batch; returns
    the logs MEAN-reduced over all replicas of all workers. Each replica's batch gets
    its static size `replica_batch` (multi-worker sharding leaves it unknown; recipes use it).
    With `recipe.jit_compile`, each replica's step is XLA-compiled (as Keras's fit does)."""
    step_fn = tf.function(recipe.train_step, jit_compile=True) if recipe.jit_compile else recipe.train_step

    def replica_step(batch):
        batch = tf.nest.map_structure(lambda x: tf.ensure_shape(x, [replica_batch, *x.shape[1:]]), batch)
        return step_fn(batch)

    @tf.function
    def train_function(iterator):
        logs = strategy.run(replica_step, args=(next(iterator),))
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

    return train_function


def run_steps(recipe, strategy, batches, global_batch, callbacks, start_step, total_steps, steps_per_epoch, verbose):
    """Train steps start_step + 1 … total_steps (or until a callback stops training), calling Keras
    callbacks as `fit` does. "Epochs" are the windows (k·steps_per_epoch, (k+1)·steps_per_epoch] of
    the run's step count, also after a resume mid-window: the loss trackers average over a window.

    Our own loop rather than `recipe.fit`: Keras 3's fit fails under MultiWorkerMirroredStrategy
    (it reduces the first data batch across workers, keras-team/keras#20585); one loop for every
    strategy keeps one code path from a laptop to a cluster."""
    iterator = iter(strategy.experimental_distribute_dataset(batches))
    train_function = distributed_train_function(recipe, strategy, global_batch // strategy.num_replicas_in_sync)
    epochs = math.ceil(total_steps / steps_per_epoch)
    callbacks = keras.callbacks.CallbackList(callbacks, add_progbar=verbose > 0, verbose={0: 0, 1: 2, 2: 1}[verbose],
                                             epochs=epochs, steps=steps_per_epoch, model=recipe)
    recipe.stop_training = False
    callbacks.on_train_begin()
    logs, step = {}, start_step
    for epoch in range(start_step // steps_per_epoch, epochs):
        recipe.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        first = epoch * steps_per_epoch
        for batch in range(step - first, min(first + steps_per_epoch, total_steps) - first):
            callbacks.on_train_batch_begin(batch)
            logs = train_function(iterator)
            step += 1
            callbacks.on_train_batch_end(batch, logs)
            if recipe.stop_training:
                break
        callbacks.on_epoch_end(epoch, logs)
        if recipe.stop_training:
            break
    callbacks.on_train_end(logs)


def check_counts(config, positive):
    """--eval-every is 0 (off) or positive; the options named in `positive` are positive integers."""
    if not isinstance(config.eval_every, int) or config.eval_every < 0:
        raise UserError(f"--eval-every must be 0 (off) or a positive integer; received {config.eval_every!r}")
    for name in positive:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be a positive integer; received {value!r}")


MAX_BATCH_BYTES = 2**31  # float32 real images one step consumes (all replicas; n_critic batches for WGAN-GP)


def check_batch_fits(images, shape):
    """Refuse a step whose real images alone would take more than MAX_BATCH_BYTES (before TensorFlow
    tries to allocate them)."""
    size = images * math.prod(d for d in shape if d is not None) * 4
    if size > MAX_BATCH_BYTES:
        raise UserError(f"--batch-size: one step's {images} real images of shape {shape} would take "
                        f"{size / 2**30:.1f} GiB (at most {MAX_BATCH_BYTES / 2**30:.0f} GiB); pass a smaller --batch-size")


def validate(config):
    check_counts(config, ("steps", "batch_size", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
                          "eval_samples"))
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed < 2**32:
        raise UserError(f"--seed must be an integer in [0, 2**32) (numpy's global seed); received {config.seed!r}")
    check_output_directory(config.out)


def train(config):
    """Train (or resume) the run in `config.out`; return its final train_state dict.

    Raises UserError for bad input and TrainingDiverged when a loss turns NaN/inf. A run that fails
    before its first checkpoint leaves nothing behind (no run.json to lock the directory)."""
    validate(config)
    before = entries(config.out)
    try:
        return train_in_directory(config)
    except TrainingDiverged:  # its samples and logs show how: kept
        raise
    except BaseException:
        if tf.train.latest_checkpoint(os.path.join(config.out, "checkpoints")) is None:
            remove_new_entries(config.out, before)
        raise


def train_in_directory(config):
    os.makedirs(config.out, exist_ok=True)
    strategy = make_strategy(config.strategy)
    set_mixed_precision(config.mixed_precision)
    replicas = strategy.num_replicas_in_sync
    config = dataclasses.replace(config, jit_compile=use_xla(config.jit_compile, replicas, recipe_class(config.recipe),
                                                             cross_replica(strategy), previous_xla(config.out)))
    if config.batch_size % replicas:
        raise UserError(f"--batch-size {config.batch_size} is not divisible by the {replicas} replicas of the strategy")
    keras.utils.set_random_seed(config.seed)  # first: tf.data's shuffle order depends on the global seed too
    unpaired = TRANSLATE in recipe_class(config.recipe).capabilities
    examples = load_examples(config, unpaired)
    fitted = recipe_class(config.recipe).fitted_data(tuple(image_spec(examples).shape))
    if fitted and config.image_size is None and config.crop == "none":  # the user chose no size: the recipe's
        if config.verbose:
            print(f"{config.recipe} takes {fitted['image_size']}x{fitted['image_size']} images: --image-size "
                  f"{fitted['image_size']} --crop {fitted['crop']} (pass --image-size to choose)", flush=True)
        config = dataclasses.replace(config, **fitted)
        examples = load_examples(config, unpaired)
    with strategy.scope():
        shape = tuple(image_spec(examples).shape)
        recipe = recipe_from_preset(config, shape) if config.init_from else build_recipe(config, shape)
    check_batch_fits(config.batch_size * recipe.real_batches_per_step, shape)
    if recipe.conditional and not isinstance(examples.element_spec, tuple):
        raise UserError(f"{config.recipe} is class-conditional but dataset {config.dataset!r} has no labels")
    chief = is_chief(strategy)
    warn_unsynchronized_batch_norm(recipe, replicas, config.verbose and chief)
    description = run_description(config, recipe)
    if chief:
        check_same_run(config.out, description)
    checkpoint, manager = checkpoint_manager(recipe, config.out, chief, config.keep_checkpoints, task_name(strategy))
    restored = restore_latest(checkpoint, config.out)
    start_step = generator_step(recipe)
    check_workers_agree(strategy, start_step, description)
    if start_step >= config.steps:  # before the monitor: a session that trains nothing is not recorded
        if chief:
            print(f"Nothing to train: {config.out} is at step {start_step}, at or past --steps {config.steps}; "
                  "pass a larger --steps to continue", flush=True)
        return previous_state(config.out) or {"step": start_step, "total_steps": config.steps, "status": "completed"}
    if config.verbose:
        print(f"{'Resuming from ' + restored if restored else 'Starting'} at step {start_step} of {config.steps} "
              f"({replicas} replica(s), dtype policy {keras.config.dtype_policy().name})", flush=True)
    samples = SAMPLE in recipe_class(config.recipe).capabilities
    real_batch = None if samples else next(iter(examples.batch(8)))  # grids of real inputs → outputs
    monitor = TrainingMonitor(config.out, manager, config.steps, config, chief, real_batch, start_step)
    callbacks = [monitor]
    if config.eval_every and chief:
        if not samples:
            raise UserError(f"--eval-every measures sampling generators; {config.recipe} does "
                            f"{recipe.task.replace('_', '-')}: "
                            "evaluate it after training with `gan-zoo evaluate`")
        padded_fashion_mnist = config.crop == "pad" and config.dataset == "fashion_mnist"
        if image_spec(examples).shape[-3:] != (*EVALUATOR_SIZE, 1) and not padded_fashion_mnist:
            raise UserError("--eval-every uses the Fashion-MNIST evaluator: it needs 28x28 grayscale images "
                            "(or Fashion-MNIST padded with --crop pad)")
        callbacks.append(PeriodicEvaluation(config.out, checkpoint, config.eval_every, config.eval_samples, config))
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(config.out, "logs"), update_freq=config.log_every,
                                                     write_graph=False))
    batches = training_batches(examples, config.batch_size, recipe.real_batches_per_step, start_step)
    try:
        run_steps(recipe, strategy, batches, config.batch_size, callbacks, start_step, config.steps,
                  steps_per_epoch=min(config.log_every, config.steps), verbose=config.verbose)
    except KeyboardInterrupt:
        if task_name(strategy) is None:  # a multi-worker save is collective: the others may never join it
            monitor.save(monitor.step, "interrupted")
        raise
    if monitor.diverged:
        step, logs = monitor.diverged
        raise TrainingDiverged(
            f"training diverged at step {step} ({', '.join(f'{k}={v:.4g}' for k, v in logs.items())}); "
            f"the last good checkpoint ({manager.latest_checkpoint or 'none'}) is kept. "
            "Try a lower learning rate (--set lr=...) or a different seed.")
    monitor.write_samples(monitor.step)
    monitor.save(monitor.step, "completed")
    return monitor.state
