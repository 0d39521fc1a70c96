"""`gan-zoo evaluate` on the 2-D mixtures (issues 33, 34): the points are their own features, the known_modes
metric is registered and reported by default, and the real baselines are finite draws of the mixture."""
import json

import numpy as np
import pytest

from hub_export import cli
from zoo.cli.evaluate import feature_extractor
from zoo.data import points
from zoo.errors import UserError
from zoo.eval.metric_registry import DEFAULT_METRICS, METRICS, compute_metrics


def test_known_modes_is_a_default_metric_that_reads_the_modes_the_features_carry():
    centres, sigma = points.mixture("grid25").centres, 0.05
    extractor = feature_extractor(None, None, "grid25")
    assert extractor.name == "points" and np.array_equal(extractor.modes[0], centres) and extractor.modes[1] == sigma
    assert "known_modes" in DEFAULT_METRICS and METRICS["known_modes"].protocol == {"quality_sigmas": 3.0,
                                                                                     "min_share": 20 / 2500}
    fake = np.concatenate([np.repeat(centres[:3], 40, axis=0), np.full((30, 2), 9.0)])  # 3 modes, 30 far points
    batch = fake.reshape(-1, *points.POINT_SHAPE).astype(np.float32)
    generated, real = extractor(batch), extractor(points.test_points("grid25")[:500].reshape(-1, 1, 1, 2))
    assert np.array_equal(generated["features"], fake.astype(np.float32))
    results = compute_metrics(generated, real, ["known_modes"], known_modes=extractor.modes)
    assert results == {"modes_captured": 3, "high_quality": pytest.approx(120 / 150)}
    assert compute_metrics(generated, real, ["known_modes"]) == {}  # image data: no known modes, no columns


def test_the_train_baseline_is_a_fixed_draw_of_the_mixture_other_than_the_test_split():
    train, test = points.reference_points("ring8", "train"), points.reference_points("ring8", "test")
    assert train.shape == test.shape == (points.TEST_SIZE, 2)
    assert np.array_equal(train, points.reference_points("ring8", "train")) and not np.array_equal(train, test)
    mixture = points.mixture("ring8")
    offsets = np.linalg.norm(train[:, None] - mixture.centres[None], axis=-1).min(axis=1)
    assert np.mean(offsets <= 3 * mixture.sigma) > 0.98


@pytest.mark.parametrize("name, dataset, message", [
    ("points", "fashion_mnist", r"--features points compares 2-D points \(ring8, grid25\); this generator was "
                                r"trained on fashion_mnist: pass image features \(fashion_mnist_evaluator, "
                                r"inception, inception_tfhub, inception_keras, or a \.keras classifier file\) or "
                                r"leave --features out$"),
])
def test_points_features_are_refused_for_images_in_one_line(name, dataset, message):
    with pytest.raises(UserError, match=message) as error:
        feature_extractor(name, None, dataset)
    assert "\n" not in str(error.value)


def test_evaluate_a_ring8_run_reports_modes_captured_against_the_real_baseline(tmp_path, capsys):
    run, report = str(tmp_path / "run"), str(tmp_path / "eval.json")
    assert cli.main(["train", "dcgan", "--dataset", "ring8", "--batch-size", "16", "--steps", "2", "--quiet",
                     "--out", run]) == 0
    assert cli.main(["evaluate", run, "--num-samples", "200", "--seeds", "1", "--out", report]) == 0
    table = capsys.readouterr().out
    assert "Features: points" in table and "| Modes captured ↑ | High quality ↑ |" in table
    result = json.load(open(report))
    assert result["protocol"]["feature_extractor"]["name"] == "points"
    assert result["protocol"]["metric_protocols"]["known_modes"]["quality_sigmas"] == 3.0
    real = result["results"]["real train (baseline)"]
    assert real["modes_captured"]["mean"] == 8 and real["high_quality"]["mean"] > 0.95
    assert 0 <= result["results"]["generator"]["modes_captured"]["mean"] <= 8
