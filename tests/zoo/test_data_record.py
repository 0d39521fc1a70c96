"""The data travels with the model (issue 31 item 3): the record of what a generator's images are of, written with
every run and preset, read by sampling, evaluation, projection and zoo.load; `gan-zoo evaluate` scores a run
against its own data or refuses in one line where its features do not fit that data."""
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from zoo.cli import main
from zoo.data import record
from zoo.data.datasets import FASHION_MNIST_CLASSES
from zoo.errors import UserError
from zoo.presets import store

STYLEGAN = "stylegan_lite_fashion_mnist_32"


def colour_folder(root, classes=None, size=(10, 12), count=12):
    """`count` random RGB PNGs of `size` (h, w) in `root`, or in one subfolder per name of `classes`."""
    rng = np.random.default_rng(0)
    for name in classes or [""]:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for index in range(count):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(root, name, f"{index}.png"))
    return str(root)


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A 2-step DCGAN run on a folder of 20×20 colour PNGs, trained at 16×16×3 (the issue's colour-folder run)."""
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    root = tmp_path_factory.mktemp("folder_run")
    folder = colour_folder(root / "my_color_folder", size=(20, 20), count=24)
    config = TrainConfig(recipe="dcgan", out=str(root / "run"), dataset=folder, image_size=16, channels=3, steps=2,
                         batch_size=8, recipe_args={"width": 8, "latent_dim": 8}, sample_every=100, verbose=0)
    train(config)
    return {"run": config.out, "folder": folder, "config": config}


def classifier(path, shape):
    """A small untrained Keras classifier of images `shape` saved at `path` (features: its 8-d dense layer)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape), keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(8, activation="relu", name="penultimate"),
                              keras.layers.Dense(2, name="logits")])
    model.save(path)
    return str(path)


# --- the record ----------------------------------------------------------------------------------------------
def test_a_record_survives_json():
    data = record.DataRecord("fashion_mnist", (28, 28), 1, (32, 32), padding=(2, 2, 2, 2),
                             class_names=FASHION_MNIST_CLASSES, crop="pad")
    assert record.DataRecord.from_json(json.loads(json.dumps(data.to_json()))) == data
    with pytest.raises(UserError, match=r"^not a data record: \{'dataset': 'x'\}; expected an object with dataset"):
        record.DataRecord.from_json({"dataset": "x"})


def test_fashion_mnist_records_its_size_and_class_names_and_padding_to_a_larger_canvas():
    plain = record.resolve({"dataset": "fashion_mnist", "crop": "none"}, (28, 28, 1))
    assert (plain.native, plain.channels, plain.canvas, plain.padding, plain.frame) == ((28, 28), 1, (28, 28), None,
                                                                                        (28, 28))
    assert plain.class_names == FASHION_MNIST_CLASSES and plain.describe() == "fashion_mnist (28×28×1)"
    padded = record.resolve({"dataset": "fashion_mnist", "crop": "pad", "image_size": 32}, (32, 32, 1))
    assert (padded.canvas, padded.padding, padded.frame, padded.padded_from) == ((32, 32), (2, 2, 2, 2), (28, 28),
                                                                                 (28, 28))
    assert padded.load_options() == {"image_size": None, "channels": 1, "crop": "none"}  # real images as they are
    resized = record.resolve({"dataset": "fashion_mnist", "image_size": 32}, (32, 32, 1))
    assert (resized.padding, resized.frame, resized.load_options()["image_size"]) == (None, (32, 32), (32, 32))


def test_a_colour_folder_records_its_own_size_the_trained_channels_and_its_subfolders_as_classes(tmp_path):
    folder = colour_folder(tmp_path / "shoes", classes=("boots", "sandals"))
    data = record.resolve({"dataset": folder, "image_size": 16, "channels": 3, "crop": "center"}, (16, 16, 3))
    assert (data.native, data.channels, data.canvas, data.padding, data.class_names) == (
        (10, 12), 3, (16, 16), None, ("boots", "sandals"))
    assert data.describe() == "folder shoes (16×16×3)" and data.is_folder and not data.has_split("test")
    assert data.load_options() == {"image_size": (16, 16), "channels": 3, "crop": "center"}


def test_a_run_or_card_from_before_the_record_resolves_it_from_its_training_configuration():
    old_run = {"recipe": "stylegan_lite", "data": {"dataset": "fashion_mnist", "split": "train", "image_size": 32,
                                                    "crop": "pad", "channels": None, "classes": None, "domains": None}}
    assert record.from_description(old_run, (32, 32, 1)).padding == (2, 2, 2, 2)
    card = store.card(STYLEGAN)
    assert record.of_card({key: value for key, value in card.items() if key != "data"}) == record.of_card(card)
    gone = record.from_description({"data": {"dataset": "/nowhere/folder", "crop": "none"}}, (16, 16, 3))
    assert (gone.dataset, gone.native, gone.canvas, gone.frame) == ("/nowhere/folder", None, (16, 16), (16, 16))


# --- written with runs and presets, read by zoo.load ----------------------------------------------------------
def test_a_new_run_writes_its_record_and_an_old_run_without_one_still_resumes_and_loads(folder_run, tmp_path):
    from zoo import sampling
    from zoo.train.loop import train

    written = json.load(open(os.path.join(folder_run["run"], "run.json")))
    assert written["data"]["dataset"] == folder_run["folder"]  # the configuration, as before
    data = record.DataRecord.from_json(written[record.RECORD_KEY])
    assert (data.dataset, data.native, data.channels, data.canvas, data.class_names) == (
        folder_run["folder"], (20, 20), 3, (16, 16), None)
    old = tmp_path / "old_run"
    shutil.copytree(folder_run["run"], old)
    del written[record.RECORD_KEY]
    json.dump(written, open(old / "run.json", "w"))
    _, description = sampling.load_target(str(old))
    assert record.DataRecord.from_json(description[record.RECORD_KEY]) == data
    import dataclasses

    assert train(dataclasses.replace(folder_run["config"], out=str(old), steps=3))["step"] == 3  # resumed, not refused
    assert record.RECORD_KEY not in json.load(open(old / "run.json"))  # and not rewritten


def test_zoo_load_exposes_the_record_and_an_old_card_gives_the_same_one(tmp_path):
    import zoo

    generator = zoo.load(STYLEGAN)
    assert (generator.data.native, generator.data.canvas, generator.data.padding) == ((28, 28), (32, 32), (2, 2, 2, 2))
    assert generator.data.get("dataset") == "fashion_mnist" and generator.data.get("crop") == "pad"  # as the dict was
    copy = tmp_path / "old_preset"
    shutil.copytree(os.path.join(store.PRESETS_DIR, STYLEGAN), copy)
    card = json.load(open(copy / "card.json"))
    del card["data"]  # card.json is not among its own listed files: no sha256 to update
    json.dump(card, open(copy / "card.json", "w"))
    old = zoo.load(str(copy))
    assert old.data == generator.data
    picture = np.full((1, 28, 28, 1), 200, np.uint8)
    np.testing.assert_array_equal(old.in_canvas(picture), generator.in_canvas(picture))
    assert old.in_canvas(picture).shape == (1, 32, 32, 1)


def test_projection_sees_the_records_frame_resized_to_the_extractors_input(evaluator_features):
    from zoo.projection import evaluator_view

    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    view = np.asarray(evaluator_view(evaluator_features, images, padded_from=(28, 28)))
    np.testing.assert_allclose(view, images[:, 2:30, 2:30].mean(axis=-1, keepdims=True), atol=1e-6)
    assert np.asarray(evaluator_view(evaluator_features, images[:, :16, :16])).shape == (2, 28, 28, 1)


# --- evaluation against the run's own data --------------------------------------------------------------------
def test_evaluate_refuses_a_colour_folder_run_in_one_line_naming_the_options(folder_run):
    """As a user meets it: a real `gan-zoo evaluate` process, one line on stderr, no traceback."""
    result = subprocess.run([sys.executable, "-m", "zoo.cli", "evaluate", folder_run["run"], "--num-samples", "20"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"gan-zoo: error: {folder_run['run']} trained on folder my_color_folder (16×16×3); the Fashion-MNIST evaluator "
        "fits only 28×28 grayscale Fashion-MNIST: pass --features inception (Keras InceptionV3, ImageNet weights) or "
        "--features PATH (a .keras classifier you trust, taking the data's images)"]


def test_evaluate_a_colour_folder_run_with_a_keras_classifier_the_user_trusts(folder_run, tmp_path, capsys):
    path = classifier(tmp_path / "mine.keras", (16, 16, 3))
    report_path = tmp_path / "report.json"
    assert main(["evaluate", folder_run["run"], "--features", path, "--num-samples", "24", "--seeds", "1",
                 "--metrics", "fid,kid", "--batch-size", "12", "--out", str(report_path)]) == 0, capsys.readouterr()
    report = json.load(open(report_path))
    protocol, rows = report["protocol"], report["results"]
    assert (protocol["dataset"], protocol["reference_split"], protocol["reference_size"]) == (
        folder_run["folder"], "train", 24)  # the folder's own images: it has no test/ subfolder
    assert protocol["feature_extractor"]["name"] == "keras_classifier"
    assert "penultimate" in protocol["feature_extractor"]["description"]
    assert set(rows) == {"generator", "untrained generator (baseline)", "real train (baseline)"}
    assert all(np.isfinite(row["fid"]["mean"]) for row in rows.values())
    assert rows["real train (baseline)"]["fid"]["mean"] < rows["generator"]["fid"]["mean"]  # real vs real: closer


def test_a_classifier_of_another_input_shape_is_refused_before_sampling(folder_run, tmp_path, capsys):
    path = classifier(tmp_path / "gray.keras", (28, 28, 1))
    assert main(["evaluate", folder_run["run"], "--features", path, "--num-samples", "24"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"gan-zoo: error: {folder_run['run']} trained on folder my_color_folder (16×16×3); keras_classifier takes "
        "28×28×1 images: pass --features inception (Keras InceptionV3, ImageNet weights) or --features PATH (a .keras "
        "classifier you trust, taking the data's images)")


def tiny_inception(calls):
    """A stand-in for keras.applications.InceptionV3 (no download): records its arguments, returns a pooled 3-d
    network of 299×299×3 images."""
    def build(**kwargs):
        calls.append(kwargs)
        images = keras.Input((299, 299, 3))
        pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.AveragePooling2D(13)(images))
        return keras.Model(images, pooled)

    return build


def test_features_inception_evaluates_a_colour_folder_run(folder_run, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(keras.applications, "InceptionV3", tiny_inception(calls))
    report_path = tmp_path / "report.json"
    assert main(["evaluate", folder_run["run"], "--features", "inception", "--num-samples", "24", "--seeds", "1",
                 "--metrics", "fid", "--no-untrained-baseline", "--out", str(report_path)]) == 0, capsys.readouterr()
    assert calls == [{"include_top": False, "pooling": "avg", "weights": "imagenet"}]
    report = json.load(open(report_path))
    assert report["protocol"]["feature_extractor"]["name"] == "inception"
    assert set(report["results"]) == {"generator", "real train (baseline)"}


def test_inception_weights_that_cannot_be_fetched_are_one_line_naming_local_weights(monkeypatch):
    from zoo.metrics import features

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(UserError) as error:
        features.inception()
    assert str(error.value) == (
        "the Keras InceptionV3 ImageNet weights could not be fetched (URL fetch failure on https://storage.googleapis"
        ".com/...: [Errno -2] Name or service not known); pass --inception PATH with local .h5 weights "
        "(inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5, downloaded where there is network)")
    with pytest.raises(UserError, match=r"^the Keras InceptionV3 ImageNet weights from /x/notop.h5 \(URL fetch"):
        features.inception("/x/notop.h5")


def test_memorization_refuses_a_colour_folder_run_in_one_line(folder_run, tmp_path, capsys):
    assert main(["memorization", folder_run["run"], "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"gan-zoo: error: {folder_run['run']} trained on folder my_color_folder (16×16×3); the Fashion-MNIST "
        "evaluator fits only 28×28 grayscale Fashion-MNIST (memorization compares in its features)")
    assert not os.path.exists(tmp_path / "m")
