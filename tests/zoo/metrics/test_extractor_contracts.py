"""What the feature extractors promise their callers, tested fast and offline: the points' own coordinates and
known modes, a user's .keras classifier (its penultimate layer, in inference, its refusals), Keras InceptionV3
(a stand-in network), and the evaluator network's defaults and the layer names other code reads."""
import hashlib

import keras
import numpy as np
import pytest

from zoo.errors import UserError
from zoo.metrics import evaluator_network, features

INCEPTION_NOTE = "2048-d average-pool features, 299x299 bilinear; not TF-GAN's Inception, so FIDs are not comparable " \
                 "to papers"
SHAPE_HINT = ("layer(s); pass a classifier of one image input [batch, height, width, channels] with at least two "
              "layers (its penultimate layer gives the features)")


def test_points_are_their_own_features_and_carry_the_mixtures_modes():
    centres = [[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]]
    extractor = features.points(centres, 0.25, "three gaussians")
    batch = np.arange(8, dtype=np.float32).reshape(4, 1, 1, 2) / 8
    np.testing.assert_array_equal(extractor(batch)["features"], batch.reshape(4, 2))
    assert (extractor.name, extractor.input_shape) == ("points", (1, 1, 2))
    assert extractor.description == "the 2-D points themselves (no network): three gaussians, 3 modes of sigma 0.25"
    modes, sigma = extractor.modes
    np.testing.assert_array_equal(modes, np.asarray(centres))
    assert type(sigma) is float and sigma == 0.25


def save_classifier(path, body, shape=(4, 4, 1), inputs=None):
    """A .keras classifier of `body` (layers applied in turn); seeded, untrained."""
    keras.utils.set_random_seed(0)
    inputs = inputs or keras.Input(shape)
    x = inputs
    for layer in body:
        x = layer(x)
    model = keras.Model(inputs, x)

    def its_own_loss(labels, logits):  # not registered with Keras: loading the compiled model would fail on it
        return keras.ops.mean((labels - logits) ** 2)

    model.compile(optimizer="adam", loss=its_own_loss)
    model.save(path)
    return str(path)


def test_a_keras_classifier_gives_its_penultimate_layers_output_in_inference(tmp_path):
    """Saved compiled with a loss of its own: only its layers are read (compile=False)."""
    path = save_classifier(tmp_path / "mine.keras", [
        keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(5, name="penultimate"), keras.layers.Dense(3, name="logits")])
    extractor = features.keras_classifier(path)
    images = np.random.default_rng(0).uniform(-1, 1, (6, 4, 4, 1)).astype(np.float32)
    model = keras.models.load_model(path, compile=False)
    expected = keras.Model(model.input, model.get_layer("penultimate").output)(images, training=False)
    np.testing.assert_allclose(extractor(images)["features"], expected, rtol=1e-6, atol=1e-6)
    assert (extractor.name, extractor.input_shape) == ("keras_classifier", (4, 4, 1))
    assert extractor.description == f"user classifier {path}: features of its penultimate layer 'penultimate'"
    assert extractor.sha256 == hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_a_two_layer_classifier_is_enough(tmp_path):
    path = save_classifier(tmp_path / "small.keras", [keras.layers.Flatten(), keras.layers.Dense(3)])
    images = np.random.default_rng(1).uniform(-1, 1, (2, 4, 4, 1)).astype(np.float32)
    np.testing.assert_array_equal(features.keras_classifier(path)(images)["features"], images.reshape(2, 16))


def test_a_keras_classifier_that_is_not_one_image_input_and_two_layers_is_refused_in_one_line(tmp_path):
    one_layer = save_classifier(tmp_path / "one.keras", [keras.layers.Flatten()])
    vectors = save_classifier(tmp_path / "vectors.keras", [keras.layers.Dense(4), keras.layers.Dense(3)], shape=(16,))
    pair = [keras.Input((4, 4, 1)), keras.Input((4, 4, 1))]
    two_inputs = save_classifier(tmp_path / "two.keras", [keras.layers.Concatenate(), keras.layers.Flatten(),
                                                          keras.layers.Dense(3)], inputs=pair)
    for path, takes, layers in [(one_layer, "[(None, 4, 4, 1)]", 1), (vectors, "[(None, 16)]", 2),
                                (two_inputs, "[(None, 4, 4, 1), (None, 4, 4, 1)]", 3)]:
        with pytest.raises(UserError) as error:
            features.keras_classifier(path)
        assert str(error.value) == f"--features {path} takes {takes} with {layers} {SHAPE_HINT}"


def test_a_missing_or_unreadable_classifier_file_is_one_line(tmp_path):
    absent = str(tmp_path / "absent.keras")
    with pytest.raises(UserError) as error:
        features.keras_classifier(absent)
    assert str(error.value) == (f"--features {absent}: no such file; pass a .keras classifier file or one of "
                                "fashion_mnist_evaluator, inception, inception_tfhub, inception_keras")
    garbage = tmp_path / "garbage.keras"
    garbage.write_text("not a model\n")
    with pytest.raises(Exception) as keras_error:
        keras.models.load_model(str(garbage), compile=False)
    with pytest.raises(UserError) as error:
        features.keras_classifier(str(garbage))
    reason = str(keras_error.value).strip().splitlines()[0]
    assert str(error.value) == (f"--features {garbage} is not a Keras model file Keras can load ({reason}); pass a "
                                ".keras classifier saved with model.save")


def stand_in_inception(calls):
    """For keras.applications.InceptionV3 (no download): records its arguments; a pooled network of 299×299×3
    images with batch norm whose moving statistics are not the batch's (inference and training differ)."""
    def build(**kwargs):
        calls.append(kwargs)
        images = keras.Input((299, 299, 3))
        norm = keras.layers.BatchNormalization()
        pooled = keras.layers.GlobalAveragePooling2D()(norm(keras.layers.AveragePooling2D(13)(images)))
        norm.moving_mean.assign([0.5, -0.5, 0.25])
        norm.moving_variance.assign([4.0, 0.25, 1.0])
        return keras.Model(images, pooled)

    return build


def test_keras_inception_features_are_the_networks_in_inference_and_name_their_weights(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(keras.applications, "InceptionV3", stand_in_inception(calls))
    images = np.random.default_rng(2).uniform(-1, 1, (3, 8, 8, 1)).astype(np.float32)
    fetched = features.inception()
    weights = tmp_path / "notop.h5"
    weights.write_bytes(b"stand-in weights")
    local = features.inception(str(weights))
    assert calls == [{"include_top": False, "pooling": "avg", "weights": "imagenet"},
                     {"include_top": False, "pooling": "avg", "weights": str(weights)}]
    for extractor in (fetched, local):
        network = stand_in_inception([])()
        expected = network(features.to_inception_input(images), training=False)
        np.testing.assert_allclose(extractor(images)["features"], expected, rtol=1e-5, atol=1e-6)
    assert (fetched.name, fetched.sha256, fetched.num_classes) == ("inception", None, None)
    assert fetched.description == f"Keras InceptionV3 (imagenet (fetched by Keras)): {INCEPTION_NOTE}"
    assert local.description == f"Keras InceptionV3 ({weights}): {INCEPTION_NOTE}"
    assert local.sha256 == hashlib.sha256(b"stand-in weights").hexdigest()


def test_build_evaluator_defaults_are_the_shipped_architecture_trained_at_momentum_0_99():
    """The shipped weights load into build_evaluator() as it is; train-evaluator keeps batch norm's default
    momentum (0.99)."""
    model = evaluator_network.build_evaluator()
    model.load_weights(f"{evaluator_network.SHIPPED_DIR}/{evaluator_network.WEIGHTS_FILE}")
    outputs = model(np.zeros((1, 28, 28, 1), np.float32))
    assert outputs["features"].shape == (1, 128) and outputs["logits"].shape == (1, 10)
    momenta = {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert momenta == {0.99}


def test_evaluator_layers_carry_the_names_they_are_read_by():
    """conv{block}_{conv} and its _norm: the SRGAN content network (zoo.train.perceptual); logits: GAN-train
    (zoo.metrics.classification); the input, the feature layer and the model are named for what they are."""
    model = evaluator_network.build_evaluator(width=4, feature_dim=6, num_classes=3)
    for block in range(2):
        for conv in range(2):
            assert model.get_layer(f"conv{block}_{conv}").filters == 4 * 2**block
            assert isinstance(model.get_layer(f"conv{block}_{conv}_norm"), keras.layers.BatchNormalization)
    assert model.get_layer("logits").units == 3 and model.get_layer("features").units == 6
    assert (model.name, model.inputs[0].name) == ("evaluator", "images")
