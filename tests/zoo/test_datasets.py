"""Tests for zoo.data.datasets: IDX, folder and tfds sources plus the shared options."""

import os
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from idx import idx_bytes, write_file, write_idx
from zoo.data import datasets
from zoo.errors import UserError

REAL_IDX = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


# ---------------------------------------------------------------- helpers

def fake_images(n, value=None):
    """n 28x28 images; image i is filled with i (or `value`), pixel 0 is 255."""
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        images[i] = i if value is None else value
    images[:, 0, 0] = 255
    return images


@pytest.fixture
def idx_dir(tmp_path):
    write_idx(tmp_path, "train", fake_images(20), np.arange(20) % 10, gz=True)
    write_idx(tmp_path, "t10k", fake_images(6, value=7), np.full(6, 3), gz=False)
    return tmp_path


def load_idx(directory, **kwargs):
    return datasets.load("fashion_mnist", data_dir=str(directory), source="idx", **kwargs)


def labels_of(ds):
    return [int(label) for _, label in ds]


def save_image(path, size=(8, 6), mode="RGB", color=(200, 10, 30)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if mode == "L":
        color = color[0]
    Image.new(mode, size, color).save(path)


# ---------------------------------------------------------------- IDX

def test_idx_shapes_dtype_and_exact_range(idx_dir):
    ds = load_idx(idx_dir)
    assert ds.element_spec[0].shape == (28, 28, 1)
    assert ds.element_spec[0].dtype == tf.float32
    assert ds.element_spec[1].dtype == tf.int32
    images = [image.numpy() for image, _ in ds]
    assert len(images) == 20
    assert images[0][1, 1, 0] == -1.0
    assert images[0][0, 0, 0] == 1.0
    assert images[5][1, 1, 0] == pytest.approx(5 / 127.5 - 1)


def test_idx_labels_in_order_and_split_selects_files(idx_dir):
    assert labels_of(load_idx(idx_dir)) == [i % 10 for i in range(20)]
    test_images = [(image.numpy(), int(label)) for image, label in load_idx(idx_dir, split="test")]
    assert len(test_images) == 6
    assert all(label == 3 for _, label in test_images)
    assert test_images[0][0][1, 1, 0] == pytest.approx(7 / 127.5 - 1)


def test_idx_auto_source_uses_data_dir(idx_dir):
    ds = datasets.load("fashion_mnist", data_dir=str(idx_dir))
    assert len(labels_of(ds)) == 20


def test_idx_unknown_split(idx_dir):
    with pytest.raises(UserError, match="train, test"):
        load_idx(idx_dir, split="validation")


def test_idx_class_filter_by_int_and_name(idx_dir):
    assert labels_of(load_idx(idx_dir, classes=[1, 3])) == [1, 3, 1, 3]
    assert labels_of(load_idx(idx_dir, classes=["sneaker"])) == [7, 7]
    with pytest.raises(UserError, match="sandal"):
        load_idx(idx_dir, classes=["hat"])
    with pytest.raises(UserError, match="valid classes"):
        load_idx(idx_dir, classes=[10])


def test_idx_batching_drop_remainder(idx_dir):
    batches = [images.shape for images, _ in load_idx(idx_dir, batch_size=8)]
    assert batches == [(8, 28, 28, 1), (8, 28, 28, 1)]
    kept = [images.shape[0] for images, _ in load_idx(idx_dir, batch_size=8, drop_remainder=False)]
    assert kept == [8, 8, 4]
    assert load_idx(idx_dir, batch_size=8).element_spec[0].shape == (8, 28, 28, 1)


def test_idx_shuffle_seeded(idx_dir):
    def order(seed):
        return [float(x[1, 1, 0]) for x, _ in load_idx(idx_dir, shuffle=True, seed=seed)]
    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == sorted(order(2)) == sorted(set(order(1)))


def test_idx_repeat_epochs_differ_but_reproducible(idx_dir):
    def stream(seed):
        ds = load_idx(idx_dir, shuffle=True, seed=seed, repeat=True).take(40)
        return [float(x[1, 1, 0]) for x, _ in ds]
    run = stream(3)
    assert run == stream(3)
    assert run[:20] != run[20:]
    assert sorted(run[:20]) == sorted(run[20:])  # each epoch is a permutation of the data


def test_images_converted_in_batches_keep_their_labels_across_batches_and_epochs(idx_dir):
    """Decoded same-size images are converted PREPROCESS_BATCH at a time and unbatched: over several
    such batches of a shuffled, repeated stream, image i (filled with i, label i % 10) stays whole."""
    count = 3 * datasets.PREPROCESS_BATCH + 7
    for image, label in load_idx(idx_dir, shuffle=True, seed=4, repeat=True).take(count):
        fill = round((float(image[1, 1, 0]) + 1) * 127.5)
        assert float(image[0, 0, 0]) == 1.0 and int(label) == fill % 10
        np.testing.assert_array_equal(image.numpy()[1:], np.float32(fill) / 127.5 - 1)


def test_every_iterator_over_a_shuffled_dataset_yields_the_same_order(idx_dir):
    """Keras and tf.distribute make iterators of their own: the order must not depend on how many."""
    ds = load_idx(idx_dir, shuffle=True, seed=3, repeat=True).take(40)
    first = [float(x[1, 1, 0]) for x, _ in ds]
    second = [float(x[1, 1, 0]) for x, _ in ds]
    assert first == second


def test_idx_resize_and_channels(idx_dir):
    ds = load_idx(idx_dir, image_size=32, channels=3)
    assert ds.element_spec[0].shape == (32, 32, 3)
    values = np.stack([x.numpy() for x, _ in ds])
    assert values.min() >= -1.0 and values.max() <= 1.0


@pytest.mark.parametrize("gz", [True, False])
def test_idx_bad_magic(tmp_path, gz):
    write_idx(tmp_path, "train", fake_images(4), np.arange(4), gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    write_file(tmp_path / "train-images-idx3-ubyte", idx_bytes(fake_images(4), 0x801), gz)
    with pytest.raises(UserError, match=f"{name}: corrupt or not an IDX file"):
        load_idx(tmp_path)


def test_idx_truncated_payload(tmp_path):
    write_idx(tmp_path, "train", fake_images(4), np.arange(4), gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError, match="train-images-idx3-ubyte: corrupt or not an IDX file"):
        load_idx(tmp_path)


def test_idx_count_mismatch(tmp_path):
    write_idx(tmp_path, "train", fake_images(4), np.arange(3), gz=True)
    with pytest.raises(UserError, match="train-labels-idx1-ubyte.gz: corrupt or not an IDX file"):
        load_idx(tmp_path)


def test_idx_missing_files(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "IDX_SEARCH_PATHS", ())
    with pytest.raises(UserError, match="dataset-fashion-mnist") as error:
        load_idx(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_idx_cache_reused_and_invalidated_by_mtime(tmp_path):
    write_idx(tmp_path, "train", fake_images(4), np.arange(4), gz=False)
    assert labels_of(load_idx(tmp_path)) == [0, 1, 2, 3]
    write_idx(tmp_path, "train", fake_images(4), np.array([5, 5, 5, 5]), gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    os.utime(path, (1e9, 1e9))
    assert labels_of(load_idx(tmp_path)) == [5, 5, 5, 5]


@pytest.mark.skipif(not os.path.exists(REAL_IDX),
                    reason="real Fashion-MNIST absent (apt-get install -y dataset-fashion-mnist)")
def test_real_fashion_mnist_test_split():
    ds = datasets.load("fashion_mnist", split="test", batch_size=2000, prefetch=False)
    labels = np.concatenate([label.numpy() for _, label in ds])
    assert labels.shape == (10000,)
    assert sorted(set(labels.tolist())) == list(range(10))


# ---------------------------------------------------------------- folder

def test_folder_unlabelled(tmp_path):
    for i in range(3):
        save_image(tmp_path / f"img{i}.png")
    save_image(tmp_path / "photo.JPG")
    (tmp_path / "notes.txt").write_text("ignored")
    ds = datasets.load(str(tmp_path))
    assert ds.element_spec.shape == (6, 8, 3)
    images = list(ds)
    assert len(images) == 4
    red = images[0].numpy()[0, 0, 0]
    assert red == pytest.approx(200 / 127.5 - 1)


def test_folder_class_subfolders(tmp_path):
    for name, count in (("cats", 2), ("dogs", 3)):
        for i in range(count):
            save_image(tmp_path / name / f"{i}.png")
    ds = datasets.load(str(tmp_path))
    assert labels_of(ds) == [0, 0, 1, 1, 1]
    assert labels_of(datasets.load(str(tmp_path), classes=["dogs"])) == [1, 1, 1]
    with pytest.raises(UserError, match="0=cats, 1=dogs"):
        datasets.load(str(tmp_path), classes=["birds"])


def test_folder_split_subfolder(tmp_path):
    save_image(tmp_path / "train" / "a.png")
    save_image(tmp_path / "test" / "b.png")
    save_image(tmp_path / "test" / "c.png")
    assert len(list(datasets.load(str(tmp_path), split="test"))) == 2
    with pytest.raises(UserError, match="validation"):
        datasets.load(str(tmp_path), split="validation")


def test_folder_mixed_sizes_need_image_size(tmp_path):
    save_image(tmp_path / "a.png", size=(8, 6))
    save_image(tmp_path / "b.png", size=(10, 12))
    with pytest.raises(UserError, match="image_size") as error:
        datasets.load(str(tmp_path))
    assert "a.png" in str(error.value) and "b.png" in str(error.value)
    ds = datasets.load(str(tmp_path), image_size=(5, 7))
    assert ds.element_spec.shape == (5, 7, 3)
    assert [x.shape for x in ds] == [(5, 7, 3), (5, 7, 3)]


def test_folder_channels_conversion(tmp_path):
    save_image(tmp_path / "a.png")
    ds = datasets.load(str(tmp_path), channels=1)
    assert ds.element_spec.shape == (6, 8, 1)
    save_image(tmp_path / "gray" / "g.png", mode="L")
    gray = datasets.load(str(tmp_path / "gray"))
    assert gray.element_spec.shape == (6, 8, 1)
    assert datasets.load(str(tmp_path / "gray"), channels=3).element_spec.shape == (6, 8, 3)
    with pytest.raises(UserError, match="1 .* or 3"):
        datasets.load(str(tmp_path), channels=4)


def test_folder_empty(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    with pytest.raises(UserError, match=r"no images found in .*\.png, \.jpg, \.jpeg"):
        datasets.load(str(tmp_path))


def test_folder_bad_image_named(tmp_path):
    save_image(tmp_path / "good.png")
    (tmp_path / "broken.png").write_text("not an image")
    with pytest.raises(UserError, match="broken.png"):
        datasets.load(str(tmp_path))


@pytest.mark.parametrize("extension", [".png", ".jpg"])
def test_folder_truncated_image_named_before_training(tmp_path, extension):
    """Its header reads fine (size known); only decoding shows it is cut short (TF's own error would
    come at step 0 without the file's name)."""
    save_image(tmp_path / "good.png")
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)  # large enough a payload
    Image.fromarray(noise).save(tmp_path / f"cut{extension}")
    data = (tmp_path / f"cut{extension}").read_bytes()
    (tmp_path / f"cut{extension}").write_bytes(data[:len(data) // 2])
    with pytest.raises(UserError, match=f"cannot read image .*cut{extension} .*(?i:truncated).*remove it or replace it"):
        datasets.load(str(tmp_path))


def test_folder_source_needs_directory(tmp_path):
    with pytest.raises(UserError, match="not a directory"):
        datasets.load(str(tmp_path / "missing"), source="folder")


def test_folder_without_labels_rejects_classes(tmp_path):
    save_image(tmp_path / "a.png")
    with pytest.raises(UserError, match="no labels"):
        datasets.load(str(tmp_path), classes=[0])


def test_folder_random_and_center_crop(tmp_path):
    save_image(tmp_path / "a.png", size=(16, 12))
    save_image(tmp_path / "b.png", size=(20, 10))
    random = datasets.load(str(tmp_path), image_size=8, crop="random", seed=0)
    assert random.element_spec.shape == (8, 8, 3)
    assert [x.shape for x in random] == [(8, 8, 3)] * 2
    center = datasets.load(str(tmp_path), image_size=(4, 6), crop="center", batch_size=2)
    assert center.element_spec.shape == (2, 4, 6, 3)
    assert next(iter(center)).shape == (2, 4, 6, 3)
    with pytest.raises(UserError, match="at least 11x11"):
        datasets.load(str(tmp_path), image_size=11, crop="random")


def test_random_crop_reproducible_for_seed(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")

    def crops(seed):
        ds = datasets.load(str(tmp_path), image_size=4, crop="random", seed=seed, repeat=True)
        return [x.numpy() for x in ds.take(5)]
    assert all(np.array_equal(a, b) for a, b in zip(crops(1), crops(1)))
    assert not all(np.array_equal(a, b) for a, b in zip(crops(1), crops(2)))


# ---------------------------------------------------------------- options

def test_invalid_options(idx_dir):
    with pytest.raises(UserError, match="none, center, random"):
        load_idx(idx_dir, crop="zoom")
    with pytest.raises(UserError, match="auto, idx, tfds, folder"):
        datasets.load("fashion_mnist", source="web")
    with pytest.raises(UserError, match="image_size"):
        load_idx(idx_dir, image_size=(0, 3))
    with pytest.raises(UserError, match="needs image_size"):
        load_idx(idx_dir, crop="center")


# ---------------------------------------------------------------- tfds

@pytest.fixture
def online(monkeypatch):
    """tfds.testing.mock_data stands in for the download: the host counts as reachable."""
    monkeypatch.setattr(datasets, "_host_reachable", lambda url, timeout=3.0: True)


def test_tfds_mock_mnist(online):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        ds = datasets.load("mnist", split="train", batch_size=4)
        assert ds.element_spec[0].shape == (4, 28, 28, 1)
        batches = list(ds)
    assert len(batches) == 2
    images = np.concatenate([x.numpy() for x, _ in batches])
    assert images.min() >= -1.0 and images.max() <= 1.0
    labels = np.concatenate([y.numpy() for _, y in batches])
    assert labels.dtype == np.int32 and ((labels >= 0) & (labels < 10)).all()


def test_tfds_mock_fashion_mnist_classes_by_name(online):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        ds = datasets.load("fashion_mnist", source="tfds", classes=["Sneaker", "bag"], image_size=32)
        assert ds.element_spec[0].shape == (32, 32, 1)
        assert set(labels_of(ds)) <= {7, 8}


def test_tfds_offline_unprepared_fails_fast_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "_host_reachable", lambda url, timeout=3.0: False)
    root = tmp_path / "tfds"
    started = time.monotonic()
    with pytest.raises(UserError, match=r"'mnist' is not prepared in .*tfds and its download host "
                                        r"storage.googleapis.com cannot be reached .*tfds build mnist") as error:
        datasets.load("mnist", data_dir=str(root))
    assert time.monotonic() - started < 10 and "\n" not in str(error.value)
    assert not root.exists()


def test_tfds_failed_download_removes_only_what_it_created(tmp_path, monkeypatch, online):
    import tensorflow_datasets as tfds

    root = tmp_path / "tfds"
    (root / "kept").mkdir(parents=True)

    def partial_download(name, data_dir, **kwargs):
        (root / name / "3.0.1.incomplete").mkdir(parents=True)
        (root / "downloads").mkdir()
        raise ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(tfds, "load", partial_download)
    with pytest.raises(UserError, match="tfds could not load dataset 'mnist' split 'train' .*Failed to establish"):
        datasets.load("mnist", data_dir=str(root))
    assert sorted(os.listdir(root)) == ["kept"]


def test_unknown_dataset_lists_known_names(tmp_path):
    with pytest.raises(UserError, match="fashion_mnist") as error:
        datasets.load("no_such_dataset_xyz", data_dir=str(tmp_path))
    assert "no_such_dataset_xyz" in str(error.value)
    assert "\n" not in str(error.value)


def test_fashion_mnist_auto_bad_split_lists_splits(idx_dir):
    with pytest.raises(UserError, match="train, test"):
        datasets.load("fashion_mnist", split="validation", data_dir=str(idx_dir))


def test_pad_centers_images_on_a_black_canvas(idx_dir):
    """Fashion-MNIST 28×28 → 32×32 for StyleGAN-lite: 2 px of -1 on every side, pixels unchanged."""
    padded = next(iter(load_idx(idx_dir, image_size=32, crop="pad")))[0].numpy()
    plain = next(iter(load_idx(idx_dir)))[0].numpy()
    assert padded.shape == (32, 32, 1)
    np.testing.assert_array_equal(padded[2:30, 2:30], plain)
    assert (padded[:2] == -1).all() and (padded[30:] == -1).all() and (padded[:, :2] == -1).all()
    with pytest.raises(UserError, match="cannot pad fashion_mnist's 28x28 images to the smaller 24x24"):
        load_idx(idx_dir, image_size=24, crop="pad")
