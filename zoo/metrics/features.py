"""Feature extractors: networks that map image batches (float NHWC in [-1, 1]) to
{"features": [n, d], "logits": [n, k] or absent}.

- `fashion_mnist_evaluator()`: the project's own classifier (zoo/metrics/evaluator_network.py),
  shipped with its sha256. Its numbers are named for it and are not comparable to Inception's.
- `inception_tfhub(path)`: TF-GAN's Inception module (`tfgan/eval/inception/1`), the
  network behind published FIDs: `pool_3` (2048-d) and `logits` (1008), input resized
  bilinearly to 299×299, grayscale repeated to 3 channels.
- `inception_keras(weights)`: Keras's InceptionV3 with ImageNet weights from a local
  file: different weights from TF-GAN's, so its FIDs are not comparable to papers.
- `inception(weights)`: Keras's InceptionV3 without its classifier (2048-d average-pool features), its
  ImageNet weights fetched by Keras (or from a local .h5): features for any image data, no logits.
- `keras_classifier(path)`: a classifier the user trusts, from a .keras file: its penultimate layer's output.
- `from_classifier_fn(fn, name)`: any user function, as TF-GAN's `classifier_fn`.
- `points(centres, sigma, name)`: no network, for the 2-D mixtures (zoo.data.points): the coordinates themselves.

Each extractor states the images it takes (`input_shape`, (h, w, c), None for any): evaluation checks it
against the data before anything is sampled.
"""
import os

import numpy as np
import tensorflow as tf

from zoo.errors import UserError, first_line
from zoo.files import sha256_of
from zoo.metrics import evaluator_network

INCEPTION_TFHUB = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INCEPTION_SIZE = 299


class FeatureExtractor:
    """A named function from image batches to {"features", "logits"} numpy arrays."""

    def __init__(self, name, fn, description, sha256=None, num_classes=None, builder=None,
                 input_shape=(None, None, None), modes=None):
        self.name, self.fn, self.description, self.sha256 = name, fn, description, sha256
        self.num_classes = num_classes
        self.modes = modes  # (centres [K, d], sigma) of data whose modes are known (known_modes), else None
        self.builder = builder  # makes a fresh, untrained network of the same architecture (GAN-train)
        self.input_shape = tuple(input_shape)  # (h, w, c) of the images it takes; None: any (it resizes/converts)

    def __call__(self, images):
        outputs = self.fn(tf.convert_to_tensor(images, tf.float32))
        if not isinstance(outputs, dict):
            outputs = {"features": outputs}
        return {key: np.asarray(value).reshape(len(value), -1) for key, value in outputs.items()}

    def describe(self):
        return {"name": self.name, "description": self.description, "sha256": self.sha256}


def points(centres, sigma, name):
    """No network: a 2-D point's features are its coordinates ([N, 1, 1, 2] → [N, 2]), carrying the mixture's
    known modes (`centres` [K, 2], `sigma`) for the known_modes metric."""
    return FeatureExtractor(
        "points", lambda batch: tf.reshape(batch, [-1, 2]),
        f"the 2-D points themselves (no network): {name}, {len(centres)} modes of sigma {sigma}",
        input_shape=(1, 1, 2), modes=(np.asarray(centres), float(sigma)))


def to_inception_input(images, size=INCEPTION_SIZE):
    """[-1, 1] NHWC (1 or 3 channels) → [-1, 1] n×299×299×3, bilinear resize as TF-GAN does."""
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[-1] == 1:
        images = tf.repeat(images, 3, axis=-1)
    return tf.image.resize(images, [size, size], method="bilinear")


def fashion_mnist_evaluator(directory=None):
    model, card = evaluator_network.load_evaluator(directory or evaluator_network.SHIPPED_DIR)
    call = tf.function(lambda images: model(images, training=False))
    return FeatureExtractor(
        "fashion_mnist_evaluator", call,
        f"project-trained Fashion-MNIST CNN (test accuracy {card['test_accuracy']:.4f}); "
        "features: 128-d penultimate layer; not comparable to Inception-based metrics",
        sha256=card["sha256"], num_classes=card["architecture"]["num_classes"],
        builder=lambda: evaluator_network.build_evaluator(**card["architecture"], norm_momentum=0.9),
        input_shape=card["architecture"]["image_shape"])


def _load_hub_module(path):
    try:
        import tensorflow_hub as hub

        return hub.load(path)
    except ImportError:
        return tf.saved_model.load(path)


def inception_tfhub(path=None):
    """TF-GAN's Inception from a local directory (or the TF-Hub cache when `path` is None)."""
    handle = path or INCEPTION_TFHUB
    if path is not None and not os.path.isdir(path):
        raise UserError(f"--inception {path} is not a directory; pass the extracted TF-Hub module "
                        f"({INCEPTION_TFHUB})")
    try:
        module = _load_hub_module(handle)
    except Exception as error:  # offline and not cached, or not a SavedModel
        raise UserError(f"Cannot load the Inception network from {handle} ({first_line(error)}). Offline, download "
                        f"{INCEPTION_TFHUB} on a connected machine, extract it, and pass --inception DIR; "
                        "or use --features fashion_mnist_evaluator") from None

    @tf.function
    def call(images):
        outputs = module(to_inception_input(images))
        return {"features": outputs["pool_3"], "logits": outputs["logits"]}

    return FeatureExtractor("inception_tfhub", call,
                            f"TF-GAN Inception ({handle}): pool_3 features, logits; 299x299 bilinear",
                            num_classes=1008)


def inception_keras(weights):
    """Keras InceptionV3: `weights` is a local .h5 of ImageNet weights ("imagenet" downloads,
    which fails offline; None gives random weights, for testing the pipeline only)."""
    import keras

    try:
        model = keras.applications.InceptionV3(include_top=True, weights=weights)
    except Exception as error:
        raise UserError(f"Cannot load Keras InceptionV3 weights {weights!r} ({first_line(error)}); pass a local "
                        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5 file") from None
    pooled = model.get_layer("avg_pool").output
    trunk = keras.Model(model.input, pooled)
    kernel, bias = model.get_layer("predictions").get_weights()

    @tf.function
    def call(images):
        features = trunk(to_inception_input(images), training=False)
        return {"features": features, "logits": tf.matmul(features, kernel) + bias}

    label = "random weights (pipeline test only)" if weights is None else f"weights {weights}"
    return FeatureExtractor("inception_keras", call,
                            f"Keras InceptionV3, {label}: avg_pool features, pre-softmax logits; "
                            "not TF-GAN's Inception, so FIDs are not comparable to papers", num_classes=1000)


INCEPTION_NOTOP_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"  # Keras's file name


def inception(weights=None):
    """Keras InceptionV3 without its classifier (include_top=False, pooling="avg"): 2048-d features of images
    resized to 299×299 bilinearly, gray repeated to 3 channels (its preprocess_input maps pixels to [-1, 1], the
    range images already have here). `weights`: a local .h5 of its no-top ImageNet weights; None fetches Keras's
    "imagenet" file (kept in ~/.keras/models), which fails in one line where the network does not allow."""
    import keras

    try:
        model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights or "imagenet")
    except Exception as error:  # noqa: BLE001  a failed download, a missing or wrong file: all "cannot load"
        what = f"from {weights}" if weights else "could not be fetched"
        raise UserError(f"the Keras InceptionV3 ImageNet weights {what} ({first_line(error)}); pass --inception PATH "
                        f"with local .h5 weights ({INCEPTION_NOTOP_WEIGHTS}, downloaded where there is network)") \
            from None
    call = tf.function(lambda images: {"features": model(to_inception_input(images), training=False)})
    source = weights or "imagenet (fetched by Keras)"
    return FeatureExtractor("inception", call,
                            f"Keras InceptionV3 ({source}): 2048-d average-pool features, 299x299 bilinear; not "
                            "TF-GAN's Inception, so FIDs are not comparable to papers",
                            sha256=sha256_of(weights) if weights else None)


def keras_classifier(path):
    """A classifier the user trusts, from a .keras file (loaded in Keras's safe mode: no Python lambdas run):
    features = its penultimate layer's output, flattened, for float NHWC images in [-1, 1] of its input shape."""
    import keras

    if not os.path.isfile(path):
        raise UserError(f"--features {path}: no such file; pass a .keras classifier file or one of "
                        "fashion_mnist_evaluator, inception, inception_tfhub, inception_keras")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001  Keras raises ValueError, OSError, zipfile's errors...
        raise UserError(f"--features {path} is not a Keras model file Keras can load ({first_line(error)}); pass a "
                        ".keras classifier saved with model.save") from None
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    shape = tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else ()
    if len(shape) != 3 or len(layers) < 2:
        raise UserError(f"--features {path} takes {[tuple(x.shape) for x in model.inputs]} with {len(layers)} "
                        "layer(s); pass a classifier of one image input [batch, height, width, channels] with at "
                        "least two layers (its penultimate layer gives the features)")
    trunk = keras.Model(model.inputs, layers[-2].output)
    call = tf.function(lambda images: {"features": trunk(images, training=False)})
    return FeatureExtractor("keras_classifier", call, f"user classifier {os.path.abspath(path)}: features of its "
                            f"penultimate layer {layers[-2].name!r}", sha256=sha256_of(path), input_shape=shape)


def from_classifier_fn(fn, name="classifier_fn"):
    """Wrap any function of image batches returning features, or {"features", "logits"}."""
    return FeatureExtractor(name, fn, f"user-supplied classifier_fn {name}")
