"""Content-loss feature networks: the evaluator's conv trunk, VGG19's caffe-style input, and the
choice between them."""
import keras
import numpy as np
import pytest

from zoo.errors import UserError
from zoo.eval.classifier import load_evaluator
from zoo.train import perceptual


def images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def test_evaluator_features_are_the_evaluators_own_activations():
    network = perceptual.content_network("evaluator", channels=1)
    x = images((3, 28, 28, 1))
    trained, _ = load_evaluator()
    relu = trained.get_layer("conv1_1_norm").output  # the trunk's last activation is ReLU(conv1_1_norm)
    reference = keras.Model(trained.input, keras.ops.relu(relu))
    np.testing.assert_allclose(network(x), reference(x, training=False), atol=1e-5)
    assert network(x).shape == (3, 14, 14, 64)
    assert network(images((1, 40, 36, 1))).shape == (1, 20, 18, 64)  # any size
    assert not network.trainable_weights


def test_color_images_are_converted_to_luma_for_the_evaluator():
    color = images((2, 28, 28, 3))
    gray = (color * perceptual.LUMA).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(perceptual.content_network("evaluator", channels=3)(color),
                               perceptual.content_network("evaluator", channels=1)(gray), atol=1e-5)


@pytest.mark.parametrize("channels", [1, 3])
def test_vgg19_gets_keras_caffe_input(channels):
    """[-1, 1] RGB (or gray) → 255-scaled BGR minus the ImageNet mean, as vgg19.preprocess_input does."""
    network = perceptual.vgg19_features(channels, "block1_conv1", weights="random")
    assert network.name == "vgg19_block1_conv1_random_weights"
    x = images((2, 32, 32, channels))
    to_bgr = keras.Model(network.input, network.get_layer("to_caffe_bgr").output)
    rgb = np.repeat(x, 3, axis=-1) if channels == 1 else x
    expected = keras.applications.vgg19.preprocess_input((rgb + 1.0) * 127.5)
    np.testing.assert_allclose(to_bgr(x), expected, atol=1e-3)
    assert perceptual.vgg19_features(channels, "block5_conv4", weights="random")(x).shape == (2, 2, 2, 512)


def test_choices_and_missing_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GAN_ZOO_VGG19_WEIGHTS", raising=False)
    assert perceptual.content_network("pixel", 1) is None
    assert perceptual.content_network("auto", 1).name == "fashion_mnist_evaluator_conv1_1"  # no VGG19 here
    with pytest.raises(UserError, match="VGG19 ImageNet weights are not on this machine.*GAN_ZOO_VGG19_WEIGHTS"):
        perceptual.content_network("vgg19", 1)
    with pytest.raises(UserError, match="Unknown content network 'vgg16'; accepted: auto, evaluator"):
        perceptual.content_network("vgg16", 1)
