"""benchmarks/profile_step.py's trace parser on a real profiler trace of a tiny Keras model's `fit`, built so each
part of the step is known to be there: the input pipeline sleeps 60 ms per batch (the step must wait for it),
a callback sleeps 20 ms after each step (Python outside the tf.function, while the next batch is made), and
the model multiplies matrices."""
import importlib.util
import os
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "profile_step.py")
INPUT_SLEEP, CALLBACK_SLEEP = 0.06, 0.02


def profile_step_module():
    spec = importlib.util.spec_from_file_location("profile_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class SleepAfterStep(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(CALLBACK_SLEEP)


def slow_batches():
    """Batches of 32 × 64 features that take INPUT_SLEEP each to produce; the producer is ~3× slower than the
    step, so whatever tf.data prefetches is used up in the warm-up steps."""
    def slow(x):
        time.sleep(INPUT_SLEEP)
        return x

    rng = np.random.default_rng(0)
    features = rng.normal(size=(256, 64)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((features, features[:, :8])).repeat().batch(32)
    return data.map(lambda x, y: (tf.ensure_shape(tf.numpy_function(slow, [x], tf.float32, stateful=True), x.shape), y))


def test_breakdown_adds_up_to_the_wall_time_on_a_real_trace(tmp_path):
    profile_step = profile_step_module()
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(8)])
    model.compile("adam", "mse", jit_compile=False)
    profile = profile_step.ProfileSteps(str(tmp_path), warmup=3, timed=0, profiled=2)
    model.fit(slow_batches(), steps_per_epoch=profile.steps_needed, epochs=1, verbose=0,
              callbacks=[SleepAfterStep(), profile])

    steps = profile_step.step_times(profile_step.load_xspace(str(tmp_path)))

    assert [step.step for step in steps] == [0, 1]
    for step in steps:
        parts = {"compute": step.compute, "input wait": step.input_wait, "runtime gaps": step.runtime_gaps,
                 "Python": step.python}
        assert all(value >= 0 for value in [*parts.values(), *step.ops.values(), *step.scopes.values()]), parts
        assert sum(parts.values()) == pytest.approx(step.wall, abs=1e-6), parts
        assert step.compute == pytest.approx(sum(step.scopes.values()), abs=1e-6)
        assert step.op_thread_ms >= step.compute - 1e-6  # k ops at once: k × the time in thread time, once in compute
        assert step.wall >= INPUT_SLEEP * 1e3 * 0.9, parts  # a step per batch: the producer sets the pace
        # the next batch is being made while the callback sleeps: the step waits for the rest
        assert step.input_wait >= (INPUT_SLEEP - CALLBACK_SLEEP) * 1e3 * 0.5, parts
        assert step.python >= CALLBACK_SLEEP * 1e3 * 0.9, parts  # the callback's sleep, outside the tf.function
        assert any("MatMul" in name for name in step.ops), step.ops
    table = profile_step.step_table(steps)
    assert table.count("\n") == 2 + len(steps)  # header, rule, a row per step and the mean
