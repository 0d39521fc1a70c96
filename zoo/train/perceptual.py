"""Feature networks φ for perceptual (content) losses, e.g. SRGAN's ‖φ(SR) - φ(HR)‖².

- "vgg19": VGG19's block5_conv4 feature map, the paper's VGG54 (Ledig et al. 2017);
  "vgg19_22": block2_conv2 (VGG22). ImageNet weights are read from a local file only:
  $GAN_ZOO_VGG19_WEIGHTS or Keras's cache (~/.keras/models/vgg19_..._notop.h5).
- "evaluator": the project's Fashion-MNIST evaluator's last conv features (64 channels at
  ½ resolution), the offline default. Color images are converted to luma first.
- "pixel": no feature network (pixel MSE, i.e. SRResNet's loss).
- "auto": vgg19 when its weights are on this machine, else evaluator.

Every network takes images in [-1, 1] of any size and is built from standard Keras layers
(fixed 1×1 convolutions do the color conversion), so it serializes inside a recipe. Its
name states what it is, and training runs record it.
"""
import os

import keras
import numpy as np

from zoo.errors import UserError

CONTENT_NETWORKS = ("auto", "evaluator", "vgg19", "vgg19_22", "pixel")
VGG19_LAYERS = {"vgg19": "block5_conv4", "vgg19_22": "block2_conv2"}
VGG19_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)  # Keras's "caffe" preprocessing
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def vgg19_weights_path():
    """The local VGG19 (no top) ImageNet weights file, or None."""
    candidates = [os.environ.get("GAN_ZOO_VGG19_WEIGHTS"),
                  os.path.join(os.path.expanduser("~"), ".keras", "models", VGG19_FILE)]
    return next((path for path in candidates if path and os.path.isfile(path)), None)


def content_network(kind, channels, weights=None):
    """The frozen feature network `kind` (CONTENT_NETWORKS) for images with `channels` channels,
    or None for "pixel". `weights` overrides where VGG19's weights come from (a file, or None:
    the local file above; tests pass "random")."""
    if kind not in CONTENT_NETWORKS:
        raise UserError(f"Unknown content network {kind!r}; accepted: {', '.join(CONTENT_NETWORKS)}")
    if kind == "auto":
        kind = "vgg19" if (weights or vgg19_weights_path()) else "evaluator"
    if kind == "pixel":
        return None
    if kind == "evaluator":
        return evaluator_features(channels)
    return vgg19_features(channels, VGG19_LAYERS[kind], weights)


def fixed_pointwise(inputs, kernel, bias, name):
    """A frozen 1×1 convolution y = x·kernel + bias (color conversions as standard layers)."""
    layer = keras.layers.Conv2D(kernel.shape[1], 1, trainable=False, name=name)
    outputs = layer(inputs)
    layer.set_weights([kernel.reshape(1, 1, *kernel.shape), bias])
    return outputs


def evaluator_features(channels, directory=None):
    """The shipped evaluator's conv trunk up to its last conv block's ReLU (before pooling)."""
    from zoo.metrics import evaluator_network

    trained, card = evaluator_network.load_evaluator(directory or evaluator_network.SHIPPED_DIR)
    images = keras.Input((None, None, channels), name="images")
    x = images
    if channels == 3:
        x = fixed_pointwise(x, LUMA.reshape(3, 1), np.zeros(1, np.float32), "to_luma")
    width = card["architecture"].get("width", 32)
    for block in range(2):
        for conv in range(2):
            name = f"conv{block}_{conv}"
            layer = keras.layers.Conv2D(width * 2**block, 3, padding="same", use_bias=False, name=name)
            norm = keras.layers.BatchNormalization(name=f"{name}_norm")
            x = keras.layers.ReLU(name=f"{name}_relu")(norm(layer(x)))
            layer.set_weights(trained.get_layer(name).get_weights())
            norm.set_weights(trained.get_layer(f"{name}_norm").get_weights())
        if block == 0:
            x = keras.layers.MaxPooling2D(name=f"pool{block}")(x)
    model = keras.Model(images, x, name="fashion_mnist_evaluator_conv1_1")
    model.trainable = False
    return model


def vgg19_features(channels, layer="block5_conv4", weights=None):
    """VGG19 up to `layer`, fed [-1, 1] images converted to Keras's caffe-style BGR input."""
    path = weights or vgg19_weights_path()
    if path is None:
        raise UserError(f"VGG19 ImageNet weights are not on this machine; put {VGG19_FILE} in ~/.keras/models/ "
                        "(keras.applications.VGG19(include_top=False) downloads it where there is internet) or "
                        "set GAN_ZOO_VGG19_WEIGHTS=FILE; or use --set content_network=evaluator")
    if path != "random" and not os.path.isfile(path):
        raise UserError(f"VGG19 weights file {path} does not exist")
    vgg = keras.applications.VGG19(include_top=False, weights=None if path == "random" else path,
                                   input_shape=(None, None, 3))
    images = keras.Input((None, None, channels), name="images")
    kernel = np.zeros((channels, 3), np.float32)
    for bgr, rgb in enumerate((2, 1, 0)):  # output channel j (B, G, R) reads input R/G/B (gray: the one channel)
        kernel[rgb if channels == 3 else 0, bgr] = 127.5
    x = fixed_pointwise(images, kernel, 127.5 - IMAGENET_BGR_MEAN, "to_caffe_bgr")
    for vgg_layer in vgg.layers[1:]:
        x = vgg_layer(x)
        if vgg_layer.name == layer:
            break
    suffix = "random_weights" if path == "random" else "imagenet"
    model = keras.Model(images, x, name=f"vgg19_{layer}_{suffix}")
    model.trainable = False
    return model
