"""Fixtures shared by the zoo tests: the shipped evaluator, a tiny folder of images to train on, and a tiny
trained CycleGAN run."""
import os

import numpy as np
import pytest
from PIL import Image

from shared_runs import TINY_CYCLEGAN, shared_directory, trained_once
from zoo.metrics import features


@pytest.fixture(scope="session")
def evaluator_features():
    return features.fashion_mnist_evaluator()


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    """Two classes of 24 random 8×8 grayscale PNGs, one subfolder per class."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        os.makedirs(root / label)
        for index in range(24):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / label / f"{index}.png")
    return str(root)


@pytest.fixture(scope="session")
def cyclegan_run(tmp_path_factory):
    """A 2-step TINY_CYCLEGAN run on the default Fashion-MNIST domains (sneaker ↔ ankle boot), batch 4, a grid
    at step 2; trained once per test session (tracing CycleGAN's step takes ~20 s). Tests only read it."""
    from zoo.train.config import TrainConfig

    run = shared_directory(tmp_path_factory, "runs") / "cyclegan"
    return trained_once(run, TrainConfig(recipe="cyclegan", out=str(run), steps=2, batch_size=4,
                                         recipe_args=TINY_CYCLEGAN, sample_every=2, verbose=0))
