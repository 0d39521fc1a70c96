"""Tiny `gan-zoo train` runs the recipes' CLI tests share: train, stop, resume; sample and serve with labels."""
import numpy as np

from zoo import cli
from zoo.files import read_json


def train_then_resume(recipe, dataset, settings, run):
    """`gan-zoo train RECIPE` on `dataset` (batch 8, a checkpoint and a grid every 2 steps) for 2 steps, then the
    same command to 3 steps, which resumes from the step-2 checkpoint. `settings`: {key: value} for --set.
    Returns the run's final train_state.json, after checking its two sessions and finite logs."""
    options = [part for key, value in settings.items() for part in ("--set", f"{key}={value}")]

    def train(steps):
        return cli.main(["train", recipe, "--dataset", dataset, *options, "--steps", str(steps), "--batch-size", "8",
                         "--checkpoint-every", "2", "--sample-every", "2", "--log-every", "1", "--out", run, "--quiet"])

    assert train(2) == 0 and train(3) == 0
    state = read_json(f"{run}/train_state.json")
    assert state["step"] == 3 and [(s["from_step"], s["to_step"]) for s in state["sessions"]] == [(0, 2), (2, 3)]
    assert all(np.isfinite(value) for value in state["logs"].values())
    assert {key: read_json(f"{run}/run.json")["recipe_config"][key] for key in settings} == settings
    return state


def samples_and_serves_with_labels(run, models):
    """The run's generator (`load_generator`, two classes, 8×8 images) samples uint8 images for labels, and its
    SavedModel export (written under `models`) has a `sample` signature of seeds and labels: one seed with two
    labels gives two images, each the Keras generator's (but for rounding at .5: ±1). Returns the generator."""
    import tensorflow as tf

    from hub_export.saved_model import export_serving
    from zoo.presets.pretrained import load_generator

    generator, _ = load_generator(run)
    assert generator.conditional and generator.num_classes == 2
    images = np.asarray(generator.sample(2, seed=0, labels=[0, 1]))
    assert images.shape == (2, 8, 8, 1) and images.dtype == np.uint8
    sample = tf.saved_model.load(export_serving(generator, models)).signatures["sample"]
    assert set(sample.structured_input_signature[1]) == {"seed", "labels"}
    served = sample(seed=tf.constant([3, 3, 7], tf.int64), labels=tf.constant([0, 1, 1], tf.int32))["images"].numpy()
    assert np.abs(served.astype(int) - generator.sample_seeds([3, 3, 7], labels=[0, 1, 1])).max() <= 1
    assert not np.array_equal(served[0], served[1])
    return generator
