"""Image helpers: [-1, 1] floats ↔ uint8, sample grids, PNG and GIF files, reading a user's picture."""
import math
import os

import numpy as np

from zoo.errors import UserError
from zoo.files import write_atomically


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


def save_gif(path, frames, milliseconds=80):
    """Write uint8 frames [N, H, W, C] (C 1 or 3) to `path` as a looping GIF animation, atomically."""
    import io

    from PIL import Image

    frames = np.asarray(frames, np.uint8)
    pictures = [Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame) for frame in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=milliseconds, loop=0)
    os.makedirs(os.path.dirname(os.path.abspath(os.fspath(path))), exist_ok=True)
    return write_atomically(os.fspath(path), buffer.getvalue())


def encode_png(image):
    """uint8 [H, W, C] (C in 1, 3, 4) → PNG bytes."""
    import tensorflow as tf

    return tf.io.encode_png(np.asarray(image, np.uint8)).numpy()


def save_png(path, image):
    """Write uint8 [H, W, C] (C in 1, 3, 4) to `path` as PNG, atomically (temp file + rename)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return write_atomically(path, encode_png(image))


def read_image(path, channels, size=None, name=None):
    """A picture file (PNG, JPEG, ...; a path or a binary file object, called `name` in errors) as uint8
    [H, W, channels] (1: luminance, 3: RGB), resized bilinearly to `size` (h, w) when given and different;
    a file that is not an image is a UserError."""
    from PIL import Image, UnidentifiedImageError

    name = name or path

    try:
        with Image.open(path) as picture:
            picture = picture.convert("L" if channels == 1 else "RGB")
            if size is not None and picture.size != (size[1], size[0]):
                picture = picture.resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(picture, np.uint8)
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except (UnidentifiedImageError, OSError) as error:
        reason = str(error).split(" (")[0] if isinstance(error, UnidentifiedImageError) else str(error)
        raise UserError(f"{name} is not an image PIL can read ({reason}); pass a PNG or JPEG file") from None
    return array[..., None] if channels == 1 else array
