"""What happens between steps: NaN guard, samples, checkpoints and train_state.json (`TrainingMonitor`),
periodic FID/KID with the best checkpoint kept (`PeriodicEvaluation`)."""
import json
import math
import os
import time

import keras
import tensorflow as tf

from zoo.files import read_json, write_json
from zoo.images import make_grid, save_png, to_uint8
from zoo.progress import elapsed_and_left
from zoo.train import run_directory
from zoo.train.run_directory import generator_step, previous_best, session_provenance


EVALUATOR_SIZE = (28, 28)  # the Fashion-MNIST evaluator's input (periodic FID)


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
        logs = os.path.join(out, run_directory.LOGS, "samples")
        self.image_writer = tf.summary.create_file_writer(logs) if chief else None

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
            with open(os.path.join(self.out, run_directory.LOSSES_FILE), "a") as handle:
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
        save_png(run_directory.sample_grid_path(self.out, step), grid)
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
            write_json(os.path.join(self.out, run_directory.STATE_FILE), self.state)

    def record_status(self, status, reason):
        """Rewrite train_state.json's status (the step and checkpoint of the last save stay), if it can be
        written (on a full disk it may not)."""
        state = getattr(self, "state", None) or run_directory.previous_state(self.out)
        if not (self.chief and state):
            return
        self.state = {**state, "status": status, "stopped_by": reason, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            write_json(os.path.join(self.out, run_directory.STATE_FILE), self.state)
        except OSError:
            pass


class PeriodicEvaluation(keras.callbacks.Callback):
    """Every `every` steps: FID and KID of `num_samples` samples (sampling seed 0) against the
    reference split's evaluator features, logged to TensorBoard (eval/fid, eval/kid) and
    out/eval.jsonl; the checkpoint with the best FID so far is kept in out/best/."""

    def __init__(self, out, checkpoint, every, num_samples, config):
        from zoo.metrics import features

        super().__init__()
        self.out, self.checkpoint, self.every, self.num_samples = out, checkpoint, every, num_samples
        self.extractor, self.data_dir = features.fashion_mnist_evaluator(), config.data_dir
        self.writer = tf.summary.create_file_writer(os.path.join(out, run_directory.LOGS, "eval"))
        self.best = previous_best(out)

    def on_train_begin(self, logs=None):
        """The run's own data (its data record) as the reference, in the frame its samples are scored in."""
        from zoo.data import record
        from zoo.eval import scoring
        from zoo.sampling import sampler

        description = read_json(os.path.join(self.out, run_directory.RUN_FILE))
        data = record.from_description(description, self.model.image_shape, self.data_dir)
        frame, load = scoring.real_frame(data)
        self.reference, _ = scoring.reference_features(self.extractor, data.dataset, scoring.reference_split(data),
                                                       500, self.data_dir, **load)
        self.sample = frame(sampler(self.model))(0)

    def on_train_batch_end(self, batch, logs=None):
        from zoo.eval import metric_registry, scoring

        step = generator_step(self.model)
        if step % self.every:
            return
        generated = scoring.extract_features(
            self.extractor, scoring.generated_batches(self.sample, self.num_samples, 500))
        result = metric_registry.compute_metrics(generated, self.reference, ("fid", "kid"))
        with self.writer.as_default():
            for name in ("fid", "kid"):
                tf.summary.scalar(f"eval/{name}", result[name], step=step)
        with open(os.path.join(self.out, run_directory.EVAL_FILE), "a") as handle:
            handle.write(json.dumps({"step": step, "num_samples": self.num_samples, **result}) + "\n")
        if self.best is None or result["fid"] < self.best["fid"]:
            self.best = {"step": step, "fid": result["fid"]}
            path = self.checkpoint.write(os.path.join(self.out, run_directory.BEST, "ckpt"))
            write_json(run_directory.best_file(self.out), {**self.best, "checkpoint": path})


class StepProgress(keras.callbacks.Callback):
    """Progress counted in the run's steps (not Keras's epochs): a line "step 300/1000 - 41 s (about 96 s left)
    - d_loss: 1.2345 - g_loss: 0.8765" at the end of each log window; on a terminal (`live`) the line is
    also rewritten in place after every step."""

    def __init__(self, start_step, total_steps, live=False):
        super().__init__()
        self.start_step, self.step, self.total_steps, self.live = start_step, start_step, total_steps, live
        self.started = time.monotonic()

    def line(self, logs):
        timing = elapsed_and_left(time.monotonic() - self.started, max(1, self.step - self.start_step),
                                  self.total_steps - self.step)
        values = "".join(f" - {name}: {float(value):.4f}" for name, value in (logs or {}).items())
        return f"step {self.step}/{self.total_steps} - {timing}{values}"

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.live:
            print("\r" + self.line(logs), end="", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        print(("\r" if self.live else "") + self.line(logs), flush=True)
