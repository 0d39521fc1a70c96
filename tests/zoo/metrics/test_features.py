"""Feature extractors: the shipped evaluator (checksum, accuracy), Inception loaders tested with a
stand-in TF-Hub module and random weights, and clear errors when weights are missing."""
import json
import os
import re
import shutil
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.data import datasets
from zoo.errors import UserError
from zoo.eval import classifier
from zoo.metrics import evaluator_network, features


def test_shipped_evaluator_reaches_its_recorded_test_accuracy():
    model, card = classifier.load_evaluator()
    assert card["test_accuracy"] >= 0.92
    images, labels = next(iter(datasets.load("fashion_mnist", "test").batch(10000)))
    predicted = np.argmax(model.predict(images, batch_size=1000, verbose=0)["logits"], axis=1)
    assert np.mean(predicted == labels.numpy()) >= card["test_accuracy"]


def test_corrupted_evaluator_weights_are_detected(tmp_path):
    copy = tmp_path / "evaluator"
    shutil.copytree(classifier.SHIPPED_DIR, copy)
    weights = copy / classifier.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    remedy = "reinstall the package or rerun `gan-zoo train-evaluator`"
    with pytest.raises(UserError) as error:
        classifier.load_evaluator(str(copy))
    assert re.fullmatch(rf"{re.escape(str(weights))} is corrupt: its sha256 is [0-9a-f]{{64}}, evaluator.json records "
                        rf"[0-9a-f]{{64}}; {re.escape(remedy)}", str(error.value))
    os.remove(weights)
    with pytest.raises(UserError) as error:
        classifier.load_evaluator(str(copy))
    assert str(error.value) == f"{weights} is missing; {remedy}"
    os.remove(copy / "evaluator.json")
    with pytest.raises(UserError) as error:
        classifier.load_evaluator(str(copy))
    assert str(error.value) == (f"No evaluator in {copy} (evaluator.json missing); train one with "
                                "`gan-zoo train-evaluator`")


def test_evaluator_extractor_outputs():
    extractor = features.fashion_mnist_evaluator()
    out = extractor(np.zeros((5, 28, 28, 1), np.float32))
    assert out["features"].shape == (5, 128) and out["logits"].shape == (5, 10)
    assert (out["features"] >= 0).all()  # post-ReLU
    card = json.load(open(os.path.join(classifier.SHIPPED_DIR, "evaluator.json")))
    assert extractor.describe() == {
        "name": "fashion_mnist_evaluator", "sha256": card["sha256"],
        "description": f"project-trained Fashion-MNIST CNN (test accuracy {card['test_accuracy']:.4f}); features: "
                       "128-d penultimate layer; not comparable to Inception-based metrics"}
    assert extractor.name == "fashion_mnist_evaluator" and extractor.num_classes == 10


def test_evaluator_features_are_the_networks_in_inference_mode_and_its_builder_makes_a_fresh_one():
    """Batch norm's moving statistics and no dropout (training=False); GAN-train's fresh network has the
    same architecture, with batch-norm momentum 0.9 for its short training."""
    extractor = features.fashion_mnist_evaluator()
    model, _ = classifier.load_evaluator()
    images = np.random.default_rng(0).uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    expected = model(images, training=False)
    out = extractor(images)
    np.testing.assert_allclose(out["features"], expected["features"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["logits"], expected["logits"], rtol=1e-5, atol=1e-6)
    fresh = extractor.builder()
    assert fresh.count_params() == model.count_params() and fresh is not model
    momenta = {layer.momentum for layer in fresh.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert momenta == {0.9}


def test_evaluator_builder_follows_the_cards_architecture(monkeypatch):
    """An evaluator trained with another architecture (its card says which) gets GAN-train networks like it."""
    model, card = classifier.load_evaluator()
    architecture = {"image_shape": [12, 12, 1], "num_classes": 4, "width": 4, "feature_dim": 6}
    monkeypatch.setattr(evaluator_network, "load_evaluator",
                        lambda directory: (model, {**card, "architecture": architecture}))
    fresh = features.fashion_mnist_evaluator().builder()
    outputs = fresh(np.zeros((2, 12, 12, 1), np.float32))
    assert outputs["features"].shape == (2, 6) and outputs["logits"].shape == (2, 4)
    assert fresh.get_layer("conv0_0").filters == 4


class StandInInception(tf.Module):
    """Same call signature as TF-GAN's Inception module; its outputs report what it was fed:
    logits[:, :5] = (height, width, channels, min, max), pool_3 = per-channel means tiled."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def __call__(self, images):
        shape = tf.cast(tf.shape(images), tf.float32)
        batch = tf.shape(images)[0]
        stats = tf.stack([tf.fill([batch], shape[1]), tf.fill([batch], shape[2]), tf.fill([batch], shape[3]),
                          tf.reduce_min(images, axis=[1, 2, 3]), tf.reduce_max(images, axis=[1, 2, 3])], axis=1)
        logits = tf.concat([stats, tf.zeros([batch, 1003])], axis=1)
        pool = tf.tile(tf.reduce_mean(images, axis=[1, 2]), [1, 683])[:, :2048]
        return {"logits": logits, "pool_3": tf.reshape(pool, [batch, 1, 1, 2048])}


@pytest.mark.parametrize("with_tensorflow_hub", [True, False])  # without it, tf.saved_model.load reads the module
def test_inception_tfhub_pipeline_with_a_stand_in_module(tmp_path, monkeypatch, with_tensorflow_hub):
    path = str(tmp_path / "inception")
    tf.saved_model.save(StandInInception(), path)
    if not with_tensorflow_hub:
        monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # `import tensorflow_hub` raises ImportError
    extractor = features.inception_tfhub(path)
    assert (extractor.name, extractor.num_classes) == ("inception_tfhub", 1008)
    assert extractor.description == f"TF-GAN Inception ({path}): pool_3 features, logits; 299x299 bilinear"
    grayscale = np.linspace(-1, 1, 3 * 28 * 28, dtype=np.float32).reshape(3, 28, 28, 1)
    out = extractor(grayscale)
    assert out["features"].shape == (3, 2048) and out["logits"].shape == (3, 1008)
    height, width, channels, low, high = out["logits"][0, :5]
    assert (height, width, channels) == (299, 299, 3)
    assert -1.0 <= low < high <= 1.0
    channel_means = out["features"][:, :3]  # pool_3 reports the channel means of the 299×299 input it was fed
    np.testing.assert_array_equal(channel_means[:, 0], channel_means[:, 1])  # grayscale repeated, not padded
    np.testing.assert_array_equal(channel_means[:, 0], channel_means[:, 2])
    np.testing.assert_allclose(channel_means[:, 0], grayscale.mean(axis=(1, 2, 3)), atol=1e-3)


KERAS_NOTE = "avg_pool features, pre-softmax logits; not TF-GAN's Inception, so FIDs are not comparable to papers"


def test_inception_keras_random_weights_pipeline():
    extractor = features.inception_keras(None)
    out = extractor(np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32))
    assert out["features"].shape == (2, 2048) and out["logits"].shape == (2, 1000)
    assert (extractor.name, extractor.num_classes) == ("inception_keras", 1000)
    assert extractor.description == f"Keras InceptionV3, random weights (pipeline test only): {KERAS_NOTE}"


def test_inception_keras_with_weights_reads_avg_pool_and_the_pre_softmax_logits(monkeypatch):
    """A stand-in for keras.applications.InceptionV3 with its two layers the extractor reads."""
    built = []

    def stand_in(include_top=True, weights="imagenet"):  # Keras's defaults
        assert include_top and weights == "inception.h5"
        images = keras.Input((299, 299, 3))
        pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(images)
        built.append(keras.Model(images, keras.layers.Dense(1000, activation="softmax", name="predictions")(pooled)))
        built[-1].get_layer("predictions").bias.assign(np.linspace(-1, 1, 1000))  # a bias that shows
        return built[-1]

    monkeypatch.setattr(keras.applications, "InceptionV3", stand_in)
    extractor = features.inception_keras("inception.h5")
    assert (extractor.name, extractor.num_classes) == ("inception_keras", 1000)
    assert extractor.description == f"Keras InceptionV3, weights inception.h5: {KERAS_NOTE}"
    images = np.random.default_rng(1).uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    out = extractor(images)
    resized = features.to_inception_input(images).numpy()
    np.testing.assert_allclose(out["features"], resized.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    kernel, bias = built[0].get_layer("predictions").get_weights()
    np.testing.assert_allclose(out["logits"], out["features"] @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_user_functions_receive_float32_images():
    seen = []
    extractor = features.from_classifier_fn(lambda images: seen.append(images.dtype) or tf.reduce_mean(images, [1, 2]))
    extractor(np.zeros((2, 4, 4, 1), np.float64))
    assert seen == [tf.float32]


def test_missing_inception_weights_say_how_to_get_them(tmp_path):
    absent = str(tmp_path / "absent")
    with pytest.raises(UserError) as error:
        features.inception_tfhub(absent)
    assert str(error.value) == (f"--inception {absent} is not a directory; pass the extracted TF-Hub module "
                                "(https://tfhub.dev/tensorflow/tfgan/eval/inception/1)")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="download .*tfgan/eval/inception/1"):
        features.inception_tfhub(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="local .*h5"):
        features.inception_keras(str(tmp_path / "absent.h5"))


@pytest.mark.parametrize("message, shown", [("no saved_model.pb in it\nthe rest of the trace", "no saved_model.pb in it"),
                                            ("", "OSError")])  # an error without a message: its type
def test_a_loading_error_is_told_by_its_first_line(tmp_path, monkeypatch, message, shown):
    def fail(*args, **kwargs):
        raise OSError(message)

    monkeypatch.setattr(features, "_load_hub_module", fail)
    with pytest.raises(UserError) as error:
        features.inception_tfhub(str(tmp_path))
    assert str(error.value) == (f"Cannot load the Inception network from {tmp_path} ({shown}). Offline, download "
                                "https://tfhub.dev/tensorflow/tfgan/eval/inception/1 on a connected machine, extract "
                                "it, and pass --inception DIR; or use --features fashion_mnist_evaluator")
    monkeypatch.setattr(keras.applications, "InceptionV3", fail)
    with pytest.raises(UserError) as error:
        features.inception_keras("weights.h5")
    assert str(error.value) == (f"Cannot load Keras InceptionV3 weights 'weights.h5' ({shown}); pass a local "
                                "inception_v3_weights_tf_dim_ordering_tf_kernels.h5 file")


def test_user_classifier_fn():
    extractor = features.from_classifier_fn(lambda images: tf.reduce_mean(images, axis=[1, 2]), "channel_means")
    assert extractor(np.ones((4, 8, 8, 3), np.float32))["features"].shape == (4, 3)
    # the name keys the reference cache and labels every metric; the description goes into the protocol
    assert extractor.name == "channel_means" and extractor.description == "user-supplied classifier_fn channel_means"
    unnamed = features.from_classifier_fn(lambda images: images)
    assert unnamed.name == "classifier_fn" and unnamed.sha256 is None and unnamed.num_classes is None
