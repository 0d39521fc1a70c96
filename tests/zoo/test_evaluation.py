"""`gan-zoo evaluate`: reference cache with checksum, mode dropping detected on real features,
and the end-to-end report (baselines, mean ± std over seeds, protocol)."""
import json
import os

import numpy as np
import pytest

from zoo import cli, evaluation, training
from zoo.metrics import features


@pytest.fixture(scope="module")
def evaluator_features():
    return features.fashion_mnist_evaluator()


@pytest.fixture(scope="module", autouse=True)
def shared_cache(tmp_path_factory):
    """One reference-feature cache for this module's tests (the real test split is extracted once)."""
    with pytest.MonkeyPatch.context() as patch:
        directory = str(tmp_path_factory.mktemp("cache"))
        patch.setattr(evaluation, "CACHE_DIR", directory)
        yield directory


def test_reference_features_are_cached_and_a_corrupt_cache_is_recomputed(tmp_path, evaluator_features):
    first, info = evaluation.reference_features(evaluator_features, "fashion_mnist", "test", 1000, cache_dir=str(tmp_path))
    assert not info["cached"] and first["features"].shape == (10000, 128) and first["labels"].shape == (10000,)
    again, info = evaluation.reference_features(evaluator_features, "fashion_mnist", "test", 1000, cache_dir=str(tmp_path))
    assert info["cached"]
    np.testing.assert_array_equal(again["features"], first["features"])
    with open(info["cache"], "r+b") as handle:  # flip bytes in the cached file
        handle.seek(2000)
        handle.write(b"\xff" * 64)
    recomputed, info = evaluation.reference_features(evaluator_features, "fashion_mnist", "test", 1000,
                                                     cache_dir=str(tmp_path))
    assert not info["cached"]
    np.testing.assert_array_equal(recomputed["features"], first["features"])


def test_dropping_classes_raises_fid_and_lowers_recall(evaluator_features):
    """Lucic et al.'s mode-dropping experiment on real Fashion-MNIST features."""
    reference, _ = evaluation.reference_features(evaluator_features, "fashion_mnist", "test", 1000)
    images, labels = evaluation.real_images("fashion_mnist", "train")
    subset = evaluation.random_subset(len(images), 12000, seed=0)
    images, labels = images[subset], labels[subset]
    train = evaluation.extract_features(evaluator_features, evaluation.in_batches(images, 1000))
    fids, recalls = [], []
    for dropped in range(0, 5):
        keep = np.flatnonzero(labels >= dropped)[:3000]  # classes 0..dropped-1 removed, same sample size
        sample = {key: value[keep] for key, value in train.items()}
        results = evaluation.compute_metrics(sample, reference, ("fid", "precision_recall"))
        fids.append(results["fid"])
        recalls.append(results["recall"])
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert all(a > b for a, b in zip(recalls, recalls[1:])), recalls


def test_evaluate_cli_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    training.train(training.TrainConfig(recipe="dcgan", out=str(run), steps=2, batch_size=16, verbose=0,
                                        recipe_args={"width": 8, "latent_dim": 8}, sample_every=100))
    report_path = tmp_path / "report.json"
    code = cli.main(["evaluate", str(run), "--num-samples", "300", "--seeds", "2", "--batch-size", "150",
                     "--metrics", "fid,kid,is,precision_recall,mode_coverage", "--out", str(report_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| generator |" in printed and "| real train (baseline) |" in printed and "±" in printed
    report = json.load(open(report_path))
    rows = report["results"]
    assert set(rows) == {"generator", "untrained generator (baseline)", "real train (baseline)"}
    assert len(rows["generator"]["fid"]["values"]) == 2
    # real train images are far closer to the test split than a 2-step generator or an untrained one
    assert rows["real train (baseline)"]["fid"]["mean"] < rows["generator"]["fid"]["mean"]
    assert rows["real train (baseline)"]["recall"]["mean"] > 0.5
    assert rows["real train (baseline)"]["classes_covered"]["mean"] == 10
    protocol = report["protocol"]
    assert protocol["num_samples"] == 300 and protocol["seeds"] == [0, 1] and protocol["reference_split"] == "test"
    assert protocol["feature_extractor"]["name"] == "fashion_mnist_evaluator" and protocol["feature_extractor"]["sha256"]
    assert report["target"]["kind"] == "run" and report["command"].startswith("gan-zoo evaluate")


def test_evaluate_rejects_unknown_metrics_in_one_line(tmp_path, capsys):
    code = cli.main(["evaluate", str(tmp_path), "--metrics", "fid,sharpness"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error
    assert "not a training run directory" in error  # the target is checked first


def test_periodic_evaluation_logs_fid_and_keeps_the_best_checkpoint(tmp_path):
    out = tmp_path / "run"
    training.train(training.TrainConfig(recipe="dcgan", out=str(out), steps=4, batch_size=16, verbose=0,
                                        recipe_args={"width": 8, "latent_dim": 8}, sample_every=100,
                                        eval_every=2, eval_samples=200))
    records = [json.loads(line) for line in open(out / "eval.jsonl")]
    assert [r["step"] for r in records] == [2, 4]
    assert all(r["fid"] > 0 and np.isfinite(r["kid"]) for r in records)
    best = json.load(open(out / "best" / "best.json"))
    assert best["fid"] == min(r["fid"] for r in records)
    assert best["step"] == min(records, key=lambda r: r["fid"])["step"]
    assert os.path.exists(best["checkpoint"] + ".index")
    assert any(name.startswith("events") for name in os.listdir(out / "logs" / "eval"))


@pytest.mark.slow
def test_gan_train_and_gan_test_for_a_conditional_generator(tmp_path, evaluator_features):
    from zoo import generators

    run = tmp_path / "cgan"
    training.train(training.TrainConfig(recipe="cgan", out=str(run), steps=2, batch_size=16, verbose=0,
                                        recipe_args={"width": 8, "latent_dim": 8}, sample_every=100))
    recipe, _ = generators.load_target(str(run))
    report = evaluation.evaluate({"cgan": generators.sampler(recipe)}, evaluator_features, num_samples=1000, seeds=1,
                                 metrics=("gan_train_test",), num_classes=recipe.num_classes, gan_train_steps=150)
    real, generated = report["results"]["real train (baseline)"], report["results"]["cgan"]
    # the real-data row: the evaluator on real train images, and a classifier trained on 1000 real images
    assert real["gan_test"]["mean"] > 0.9 and real["gan_train"]["mean"] > 0.6
    # a 2-step generator's samples neither look like their class nor teach a classifier
    assert generated["gan_test"]["mean"] < 0.5 and generated["gan_train"]["mean"] < real["gan_train"]["mean"]
    assert report["protocol"]["gan_train_steps"] == 150
