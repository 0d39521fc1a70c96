"""The memorization check: the data-copying statistic C_T (Meehan et al. 2020) flags a "generator" that
returns training images and passes one that returns images it never trained on; its parts agree with
brute-force definitions; `gan-zoo memorization` writes the report and the nearest-neighbour grid."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import cli, progress
from zoo.eval import memorization as check
from zoo.eval.scoring import real_images
from zoo.metrics import memorization
from zoo.presets import store
from zoo.presets.packaging import card_markdown

from idx import write_fashion_mnist_subset


def test_mann_whitney_z_and_nearest_match_their_definitions():
    rng = np.random.default_rng(0)
    held_out, generated = rng.normal(size=30), rng.normal(size=40)
    generated[:5] = held_out[:5]  # ties count ½
    u = sum((q > p) + 0.5 * (q == p) for p in held_out for q in generated)
    m, n = len(held_out), len(generated)
    expected = (u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
    assert memorization.mann_whitney_z(held_out, generated) == pytest.approx(expected)
    points, reference = rng.normal(size=(50, 4)), rng.normal(size=(70, 4))
    distances, indices = memorization.nearest(points, reference, k=3, block_entries=500)  # several blocks
    brute = np.linalg.norm(points[:, None] - reference[None], axis=2)
    np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :3], rtol=1e-5)
    np.testing.assert_array_equal(indices, np.argsort(brute, axis=1)[:, :3])


def test_c_t_is_negative_for_copies_near_zero_for_fresh_data_positive_for_far_samples():
    rng = np.random.default_rng(1)
    train, held_out, fresh = (rng.normal(size=(size, 8)) for size in (3000, 1000, 1000))
    copies = train[:1000] + 1e-3 * rng.normal(size=(1000, 8))
    assert memorization.data_copying(train, held_out, copies)["c_t"] < -3
    assert abs(memorization.data_copying(train, held_out, fresh)["c_t"]) < 3
    assert memorization.data_copying(train, held_out, 1.5 * fresh)["c_t"] > 3  # underfit: far from the data
    with pytest.raises(ValueError, match="no cell holds 20 held-out and 20 generated points"):
        memorization.data_copying(train, held_out, fresh[:10])


def images_of(images):
    """A "generator" (sample_fn(seed) -> (start, count) -> images) that returns stored images in order."""
    return lambda seed: lambda start, count: images[start:start + count]


@pytest.fixture(scope="module")
def small_fashion_mnist(tmp_path_factory):
    """The first 12000 training and 4000 test images of Fashion-MNIST as a data_dir: the check's protocol on
    a sixth of the training split (extracting and partitioning all 60000 cost ~100 s of the suite)."""
    return str(write_fashion_mnist_subset(tmp_path_factory.mktemp("fashion_mnist_subset"), 12000, 4000))


def test_a_generator_returning_training_images_is_flagged_and_one_returning_unseen_images_is_not(
        evaluator_features, small_fashion_mnist):
    train, _ = real_images("fashion_mnist", "train", data_dir=small_fashion_mnist)
    test, _ = real_images("fashion_mnist", "test", data_dir=small_fashion_mnist)
    assert (len(train), len(test)) == (12000, 4000)
    report = check.memorization_report({"copier": images_of(train[::7]), "honest": images_of(test)},
                                       evaluator_features, num_samples=1500, data_dir=small_fashion_mnist)
    results = report["results"]
    assert results["copier"]["c_t"] < -3
    assert abs(results["honest"]["c_t"]) < 3
    assert abs(results[check.REFERENCE_ROW]["c_t"]) < 3
    assert report["protocol"]["held_out"] == "test, 2000 images"


def test_cli_writes_the_report_and_the_grid_and_attaches_them_to_the_card(tmp_path, capsys, small_fashion_mnist,
                                                                           monkeypatch):
    preset, out = tmp_path / "dcgan_copy", tmp_path / "memorization"
    shutil.copytree(store.preset_path("dcgan_fashion_mnist_28"), preset)
    unchecked = json.loads((preset / "card.json").read_text())  # the shipped card has the check: take it off
    unchecked.pop("memorization")
    unchecked["files"].pop("memorization.png")
    (preset / "memorization.png").unlink()
    (preset / "card.json").write_text(json.dumps(unchecked))
    assert "Not checked yet" in card_markdown(store.card(str(preset)))
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    assert cli.main(["memorization", str(preset), "--num-samples", "1000", "--data-dir", small_fashion_mnist,
                     "--out", str(out), "--attach"]) == 0
    printed, errors = capsys.readouterr()
    assert "500/1000 samples scored - " in errors  # a line per batch of 500, none once all are scored
    assert "generator: C_T = " in printed
    report = json.loads((out / "memorization.json").read_text())
    assert set(report["results"]) == {"generator", "real test images (reference)"}
    assert report["protocol"]["num_samples"] == 1000 and report["command"].startswith("gan-zoo memorization")
    grid = Image.open(out / "nearest_neighbours.png")
    assert grid.size == (2 + 7 * 30, 2 + check.GRID_SAMPLES * 30)  # sample | 3 by features | 3 by pixels
    card = store.verified_card(str(preset))  # the grid is listed with its sha256 and checks out
    assert card["memorization"]["results"] == report["results"]
    text = card_markdown(card)
    assert "## Memorization" in text and "dcgan_fashion_mnist_28_memorization.png" in text
    assert f"| generator | {report['results']['generator']['c_t']:.2f} |" in text
    shipped = zoo.load("dcgan_fashion_mnist_28").sample(2, seed=1)
    np.testing.assert_array_equal(zoo.load(str(preset)).sample(2, seed=1), shipped)  # weights untouched
    assert cli.main(["memorization", "srgan_fashion_mnist_x4", "--out", str(tmp_path / "x")]) == 2
    assert "memorization checks z → image generators" in capsys.readouterr().err


def test_evaluate_reports_data_copying_and_flags_the_real_training_images(tmp_path, capsys, small_fashion_mnist):
    report_path = tmp_path / "eval.json"
    assert cli.main(["evaluate", "dcgan_fashion_mnist_28", "--metrics", "fid,data_copying", "--num-samples", "1000",
                     "--seeds", "1", "--no-untrained-baseline", "--data-dir", small_fashion_mnist,
                     "--out", str(report_path)]) == 0
    assert "Data copying C_T" in capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert report["results"]["real train (baseline)"]["data_copying"]["mean"] < -3  # training images: copies
    assert np.isfinite(report["results"]["generator"]["data_copying"]["mean"])
    assert report["protocol"]["data_copying"]["cells"] == memorization.CELLS
