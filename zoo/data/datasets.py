"""Image datasets as tf.data pipelines of float32 NHWC images in [-1, 1].

`load` reads Fashion-MNIST from the IDX files of the Debian package
dataset-fashion-mnist (offline), a folder of PNG/JPEG images, or any
tensorflow-datasets (tfds) image dataset; "triangles" is the synthetic gray-triangles
benchmark of zoo.data.triangles, generated in-process. Elements are `(image, label)` when
the dataset has labels (label int32), else just the image. "ring8" and "grid25" are the 2-D mixtures of
zoo.data.points: points, not images (each a float32 [1, 1, 2] tensor, no labels, no image options).
"""

import dataclasses
import gzip
import os
import re
import zlib
from typing import Callable, Optional

import numpy as np
import tensorflow as tf
from PIL import Image

from zoo import checks
from zoo.data import points, triangles
from zoo.errors import UserError, first_line
from zoo.files import entries, remove_new_entries

KNOWN_DATASETS = {
    "fashion_mnist": "Fashion-MNIST: 28x28 grayscale clothing, 10 classes "
    "(offline from dataset-fashion-mnist IDX files, else tfds)",
    "triangles": "gray triangles of Lucic et al. 2018: 28x28 grayscale, no labels (generated in-process)",
    **{name: f"2-D points: {len(m.centres)} Gaussians of sigma {m.sigma} ({m.paper}), no labels (zoo.data.points)"
       for name, m in points.MIXTURES.items()},
}
FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat",
                         "sandal", "shirt", "sneaker", "bag", "ankle boot")
IDX_SEARCH_PATHS = ("/usr/share/datasets/fashion-mnist",)  # Debian package dataset-fashion-mnist

SOURCES = ("auto", "idx", "tfds", "folder")
CROPS = ("none", "center", "random", "pad")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
IDX_SPLITS = {"train": "train", "test": "t10k"}
TFDS_SHUFFLE_BUFFER = 10000

_IDX_CACHE = {}  # (absolute path, mtime) -> parsed numpy array


def _decoded(image):
    """The `decode` of sources whose elements are uint8 images already."""
    return image


@dataclasses.dataclass
class _Raw:
    """A source before preprocessing: elements (encoded or uint8 image, int32 label)."""

    ds: tf.data.Dataset
    decode: Callable  # element image -> uint8 (H, W, C) tensor
    labelled: bool
    class_names: Optional[tuple]
    num_classes: Optional[int]
    shuffle_buffer: int
    min_size: Optional[tuple] = None  # smallest (h, w) when known up front
    sizes_vary: bool = False  # the images differ in size (a folder's; tfds's without a static size)


def load(name, split="train", *, data_dir=None, source="auto", image_size=None,
         channels=None, crop="none", classes=None, batch_size=None, shuffle=False,
         seed=None, repeat=False, drop_remainder=True, prefetch=True):
    """Return a tf.data.Dataset of float32 images in [-1, 1] (with int32 labels if any); for a 2-D mixture
    (zoo.data.points) float32 points, and `shuffle` does nothing (its points are independent draws)."""
    if str(name) in points.MIXTURES and not os.path.isdir(str(name)):
        _check_point_options(name, source, image_size, channels, crop, classes)
        return points.load(str(name), split, batch_size=batch_size, seed=seed, repeat=repeat,
                           drop_remainder=drop_remainder, prefetch=prefetch)
    size = checks.image_size(image_size)
    _check_options(source, channels, crop, size)
    raw = _open_source(str(name), split, data_dir, source, size)
    if crop == "random":
        _check_crop_fits(raw.min_size, size, name)
    if crop == "pad" and raw.min_size and (raw.min_size[0] > size[0] or raw.min_size[1] > size[1]):
        raise UserError(f"crop='pad' cannot pad {name}'s {raw.min_size[0]}x{raw.min_size[1]} images to the smaller "
                        f"{size[0]}x{size[1]}; pass a larger image_size or crop='center'")
    ds = raw.ds
    if classes is not None:
        ds = _filter_classes(ds, raw, classes, name)
    if shuffle:
        ds = _shuffle(ds, raw.shuffle_buffer, seed, repeat)
    elif repeat:
        ds = ds.repeat()
    ds = _preprocess(ds, raw.decode, channels, crop, size, seed)
    if not raw.labelled:
        ds = ds.map(lambda image, label: image)
    _check_static_shape(ds, name)
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


NATIVE_SIZES = {"fashion_mnist": (28, 28), "triangles": (triangles.SIZE, triangles.SIZE),  # known without reading
                **{name: points.POINT_SHAPE[:2] for name in points.MIXTURES}}


def describe(name, split="train", *, data_dir=None, image_size=None):
    """(native, class_names) of a dataset's split, read from its source without a pipeline: `native` the (h, w)
    of its own images (None when they differ in size), `class_names` a tuple (None: no labels or no names).
    `image_size`: the size a run resizes to (a folder of mixed sizes needs one). Fashion-MNIST and the triangles
    are known without reading them."""
    if name in NATIVE_SIZES and not os.path.isdir(str(name)):
        return NATIVE_SIZES[name], FASHION_MNIST_CLASSES if name == "fashion_mnist" else None
    raw = _open_source(str(name), split, data_dir, "auto", checks.image_size(image_size))
    native = None if raw.sizes_vary or not raw.min_size else tuple(int(side) for side in raw.min_size)
    return native, (tuple(raw.class_names) if raw.class_names else None)


def _shuffle(ds, buffer, seed, repeat):
    """Shuffle (and repeat) so that every iterator over the result yields the same order:
    the shuffle is built inside `flat_map`, so each iterator gets a fresh shuffle state,
    where a plain `reshuffle_each_iteration` would make the order depend on how many
    iterators were made before (Keras and tf.distribute create iterators of their own).
    Epochs still differ from each other. As for every tf.data seed, the global seed enters
    too: fix it first (`keras.utils.set_random_seed`, as zoo.train does). Without a
    seed, every iteration is shuffled anew."""
    if seed is None:
        ds = ds.shuffle(buffer, reshuffle_each_iteration=True)
        return ds.repeat() if repeat else ds

    def shuffled(_):
        epochs = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        return epochs.repeat() if repeat else epochs

    return tf.data.Dataset.range(1).flat_map(shuffled)


# ---------------------------------------------------------------- options

def _check_point_options(name, source, image_size, channels, crop, classes):
    """A 2-D mixture takes none of the image options."""
    given = {key: value for key, value in (("source", None if source == "auto" else source),
                                            ("image_size", image_size), ("channels", channels),
                                            ("crop", None if crop == "none" else crop), ("classes", classes))
             if value is not None}
    if given:
        raise UserError(f"{name} is a dataset of 2-D points: it takes no {', '.join(given)} "
                        f"(received {', '.join(f'{key}={value!r}' for key, value in given.items())})")


def _check_options(source, channels, crop, size):
    """Reject bad source / channels / crop values early."""
    if source not in SOURCES:
        raise UserError(f"unknown source {source!r}; accepted: {', '.join(SOURCES)}")
    if channels not in (None, 1, 3):
        raise UserError(f"channels={channels!r} is invalid; accepted: 1 (grayscale) or 3 (RGB)")
    if crop not in CROPS:
        raise UserError(f"unknown crop {crop!r}; accepted: {', '.join(CROPS)}")
    if crop != "none" and size is None:
        raise UserError(f"crop={crop!r} needs image_size; pass image_size=... (CLI: --image-size)")


def _check_crop_fits(min_size, size, name):
    """crop='random' cannot crop bigger than the smallest image (when known up front)."""
    if min_size and (size[0] > min_size[0] or size[1] > min_size[1]):
        raise UserError(f"crop='random' needs images at least {size[0]}x{size[1]} but {name} has "
                        f"{min_size[0]}x{min_size[1]} images; pass a smaller image_size or crop='none'")


def _open_source(name, split, data_dir, source, size):
    """Pick the source for `name` and open it."""
    if source == "folder" or (source == "auto" and os.path.isdir(name)):
        if not os.path.isdir(name):
            raise UserError(f"source='folder' but {name!r} is not a directory; pass a folder of images")
        return _folder_source(name, split, size)
    if source == "idx":
        if name != "fashion_mnist":
            raise UserError(f"source='idx' only supports fashion_mnist, not {name!r}; "
                            "use source='auto' or 'tfds'")
        return _idx_source(split, data_dir)
    if source == "auto" and name == "triangles":
        return _triangles_source(split)
    if source == "auto" and name == "fashion_mnist":
        if split not in IDX_SPLITS or _find_idx_files(split, data_dir):
            return _idx_source(split, data_dir)  # also reports a bad split
    return _tfds_source(name, split, data_dir)


# ---------------------------------------------------------------- IDX (Fashion-MNIST)

def check_data_dir(data_dir):
    """Refuse a `data_dir` that is not a directory (else the system's copy would be read, silently)."""
    if data_dir and not os.path.isdir(data_dir):
        raise UserError(f"data_dir {data_dir} is not a directory; pass the directory that holds the dataset's files "
                        "(CLI: --data-dir)")


def _idx_dirs(data_dir):
    check_data_dir(data_dir)
    return ([data_dir] if data_dir else []) + list(IDX_SEARCH_PATHS)


def _find_idx_file(directory, filename):
    for candidate in (filename + ".gz", filename):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _find_idx_files(split, data_dir):
    """Return (images_path, labels_path) from the first directory holding both, else None."""
    prefix = IDX_SPLITS[split]
    for directory in _idx_dirs(data_dir):
        images = _find_idx_file(directory, f"{prefix}-images-idx3-ubyte")
        labels = _find_idx_file(directory, f"{prefix}-labels-idx1-ubyte")
        if images and labels:
            return images, labels
    return None


def _read_idx(path, magic, ndim):
    """Parse an IDX file (optionally gzipped) into a uint8 array; cached per path and mtime."""
    key = (os.path.abspath(path), os.path.getmtime(path))
    if key not in _IDX_CACHE:
        _IDX_CACHE[key] = _parse_idx(path, magic, ndim)
    return _IDX_CACHE[key]


def _parse_idx(path, magic, ndim):
    def corrupt(reason):
        return UserError(f"{path}: corrupt or not an IDX file ({reason}); "
                         "reinstall dataset-fashion-mnist or replace the file")

    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise corrupt(f"cannot read: {error}") from None
    header = 4 + 4 * ndim
    if len(data) < header:
        raise corrupt("file too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise corrupt(f"magic 0x{found:08x}, expected 0x{magic:08x}")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    if len(data) - header != int(np.prod(dims)):
        raise corrupt(f"payload has {len(data) - header} bytes, header dims {dims} need {int(np.prod(dims))}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def _idx_source(split, data_dir):
    if split not in IDX_SPLITS:
        raise UserError(f"unknown split {split!r} for fashion_mnist; accepted: {', '.join(IDX_SPLITS)}")
    paths = _find_idx_files(split, data_dir)
    if paths is None:
        prefix = IDX_SPLITS[split]
        searched = ", ".join(_idx_dirs(data_dir))
        raise UserError(f"Fashion-MNIST IDX files not found in {searched}; install them "
                        "with `apt-get install -y dataset-fashion-mnist` or pass data_dir=DIR holding "
                        f"{prefix}-images-idx3-ubyte.gz and {prefix}-labels-idx1-ubyte.gz")
    images = _read_idx(paths[0], 0x00000803, 3)
    labels = _read_idx(paths[1], 0x00000801, 1)
    if len(images) != len(labels):
        raise UserError(f"{paths[1]}: corrupt or not an IDX file ({len(labels)} labels but "
                        f"{len(images)} images in {paths[0]}); reinstall dataset-fashion-mnist")
    ds = tf.data.Dataset.from_tensor_slices((images[..., np.newaxis], labels.astype(np.int32)))
    return _Raw(ds, _decoded, True, FASHION_MNIST_CLASSES, len(FASHION_MNIST_CLASSES),
                shuffle_buffer=max(len(images), 1), min_size=images.shape[1:3])


def _triangles_source(split):
    images = triangles.triangle_images(split)  # also reports a bad split
    ds = tf.data.Dataset.from_tensor_slices((images, np.full(len(images), -1, np.int32)))
    return _Raw(ds, _decoded, False, None, None, shuffle_buffer=len(images), min_size=images.shape[1:3])


# ---------------------------------------------------------------- folder of images

def _list_images(directory):
    """Sorted paths (bytes: names need not be UTF-8) of the image files directly inside `directory`."""
    directory = os.fsencode(directory)
    extensions = tuple(os.fsencode(extension) for extension in IMAGE_EXTENSIONS)
    names = sorted(n for n in os.listdir(directory) if n.lower().endswith(extensions))
    return [os.path.join(directory, n) for n in names if os.path.isfile(os.path.join(directory, n))]


def _split_folder(root, split):
    """The folder for `split`: ROOT/split if it exists, else ROOT itself for 'train'."""
    candidate = os.path.join(root, split)
    if os.path.isdir(candidate):
        return candidate
    if split == "train":
        return root
    raise UserError(f"folder {root} has no subfolder {split!r}; for folders pass split='train' "
                    "(all images) or the name of a subfolder")


def _folder_files(directory):
    """(files, labels, class_names): images in `directory`, else one class per subfolder."""
    files = _list_images(directory)
    if files:
        return files, [-1] * len(files), None
    subfolders = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    class_names = [d for d in subfolders if _list_images(os.path.join(directory, d))]
    labels = []
    for index, class_name in enumerate(class_names):
        class_files = _list_images(os.path.join(directory, class_name))
        files += class_files
        labels += [index] * len(class_files)
    return files, labels, tuple(class_names)


GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L")  # PIL modes of grayscale pictures


def _read_headers(files):
    """Image sizes as (h, w), and the channels to decode them with: 1 when every image is grayscale, else 3
    (TensorFlow's JPEG decoder gives CMYK only as RGB; colour images of a mostly gray folder are converted
    after decoding). Every file is decoded here, by PIL and by TensorFlow (which training uses: a PNG without its
    end passes PIL), so a truncated, corrupt or oversized one (see zoo.images.open_image) is named now rather
    than failing training later."""
    from zoo.images import open_image

    sizes, gray = [], True
    for path in files:
        name = os.fsdecode(path)
        try:
            with open_image(path, name) as image:
                width, height = image.size
                gray = gray and image.mode in GRAY_MODES
                image.load()
            tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except (OSError, SyntaxError, tf.errors.InvalidArgumentError) as error:
            reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*", "", first_line(error))  # TensorFlow's op names
            raise UserError(f"cannot read image {name} ({reason}); remove it or replace it with a valid "
                            f"{'/'.join(IMAGE_EXTENSIONS)} file") from None
        sizes.append((height, width))
    return sizes, 1 if gray else 3


def _folder_source(root, split, size):
    directory = _split_folder(root, split)
    files, labels, class_names = _folder_files(directory)
    if not files:
        raise UserError(f"no images found in {directory} or its subfolders; accepted extensions: "
                        f"{', '.join(IMAGE_EXTENSIONS)} (case-insensitive)")
    sizes, channels = _read_headers(files)
    first = sizes[0]
    other = next((i for i, s in enumerate(sizes) if s != first), None)
    if other is not None and size is None:
        raise UserError(f"images differ in size ({os.fsdecode(files[0])} is {first[1]}x{first[0]}, "
                        f"{os.fsdecode(files[other])} is "
                        f"{sizes[other][1]}x{sizes[other][0]}); pass image_size=... (CLI: --image-size)")
    static_shape = (first[0], first[1], channels) if other is None else (None, None, channels)

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        image.set_shape(static_shape)
        return image

    ds = tf.data.Dataset.from_tensor_slices((files, np.array(labels, np.int32)))
    min_size = (min(h for h, _ in sizes), min(w for _, w in sizes))
    return _Raw(ds, decode, class_names is not None, class_names,
                len(class_names) if class_names else 0, shuffle_buffer=len(files), min_size=min_size,
                sizes_vary=other is not None)


# ---------------------------------------------------------------- tensorflow-datasets

def _host_reachable(url, timeout=3.0):
    """Whether a TCP connection to `url`'s host opens within about `timeout` seconds."""
    import socket
    import urllib.parse

    parsed = urllib.parse.urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or (80 if parsed.scheme == "http" else 443)),
                                 timeout=timeout).close()
        return True
    except (OSError, ValueError):
        return False


def _check_tfds_reachable(builder, name):
    """An unprepared tfds dataset whose download host cannot be reached fails now, with what to do
    (tfds itself would retry its downloads for minutes and leave a partial directory)."""
    urls = sorted(builder.url_infos or ())
    if builder.is_prepared() or not urls or _host_reachable(urls[0]):
        return
    host = urls[0].split("/")[2]
    raise UserError(f"tfds dataset {name!r} is not prepared in {builder.data_dir_root} and its download host {host} "
                    f"cannot be reached (offline?); prepare it where there is network (`tfds build {name} "
                    f"--data_dir DIR`, then copy DIR/{name.split('/')[0]} into {builder.data_dir_root}) or use an "
                    f"offline dataset: {', '.join(KNOWN_DATASETS)}, or a folder of images")


def _tfds_source(name, split, data_dir):
    import tensorflow_datasets as tfds  # slow import, only when needed

    def cannot_load(error):
        return UserError(f"tfds could not load dataset {name!r} split {split!r} ({first_line(error)}); offline "
                         f"datasets: {', '.join(KNOWN_DATASETS)}; a folder of images also works")

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises many types; all mean "cannot load"
        raise cannot_load(error) from None
    _check_tfds_reachable(builder, name)
    root = builder.data_dir_root
    before = entries(root)
    try:
        ds, info = tfds.load(name, split=split, data_dir=data_dir, with_info=True)
    except Exception as error:  # noqa: BLE001
        remove_new_entries(root, before)
        raise cannot_load(error) from None
    if "image" not in info.features:
        raise UserError(f"tfds dataset {name!r} has no 'image' feature; pass an image dataset, "
                        f"one of {', '.join(KNOWN_DATASETS)}, or a folder of images")
    label_feature = info.features["label"] if "label" in info.features else None
    class_names = tuple(getattr(label_feature, "names", None) or ()) or None
    num_classes = getattr(label_feature, "num_classes", None)

    def split_features(features):
        label = tf.cast(features["label"], tf.int32) if label_feature is not None else tf.constant(-1)
        return features["image"], label

    image_shape = info.features["image"].shape
    min_size = tuple(image_shape[:2]) if None not in image_shape[:2] else None
    return _Raw(ds.map(split_features), _decoded, label_feature is not None, class_names,
                num_classes, shuffle_buffer=TFDS_SHUFFLE_BUFFER, min_size=min_size, sizes_vary=min_size is None)


# ---------------------------------------------------------------- classes, preprocessing

def class_ids(classes, class_names, num_classes, name):
    """Resolve class names / ints to label ids, or raise UserError listing the valid classes."""
    if class_names:
        valid = ", ".join(f"{i}={n}" for i, n in enumerate(class_names))
    else:
        valid = f"0..{num_classes - 1}" if num_classes else "none known"
    lowered = [n.lower() for n in class_names or ()]
    ids = []
    for wanted in classes:
        if isinstance(wanted, str) and wanted.lower() in lowered:
            ids.append(lowered.index(wanted.lower()))
            continue
        if isinstance(wanted, str) and wanted.strip().isdigit():
            wanted = int(wanted)
        limit = num_classes or len(lowered)
        if isinstance(wanted, (int, np.integer)) and not isinstance(wanted, bool) and (
                not limit or 0 <= wanted < limit):
            ids.append(int(wanted))
            continue
        raise UserError(f"unknown class {wanted!r} for {name}; valid classes: {valid}")
    return ids


def _filter_classes(ds, raw, classes, name):
    if not raw.labelled:
        raise UserError(f"classes={classes!r} given but {name} has no labels; drop classes or use "
                        "a folder with one subfolder per class")
    if isinstance(classes, (str, int)):
        classes = [classes]
    keep = tf.constant(class_ids(classes, raw.class_names, raw.num_classes, name), tf.int32)
    return ds.filter(lambda image, label: tf.reduce_any(tf.equal(label, keep)))


def _center_crop(image, size):
    """Largest centered box with the aspect ratio of `size`."""
    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    scale = tf.minimum(height / size[0], width / size[1])
    crop_h = tf.cast(tf.floor(size[0] * scale), tf.int32)
    crop_w = tf.cast(tf.floor(size[1] * scale), tf.int32)
    return tf.image.crop_to_bounding_box(image, (shape[0] - crop_h) // 2, (shape[1] - crop_w) // 2,
                                         crop_h, crop_w)


def _pad(image, size):
    """Center `image` on a black (-1) canvas of `size`; images larger than `size` are an error."""
    shape = tf.shape(image)
    tf.debugging.assert_less_equal(shape[:2], tf.constant(size), message=f"crop='pad' needs images of at most {size}")
    top, left = (size[0] - shape[0]) // 2, (size[1] - shape[1]) // 2
    paddings = [[top, size[0] - shape[0] - top], [left, size[1] - shape[1] - left], [0, 0]]
    return tf.pad(image, paddings, constant_values=-1.0)


def _resize(image, size):
    image = tf.image.resize(image, size, method="bilinear", antialias=True)
    return tf.clip_by_value(image, -1.0, 1.0)


def _to_float(image, channels):
    """uint8 image -> float32 in [-1, 1] with the wanted channel count."""
    image = tf.cast(image, tf.float32) / 127.5 - 1.0
    if channels == 1 and image.shape[-1] == 3:
        image = tf.image.rgb_to_grayscale(image)
    elif channels == 3 and image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    return image


PREPROCESS_BATCH = 256  # images converted per tf.data call when no per-image work is needed


def _preprocess(ds, decode, channels, crop, size, seed):
    """Decode, scale to [-1, 1], convert channels, crop / resize.

    Decoded images of one static shape that need no crop or resize are converted in batches of
    PREPROCESS_BATCH and unbatched again: the same elements, at a tenth of the CPU time of a
    per-image map (Fashion-MNIST: 0.7 vs 6.2 ms per 64 images, benchmarks/baseline_dcgan.py)."""
    spec = ds.element_spec[0]
    if (decode is _decoded and crop == "none" and spec.shape.is_fully_defined()
            and (size is None or tuple(spec.shape[:2]) == tuple(size))):
        return ds.batch(PREPROCESS_BATCH).map(lambda images, labels: (_to_float(images, channels), labels),
                                              num_parallel_calls=tf.data.AUTOTUNE).unbatch()

    def transform(image, label, crop_seed=None):
        image = _to_float(decode(image), channels)
        depth = image.shape[-1]
        if crop == "random":
            image = tf.image.stateless_random_crop(image, [size[0], size[1], depth], seed=crop_seed)
        elif crop == "center":
            image = _resize(_center_crop(image, size), size)
        elif crop == "pad":
            image = _pad(image, size)
        elif size is not None and tuple(image.shape[:2]) != size:
            image = _resize(image, size)
        if size is not None:
            image.set_shape((size[0], size[1], depth))
        return image, label

    if crop == "random":  # stateless per-element seeds keep the crops reproducible for `seed`
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.random(seed=seed).batch(2)))
        return ds.map(lambda element, crop_seed: transform(*element, crop_seed),
                      num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE)


def _check_static_shape(ds, name):
    spec = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    if not spec.shape.is_fully_defined():
        raise UserError(f"images of {name} have varying sizes {spec.shape}; pass image_size=... "
                        "(CLI: --image-size)")
