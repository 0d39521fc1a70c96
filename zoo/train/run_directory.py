"""The run directory of `gan-zoo train` (`out`): its layout, written and read only through this module.

  run.json           what was asked (recipe config, optimizer, data, batch, seed, dtype policy); a rerun must match
                     it. Also "data_record" (zoo.data.record), what the data is, written once with the run (runs
                     from before it was kept resolve it from "data"), and "training_path", the path and precision
                     measured for the run and why (absent when nothing was measured: both were forced or fixed)
  init_from_card.json  a run started `--init-from` a preset: that preset's card as it was when the run began
  train_state.json   the step reached, status, last logs and the resume history (rewritten atomically)
  losses.jsonl       {"step", loss: value} every --log-every steps (a rerun may repeat a step: the last wins)
  eval.jsonl         {"step", "fid", "kid", ...} every --eval-every steps
  checkpoints/       both networks, all optimizers, EMA, BN statistics and RNG state
  best/              the checkpoint with the best periodic FID, and best.json
  samples/           sample grids from a fixed latent batch (PNG), one per --sample-every steps
  logs/              TensorBoard scalars and images
  .lock              held by the process working in the directory (its pid): a second one is refused
Rerunning the same command resumes from the last checkpoint; the data order is a function of
(seed, step), so a resumed run sees the batches an uninterrupted run would.
"""
import glob
import inspect
import json
import os
import shutil
import sys
import time

import keras
import tensorflow as tf

import recipes
from zoo.data import record
from zoo.errors import UserError, first_line
from zoo.files import read_json, write_json


RUN_FILE, STATE_FILE, LOSSES_FILE, EVAL_FILE = "run.json", "train_state.json", "losses.jsonl", "eval.jsonl"
CHECKPOINTS, BEST, SAMPLES, LOGS = "checkpoints", "best", "samples", "logs"
BEST_FILE, BASE_CARD_FILE = "best.json", "init_from_card.json"
TRAINING_PATH_KEY = "training_path"  # run.json: the path measured for the run (zoo.train.autotune's record)
ENTRIES = (RUN_FILE, BASE_CARD_FILE, STATE_FILE, LOSSES_FILE, EVAL_FILE, CHECKPOINTS, BEST, SAMPLES, LOGS)


def sample_grid_path(out, step):
    return os.path.join(out, SAMPLES, f"step_{step:06d}.png")


def best_file(out):
    return os.path.join(out, BEST, BEST_FILE)


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


def with_constructor_defaults(previous, current):
    """A run.json from an older version lacks settings added since (e.g. DCGAN's `loss`): they had
    their default values, so fill those the current description has before comparing."""
    if previous.get("recipe") not in recipes.RECIPES or "recipe_config" not in previous:
        return previous
    cls = recipes.get_recipe(previous["recipe"])
    defaults = json.loads(json.dumps({name: p.default for name, p in cls.constructor_arguments().items()
                                      if p.default is not inspect.Parameter.empty}, default=str))
    added = {key: defaults[key] for key in current.get("recipe_config", {})
             if key in defaults and key not in previous["recipe_config"]}
    return {**previous, "recipe_config": cls.settled_defaults({**added, **previous["recipe_config"]})}


def check_same_run(out, description, image_shape=None, data_dir=None, path_choice=None):
    """Write run.json on the first run (and the card of the preset it starts from), with the record of its data
    for a generator of `image_shape` (zoo.data.record) and the training path measured for it (`path_choice`: path,
    why, seconds per step; its precision is the description's dtype_policy); on a rerun, refuse a different
    configuration (the records follow from it: not compared, so runs from before they were kept resume)."""
    path = os.path.join(out, RUN_FILE)
    if not os.path.exists(path):
        record_base_card(out, description.get("init_from"))
        data_record = {} if image_shape is None else {
            record.RECORD_KEY: record.resolve(description["data"], image_shape, data_dir).to_json()}
        measured = {TRAINING_PATH_KEY: path_choice} if path_choice else {}
        write_json(path, {**description, **data_record, **measured})
        return
    current = json.loads(json.dumps(description, default=str))
    previous = with_constructor_defaults(read_json(path), current)
    previous.pop(record.RECORD_KEY, None)
    previous.pop(TRAINING_PATH_KEY, None)
    changed = sorted(key for key in set(previous) | set(current) if previous.get(key) != current.get(key))
    if changed:
        raise UserError(f"{out} holds a run with a different configuration ({', '.join(changed)} changed); "
                        "rerun with the same arguments to resume, or choose a new --out")


def record_base_card(out, init_from):
    """Keep the card of the preset a run starts from as it is now: the preset may be replaced later (by this
    run's own make-preset --overwrite), and the run's history continues the one it started from. `init_from`: a
    preset's name or directory (the run has loaded it already)."""
    from zoo.presets import store

    if init_from:
        write_json(os.path.join(out, BASE_CARD_FILE), store.card(init_from))


def base_card(out):
    """The card `record_base_card` kept, or None (a run from scratch, or one that started before it was kept)."""
    path = os.path.join(out, BASE_CARD_FILE)
    return read_json(path) if os.path.exists(path) else None


def generator_step(recipe):
    """Generator steps taken so far (the step a run is at)."""
    return int(keras.ops.convert_to_numpy(recipe.optimizer.iterations))


def previous_best(out):
    path = best_file(out)
    return read_json(path) if os.path.exists(path) else None


def checkpoint_manager(recipe, out, chief, keep, task=None):
    """Checkpoints of both networks, all optimizers and the seed state in out/checkpoints. In
    multi-worker training every worker must save (saving is collective); a non-chief `task`
    ("worker-1") keeps only its latest copy in out/checkpoints/.worker_scratch/<task>."""
    checkpoint = tf.train.Checkpoint(recipe=recipe, seed_state=recipe.seed_generator.state,
                                     **recipe.player_optimizers)
    directory = os.path.join(out, CHECKPOINTS)
    if not chief:
        directory, keep = os.path.join(out, CHECKPOINTS, ".worker_scratch", task), 1
    return checkpoint, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)


def restore_latest(checkpoint, out):
    """Restore the newest checkpoint under out/checkpoints that reads back whole; return its path (None
    when there is none). One that does not (e.g. truncated by a kill or a full disk) is skipped with a
    note, and its files are copied to out/checkpoints/unreadable/ first: a later save at the same step
    would overwrite them."""
    directory = os.path.join(out, CHECKPOINTS)
    state = tf.train.get_checkpoint_state(directory)
    candidates = list(reversed(state.all_model_checkpoint_paths)) if state else []
    for path in candidates:
        try:
            checkpoint.read(path).assert_existing_objects_matched()
            return path
        except Exception as error:  # TensorFlow raises DataLossError, IndexError, ValueError, … for bad files
            kept = keep_unreadable(path, directory)
            reason = first_line(error)[:200]
            print(f"Skipped checkpoint {path}: it does not restore ({reason}); its files are kept in {kept}",
                  file=sys.stderr, flush=True)
    if candidates:
        raise UserError(f"No checkpoint in {directory} restores (tried {', '.join(map(os.path.basename, candidates))}); "
                        "their files are kept in its unreadable/ folder: start a new run with another --out")
    return None


def remove_temporary_checkpoints(out):
    """Remove the half-written parts of a checkpoint whose save failed (TensorFlow's `ckpt-N_temp/`)."""
    for path in glob.glob(os.path.join(out, CHECKPOINTS, "*_temp*")):
        shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)


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
    sessions recorded it, and runs whose train_state.json is gone but whose checkpoints are there, trained
    without, unless asked: a resumed run is never measured again)."""
    sessions = earlier_sessions(previous_state(out))
    if sessions:
        return bool(sessions[-1].get("xla", False))
    return False if tf.train.latest_checkpoint(os.path.join(out, CHECKPOINTS)) else None


def previous_mixed_precision(out):
    """Whether the run in `out` trains in mixed precision (its run.json's dtype policy; None for a new run): a
    resumed run keeps the precision it started with."""
    path = os.path.join(out, RUN_FILE)
    if not os.path.exists(path):
        return None
    return read_json(path).get("dtype_policy", "float32") != "float32"


def previous_state(out):
    """train_state.json of an earlier run in `out`, or None."""
    path = os.path.join(out, STATE_FILE)
    return read_json(path) if os.path.exists(path) else None


def require_run(out):
    """The run.json of run directory `out`, or a one-line UserError saying what else is accepted."""
    path = os.path.join(out, RUN_FILE)
    if not os.path.exists(path):
        raise UserError(f"{out} is not a training run directory (no run.json); pass a run directory of "
                        "`gan-zoo train`, a preset name or directory, a SavedModel directory or a .keras file")
    return path


def recipe_from_run(out, checkpoint="latest"):
    """The recipe of a `gan-zoo train` run, with the weights of its latest checkpoint."""
    description = read_json(require_run(out))
    recipe = recipes.get_recipe(description["recipe"])(**description["recipe_config"])
    path = tf.train.latest_checkpoint(os.path.join(out, CHECKPOINTS)) if checkpoint == "latest" else checkpoint
    if path is None:
        raise UserError(f"{out} has no checkpoint yet; train longer or pass another run")
    tf.train.Checkpoint(recipe=recipe).read(path).expect_partial()
    return recipe, {"kind": "run", "run": os.path.abspath(out), "checkpoint": path,
                    "recipe": description["recipe"], "recipe_config": description["recipe_config"],
                    "data": description.get("data", {}),
                    record.RECORD_KEY: record.from_description(description, recipe.image_shape).to_json()}


def read_steps(path):
    """Rows of a {"step": ...} JSON-lines log, one per step (a resumed run may repeat one: the last wins)."""
    if not os.path.exists(path):
        return []
    rows = {}
    with open(path) as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                rows[row["step"]] = row
    return [rows[step] for step in sorted(rows)]
