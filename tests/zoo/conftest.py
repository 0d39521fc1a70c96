"""Fixtures shared by the zoo tests: the shipped evaluator and a tiny folder of images to train on."""
import os

import numpy as np
import pytest
from PIL import Image

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
