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


MAX_GRID_IMAGES = 10000  # images in one grid PNG (100 × 100)


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


MAX_IMAGE_PIXELS = 2**24  # pixels of a picture read whole (16.8 megapixels: a 4096×4096 photo, 64 MiB as RGBA);
# every model here works at 128 px or less, and a larger file is a decompression bomb or a waste of memory


def open_image(path, name=None):
    """The PIL image of a picture file (a path or a binary file object, called `name` in errors), not decoded
    yet: its header is read and its size checked first (at most MAX_IMAGE_PIXELS). A missing path, a path that
    is not a regular file (a FIFO would block), or a file PIL cannot identify is a one-line UserError."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    name = name or path
    if isinstance(path, (str, bytes, os.PathLike)) and not os.path.isfile(path):
        raise UserError(f"{name} is not a regular file; pass a PNG or JPEG file" if os.path.exists(path)
                        else f"{name}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UserError(f"{name} is too large to open ({str(error).split(',')[0]}); at most {MAX_IMAGE_PIXELS} "
                        "pixels (4096×4096) are read: shrink it first") from None
    except (UnidentifiedImageError, OSError) as error:
        reason = str(error).split(" (")[0] if isinstance(error, UnidentifiedImageError) else str(error)
        raise UserError(f"{name} is not an image PIL can read ({reason}); pass a PNG or JPEG file") from None
    width, height = picture.size
    if width * height > MAX_IMAGE_PIXELS:
        picture.close()
        raise UserError(f"{name} is too large to open ({width}×{height} = {width * height} pixels); at most "
                        f"{MAX_IMAGE_PIXELS} pixels (4096×4096) are read: shrink it first")
    return picture


def eight_bit(picture):
    """16-bit grayscale (PIL modes I;16*, and I as PIL opens 16-bit PNGs) scaled to 8-bit L (x / 257); other modes
    as they are (PIL's convert("L") would clip 16-bit values above 255 to white)."""
    from PIL import Image

    if not (picture.mode.startswith("I;16") or picture.mode == "I"):
        return picture
    array = np.asarray(picture).astype(np.float64) / 257.0
    return Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8), "L")


def read_image(path, channels, size=None, name=None):
    """A picture file (PNG, JPEG, ...; a path or a binary file object, called `name` in errors; see
    `open_image`) as uint8 [H, W, channels] (1: luminance, 3: RGB; 16-bit pictures scaled, not clipped),
    resized bilinearly to `size` (h, w) when given and different; a file that is not an image is a UserError."""
    from PIL import Image

    name = name or path
    try:
        with open_image(path, name) as picture:
            picture = eight_bit(picture).convert("L" if channels == 1 else "RGB")
            if size is not None and picture.size != (size[1], size[0]):
                picture = picture.resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(picture, np.uint8)
    except (OSError, SyntaxError) as error:  # decoding a truncated or corrupt file
        raise UserError(f"{name} is not an image PIL can read ({error}); pass a PNG or JPEG file") from None
    return array[..., None] if channels == 1 else array
