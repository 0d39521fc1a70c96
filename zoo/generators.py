"""Load a trained generator from a training run directory or a `.keras` file, and sample it
reproducibly in chunks."""
import os

import keras
import numpy as np
import tensorflow as tf

import recipes
from zoo.errors import UserError
from zoo.files import read_json


def recipe_from_run(out, checkpoint="latest"):
    """The recipe of a `gan-zoo train` run, with the weights of its latest checkpoint."""
    description_path = os.path.join(out, "run.json")
    if not os.path.exists(description_path):
        raise UserError(f"{out} is not a training run directory (no run.json); pass a run directory of "
                        "`gan-zoo train` or a .keras file")
    description = read_json(description_path)
    recipe = recipes.get_recipe(description["recipe"])(**description["recipe_config"])
    path = tf.train.latest_checkpoint(os.path.join(out, "checkpoints")) if checkpoint == "latest" else checkpoint
    if path is None:
        raise UserError(f"{out} has no checkpoint yet; train longer or pass another run")
    tf.train.Checkpoint(recipe=recipe).read(path).expect_partial()
    return recipe, {"kind": "run", "run": os.path.abspath(out), "checkpoint": path,
                    "recipe": description["recipe"], "recipe_config": description["recipe_config"]}


def untrained_like(recipe):
    """A freshly initialised recipe with the same configuration (the "untrained generator" baseline)."""
    return type(recipe).from_config(recipe.get_config())


def load_target(target):
    """(recipe, description) for a run directory or a .keras file of a recipe."""
    if os.path.isdir(target):
        return recipe_from_run(target)
    if target.endswith(".keras") and os.path.isfile(target):
        model = keras.models.load_model(target, compile=False)
        if not isinstance(model, recipes.GAN):
            raise UserError(f"{target} holds a {type(model).__name__}, not a GAN Zoo recipe")
        return model, {"kind": "keras_file", "path": os.path.abspath(target), "recipe_config": model.get_config()}
    raise UserError(f"Cannot evaluate {target!r}: pass a `gan-zoo train` run directory or a .keras file of a recipe")


def latent_chunk(latent_dim, seed, start, count):
    """z for samples [start, start + count) of sampling seed `seed`: independent of the chunking
    only at equal chunk boundaries, reproducible always."""
    return np.random.default_rng((seed, start)).standard_normal((count, latent_dim)).astype(np.float32)


def balanced_labels(start, count, num_classes):
    """Conditioning labels of samples [start, start + count): the classes in turn (balanced)."""
    return ((start + np.arange(count)) % num_classes).astype(np.int32)


def sampler(recipe):
    """sample_fn(seed) -> (start, count) -> images in [-1, 1], from the recipe's sampling generator;
    conditional recipes cycle through the classes (balanced labels)."""
    generator = recipe.sampling_generator
    generate = tf.function(lambda inputs: generator(inputs, training=False))

    def for_seed(seed):
        def chunk(start, count):
            z = latent_chunk(recipe.latent_dim, seed, start, count)
            if recipe.conditional:
                return np.asarray(generate([z, balanced_labels(start, count, recipe.num_classes)]))
            return np.asarray(generate(z))

        return chunk

    return for_seed
