"""The training loop: the data feed, one distributed step per global batch, and `train(config)`, which
ties config, strategy, recipe, run directory and callbacks together (see zoo.train.run_directory for
what a run leaves on disk and how it resumes). One process trains in a run directory at a time (its lock);
SIGTERM stops a run as Ctrl-C does (a multi-worker run: every worker after the same step, then one collective
checkpoint), and a full disk ends it with one line; both leave it resumable."""
import dataclasses
import errno
import gc
import json
import math
import os
import sys

import keras
import tensorflow as tf

from recipes.capabilities import SAMPLE, TRANSLATE
from zoo.data import datasets
from zoo.errors import StopRequest, TrainingDiverged, UserError, first_line, sigterm_as_interrupt
from zoo.files import LOCK_FILE, locked_directory, remove_new_entries
from zoo.train import autotune, run_directory
from zoo.train.build import build_recipe, check_settings, recipe_class, recipe_from_preset
from zoo.train.callbacks import EVALUATOR_SIZE, PeriodicEvaluation, StepProgress, TrainingMonitor
from zoo.train.config import domains_of, validate
from zoo.train.run_directory import (check_same_run, checkpoint_manager, generator_step, previous_mixed_precision,
                                     previous_state, previous_xla, restore_latest, run_description)
from zoo.train.strategy import (check_workers_agree, cross_replica, half_precision, is_chief, kept_dtype_policy,
                                make_strategy, mixed_precision_candidates, set_mixed_precision, task_name, use_xla,
                                warn_unsynchronized_batch_norm)


def load_examples(config, unpaired=False):
    """Unbatched, shuffled, repeated examples; the order is a function of the seed. Unpaired
    recipes get (image A, image B) pairs from two independently shuffled domains."""
    if not unpaired:
        return load_stream(config, config.dataset, config.classes, config.seed)
    domains = domains_of(config.dataset, config.domains)
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


def distributed_train_function(recipe, strategy, replica_batch, stop_votes=False):
    """tf.function: one `recipe.train_step` per replica on the next distributed batch; returns
    the logs MEAN-reduced over all replicas of all workers. Each replica's batch gets
    its static size `replica_batch` (multi-worker sharding leaves it unknown; recipes use it).
    With `recipe.jit_compile`, each replica's step is XLA-compiled (as Keras's fit does).
    With `stop_votes` it takes (iterator, this worker's StopRequest.vote) and returns (logs, the votes
    SUM-reduced over all workers): every worker learns after the same step whether one was asked to stop."""
    step_fn = tf.function(recipe.train_step, jit_compile=True) if recipe.jit_compile else recipe.train_step

    def replica_step(batch):
        batch = tf.nest.map_structure(lambda x: tf.ensure_shape(x, [replica_batch, *x.shape[1:]]), batch)
        return step_fn(batch)

    @tf.function
    def train_function(iterator, *stop_vote):
        logs = strategy.run(replica_step, args=(next(iterator),))
        logs = {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}
        if not stop_votes:
            return logs
        return logs, strategy.reduce("SUM", strategy.run(tf.identity, args=stop_vote), axis=None)

    return train_function


def run_recipe(config, shape):
    """The compiled recipe a run trains: the preset's (`--init-from`), else a new one."""
    return recipe_from_preset(config, shape) if config.init_from else build_recipe(config, shape)


PROBE_WARMUP_STEPS, PROBE_TIMED_STEPS = 3, 10  # per path: tracing/compiling, then the median of these


def training_path(config, strategy, examples, shape):
    """(autotune.Path, record or None): how this run's step runs, XLA-compiled or not and in float32 or mixed
    bfloat16. `config.jit_compile` is use_xla's answer (True, False or None: either) and `config.mixed_precision`
    --mixed-precision / --no-mixed-precision (None: mixed_precision_candidates, e.g. a resumed run's own); where
    more than one path may be taken, the fastest measured (`measured_path`, whose record says why)."""
    recipe_cls = recipe_class(config.recipe)
    one_device = strategy.num_replicas_in_sync == 1 and not cross_replica(strategy)
    precisions, timed_only = mixed_precision_candidates(
        config.mixed_precision, recipe_cls.trains_in_bfloat16(config.recipe_args, shape), one_device,
        previous_mixed_precision(config.out))
    compile_paths = [False, True] if config.jit_compile is None else [config.jit_compile]
    eligible = autotune.candidates(compile_paths, precisions, half_precision())
    if len(eligible) == 1:
        return eligible[0], None
    if config.verbose:
        print("Measuring the training path (once per machine and workload; --xla/--no-xla and "
              "--mixed-precision/--no-mixed-precision skip it)", flush=True)
    path, record = measured_path(config, strategy, examples, shape, eligible,
                                 eligible + autotune.candidates(compile_paths, timed_only, half_precision()))
    if config.verbose:
        print(f"Training path: {path.name} ({record['why']})", flush=True)
    return path, record


def measured_path(config, strategy, examples, shape, eligible, paths):
    """(the fastest of the `eligible` paths, record): each of `paths` timed on a throwaway copy of the recipe fed
    the run's own batches (zoo.train.autotune.choose_path: cached per machine, workload and candidates, so paid
    once); paths not eligible are timed for the record and a hint only (bfloat16_hint)."""
    workload = {"recipe": config.recipe, "recipe_args": config.recipe_args, "init_from": config.init_from,
                "shape": shape, "batch_size": config.batch_size, "replicas": strategy.num_replicas_in_sync,
                "paths": [path.name for path in paths], "eligible": [path.name for path in eligible]}

    def measure(paths):
        try:
            runs = {path.name: steps_of(path) for path in paths}
            return autotune.interleaved_seconds(runs, PROBE_WARMUP_STEPS, PROBE_TIMED_STEPS)
        finally:
            runs = None
            gc.collect()  # the throwaway recipes (reference cycles), their optimizer slots

    def steps_of(path):
        """run_steps(n) of a throwaway recipe on `path`; an OpError on the way is PathFailed."""
        keras.utils.set_random_seed(config.seed)
        probe = dataclasses.replace(config, jit_compile=path.xla, mixed_precision=path.mixed)
        with kept_dtype_policy():  # the networks take the policy when they are built
            set_mixed_precision(path.mixed)
            with strategy.scope():
                recipe = run_recipe(probe, shape)
        batches = training_batches(examples, config.batch_size, recipe.real_batches_per_step, 0)
        iterator = iter(strategy.experimental_distribute_dataset(batches))
        step = distributed_train_function(recipe, strategy, config.batch_size // strategy.num_replicas_in_sync)

        def advance(count):
            try:
                for _ in range(count):
                    logs = step(iterator)
                    [float(value) for value in logs.values()]  # waits for the step to finish
            except tf.errors.OpError as error:  # e.g. an XLA compile error or out of memory: the others may run
                print(f"Training path {path.name} failed in the probe: {first_line(error)}", file=sys.stderr,
                      flush=True)
                raise autotune.PathFailed(path.name) from None

        return advance

    path, record = autotune.choose_path(autotune.fingerprint(workload), paths, measure, eligible=eligible)
    return path, {**record, "why": record["why"] + bfloat16_hint(record)}


def bfloat16_hint(record):
    """"; bfloat16 (--mixed-precision) measured 1.40× faster: graph+bfloat16 97.6 ms" when a bfloat16 path
    timed for the record beat the chosen one, else ""."""
    measured = record.get("seconds_per_step", {})
    chosen = measured.get(record["path"])
    faster = {name: seconds for name, seconds in measured.items()
              if name.endswith("+bfloat16") and None not in (chosen, seconds) and seconds < chosen}
    if not faster:
        return ""
    best = min(faster, key=faster.get)
    return (f"; bfloat16 (--mixed-precision) measured {measured[record['path']] / faster[best]:.2f}× faster: "
            f"{best} {faster[best] * 1000:.1f} ms")


def run_steps(recipe, strategy, batches, global_batch, callbacks, start_step, total_steps, steps_per_epoch, verbose,
              stop=None):
    """Train steps start_step + 1 … total_steps (or until a callback stops training), calling Keras
    callbacks as `fit` does. "Epochs" are the windows (k·steps_per_epoch, (k+1)·steps_per_epoch] of
    the run's step count, also after a resume mid-window: the loss trackers average over a window, and
    progress is printed in steps (StepProgress: verbose 1 a line per window, 2 also a live line).
    A stop signal recorded in `stop` (a StopRequest) by any worker ends training after the step its vote
    rode on, the same one on every worker, by raising its interrupt once the callbacks have ended.

    Our own loop rather than `recipe.fit`: Keras 3's fit fails under MultiWorkerMirroredStrategy
    (it reduces the first data batch across workers, keras-team/keras#20585); one loop for every
    strategy keeps one code path from a laptop to a cluster."""
    iterator = iter(strategy.experimental_distribute_dataset(batches))
    train_function = distributed_train_function(recipe, strategy, global_batch // strategy.num_replicas_in_sync,
                                                stop_votes=True)
    epochs = math.ceil(total_steps / steps_per_epoch)
    progress = [StepProgress(start_step, total_steps, live=verbose == 2)] if verbose else []
    callbacks = keras.callbacks.CallbackList([*callbacks, *progress], epochs=epochs, steps=steps_per_epoch,
                                             model=recipe)
    stop = stop or StopRequest()
    recipe.stop_training = False
    callbacks.on_train_begin()
    logs, step = {}, start_step
    for epoch in range(start_step // steps_per_epoch, epochs):
        recipe.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        first = epoch * steps_per_epoch
        for batch in range(step - first, min(first + steps_per_epoch, total_steps) - first):
            callbacks.on_train_batch_begin(batch)
            logs, votes = train_function(iterator, tf.constant(stop.vote()))
            step += 1
            callbacks.on_train_batch_end(batch, logs)
            if not recipe.stop_training and stop.agree(votes.numpy()):  # not past a last or diverged step
                recipe.stop_training = True
            if recipe.stop_training:
                break
        callbacks.on_epoch_end(epoch, logs)
        if recipe.stop_training:
            break
    callbacks.on_train_end(logs)
    if stop.agreed:
        raise stop.interrupt()


def train(config):
    """Train (or resume) the run in `config.out`: what `gan-zoo train` does.

    Args:
        config: a zoo.train.config.TrainConfig (recipe, data, steps, batch, seed, strategy, path, cadences);
            rerunning the same config resumes from the last checkpoint.

    Returns:
        dict: the run's final train_state.json (step, status, checkpoint, last logs, sessions).

    Raises:
        UserError: bad input, or another process works in `config.out` (its lock is held for the whole run).
        TrainingDiverged: a loss turned NaN/inf (the last good checkpoint is kept).
        Terminated: SIGTERM, after saving, as for Ctrl-C's KeyboardInterrupt (a multi-worker run after the step
            every worker stops at, any worker's signal stopping them all).

    A run that fails before its first checkpoint leaves nothing behind (no run.json to lock the directory). The
    caller's Keras dtype policy is given back at the end (a run sets its own precision while it trains)."""
    validate(config)
    if not config.init_from:  # a fine-tune's settings are recipe_from_preset's to check
        check_settings(config)  # before the data loads and the path is measured: a typo is refused at once
    stop = StopRequest()  # multi-worker: a stop signal waits for a step every worker stops after
    signals = stop.recording() if config.strategy == "multi_worker" else sigterm_as_interrupt()
    with signals, kept_dtype_policy(), locked_directory(config.out, run_lock_name(config)) as before:
        try:
            return train_in_directory(config, stop)
        except TrainingDiverged:  # its samples and logs show how: kept
            raise
        except BaseException:
            if tf.train.latest_checkpoint(os.path.join(config.out, run_directory.CHECKPOINTS)) is None:
                remove_new_entries(config.out, before)
            raise


def run_lock_name(config):
    """The run directory's lock file: the run's own (`.lock`, which make-preset also takes) for a single
    process or a multi-worker chief; one per other task, whose processes share the directory with it."""
    if config.strategy != "multi_worker":
        return LOCK_FILE
    try:
        spec = json.loads(os.environ.get("TF_CONFIG") or "{}")
        kind, index = spec["task"]["type"], int(spec["task"]["index"])
    except (ValueError, KeyError, TypeError):  # make_strategy reports a bad TF_CONFIG
        return LOCK_FILE
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in spec.get("cluster", {}))
    return LOCK_FILE if chief else f"{LOCK_FILE}.{kind}-{index}"


def disk_full(error):
    """Whether a write failed for want of space (Python's ENOSPC/EDQUOT or TensorFlow's wrapped message)."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, tf.errors.OpError) and ("No space left on device" in str(error)
                                                     or "Disk quota exceeded" in str(error))


def check_class_count(config, cls):
    """A class-conditional recipe's `num_classes` must cover the dataset's classes: a label past it would index
    outside its embeddings and class head (NaN losses under XLA, an error in graph mode, not a clear refusal)."""
    num_classes = config.recipe_args.get("num_classes", cls.constructor_arguments()["num_classes"].default)
    _, names = datasets.describe(config.dataset, config.split, data_dir=config.data_dir, image_size=config.image_size)
    if names and isinstance(num_classes, int) and 2 <= num_classes < len(names):  # below 2: the recipe refuses
        raise UserError(f"{config.recipe} has num_classes={num_classes}, fewer than the {len(names)} classes of "
                        f"dataset {config.dataset!r}: set --set num_classes={len(names)}")


def check_data(config, examples):
    """Refuse, before anything is built or measured, data the recipe cannot train on (a class-conditional recipe
    without labels) or that --eval-every cannot score."""
    cls = recipe_class(config.recipe)
    conditional = cls.conditional or config.recipe_args.get("num_classes") is not None  # SNGAN: per instance
    if conditional and not isinstance(examples.element_spec, tuple):
        raise UserError(f"{config.recipe} is class-conditional but dataset {config.dataset!r} has no labels")
    if conditional:
        check_class_count(config, cls)
    if not config.eval_every:
        return
    if SAMPLE not in cls.capabilities:
        raise UserError(f"--eval-every measures sampling generators; {config.recipe} does "
                        f"{cls.task.replace('_', '-')}: evaluate it after training with `gan-zoo evaluate`")
    padded_fashion_mnist = config.crop == "pad" and config.dataset == "fashion_mnist"
    if image_spec(examples).shape[-3:] != (*EVALUATOR_SIZE, 1) and not padded_fashion_mnist:
        raise UserError("--eval-every uses the Fashion-MNIST evaluator: it needs 28x28 grayscale images "
                        "(or Fashion-MNIST padded with --crop pad)")


def fitted_examples(config):
    """(config, examples): the run's examples (load_examples; unpaired pairs for a translating recipe), at the size
    the recipe takes when the user chose none (`fitted_data`, e.g. Fashion-MNIST padded to 32×32 for SNGAN), with
    the config saying so."""
    unpaired = TRANSLATE in recipe_class(config.recipe).capabilities
    examples = load_examples(config, unpaired)
    fitted = recipe_class(config.recipe).fitted_data(tuple(image_spec(examples).shape))
    if fitted and config.image_size is None and config.crop == "none":  # the user chose no size: the recipe's
        if config.verbose:
            print(f"{config.recipe} takes {fitted['image_size']}x{fitted['image_size']} images: --image-size "
                  f"{fitted['image_size']} --crop {fitted['crop']} (pass --image-size to choose)", flush=True)
        config = dataclasses.replace(config, **fitted)
        examples = load_examples(config, unpaired)
    return config, examples


def train_in_directory(config, stop):
    os.makedirs(config.out, exist_ok=True)
    strategy = make_strategy(config.strategy)
    replicas = strategy.num_replicas_in_sync
    config = dataclasses.replace(config, jit_compile=use_xla(config.jit_compile, replicas, recipe_class(config.recipe),
                                                             cross_replica(strategy), previous_xla(config.out)))
    if config.batch_size % replicas:
        raise UserError(f"--batch-size {config.batch_size} is not divisible by the {replicas} replicas of the strategy")
    keras.utils.set_random_seed(config.seed)  # first: tf.data's shuffle order depends on the global seed too
    config, examples = fitted_examples(config)
    check_data(config, examples)
    shape = tuple(image_spec(examples).shape)
    path, path_choice = training_path(config, strategy, examples, shape)
    if path_choice:  # measured: the run starts as if nothing had been (the data's shuffle seeds were fixed when
        keras.utils.set_random_seed(config.seed)  # it was loaded; each iterator starts its own order)
    config = dataclasses.replace(config, jit_compile=path.xla, mixed_precision=path.mixed)
    set_mixed_precision(config.mixed_precision)  # before the networks are built: they take the policy then
    with strategy.scope():
        recipe = run_recipe(config, shape)
    chief = is_chief(strategy)
    warn_unsynchronized_batch_norm(recipe, replicas, config.verbose and chief)
    description = run_description(config, recipe)
    if chief:
        check_same_run(config.out, description, recipe.image_shape, config.data_dir, path_choice)
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
    if path_choice:
        monitor.provenance["sessions"][-1]["path"] = path_choice  # which path ran, and why
    callbacks = [monitor]
    if config.eval_every and chief:
        callbacks.append(PeriodicEvaluation(config.out, checkpoint, config.eval_every, config.eval_samples, config))
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(config.out, run_directory.LOGS), update_freq=config.log_every,
                                                     write_graph=False))
    batches = training_batches(examples, config.batch_size, recipe.real_batches_per_step, start_step)
    try:
        run_steps(recipe, strategy, batches, config.batch_size, callbacks, start_step, config.steps,
                  steps_per_epoch=min(config.log_every, config.steps), verbose=config.verbose, stop=stop)
    except KeyboardInterrupt:
        if task_name(strategy) is None or stop.agreed:  # a multi-worker save is collective: at a step all stopped at
            monitor.save(monitor.step, "interrupted")
        raise
    except (OSError, tf.errors.OpError) as error:
        if not disk_full(error):
            raise
        run_directory.remove_temporary_checkpoints(config.out)
        monitor.record_status("interrupted", "no space left on device")
        where = getattr(error, "filename", None) or os.path.join(config.out, run_directory.CHECKPOINTS)
        raise UserError(f"no space left on device while writing {where} (the run stopped at its last checkpoint, "
                        f"{manager.latest_checkpoint or 'none yet'}); free space and rerun the same command to "
                        "resume") from None
    if monitor.diverged:
        step, logs = monitor.diverged
        raise TrainingDiverged(
            f"training diverged at step {step} ({', '.join(f'{k}={v:.4g}' for k, v in logs.items())}); "
            f"the last good checkpoint ({manager.latest_checkpoint or 'none'}) is kept. "
            "Try a lower learning rate (--set lr=...) or a different seed.")
    monitor.write_samples(monitor.step)
    monitor.save(monitor.step, "completed")
    return monitor.state
