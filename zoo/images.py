"""Image helpers: [-1, 1] floats ↔ uint8, sample grids, PNG files."""
import math
import os

import numpy as np


def to_uint8(images):
    """[-1, 1] floats → uint8 in [0, 255] (rounded, clipped)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding=2):
    """uint8 [N, H, W, C] → one uint8 [rows·(H+p)+p, cols·(W+p)+p, C] image on a black background."""
    images = np.asarray(images)
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels), images.dtype)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_png(path, image):
    """Write uint8 [H, W, C] (C in 1, 3, 4) to `path` as PNG, atomically (temp file + rename)."""
    import tensorflow as tf

    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(tf.io.encode_png(np.asarray(image, np.uint8)).numpy())
    os.replace(temporary, path)
    return path
