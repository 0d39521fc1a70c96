"""The metric registry: one entry makes a metric something `evaluate`, `--metrics` and the report
tables know, and the registered metrics compute what their definitions in zoo.metrics compute."""
import numpy as np
import pytest

from zoo.errors import UserError
from zoo.eval import metric_registry, scoring
from zoo.metrics import frechet, manifold, memorization
from zoo.metrics.modes import known_modes


def features(seed, n=60, dim=6, classes=4):
    rng = np.random.default_rng(seed)
    return {"features": rng.normal(size=(n, dim)).astype(np.float32),
            "logits": rng.normal(size=(n, classes)).astype(np.float32)}


def test_a_registered_metric_is_accepted_computed_and_tabulated(monkeypatch):
    monkeypatch.setitem(metric_registry.METRICS, "mean_gap", None)  # removed again after the test

    @metric_registry.register_metric("mean_gap", {"mean_gap": "Mean gap ↓"}, min_samples=5)
    def mean_gap(f):
        return {"mean_gap": float(np.linalg.norm(f.fake.mean(0) - f.real.mean(0)))}

    generated, reference = features(0), features(1)
    assert scoring.check_metrics(["fid", "mean_gap"]) == ("fid", "mean_gap")
    results = metric_registry.compute_metrics(generated, reference, ("mean_gap", "fid"))
    assert list(results) == ["fid", "mean_gap"]  # registry order, whatever order they were asked in
    assert results["mean_gap"] == pytest.approx(np.linalg.norm(generated["features"].mean(0) -
                                                               reference["features"].mean(0)))
    with pytest.raises(UserError, match="too few for mean_gap: it needs at least 5"):
        scoring.check_sample_counts(("fid", "mean_gap"), 4, 1)
    report = {"results": {"g": {"mean_gap": {"mean": 0.25, "std": 0.0}}},
              "protocol": {"feature_extractor": {"name": "x"}, "num_samples": 60, "seeds": [0, 1],
                           "dataset": "d", "reference_split": "test", "reference_size": 60}}
    assert "| | Mean gap ↓ |" in scoring.markdown_table(report)
    assert "mean_gap" not in metric_registry.DEFAULT_METRICS


def test_registered_metrics_compute_their_definitions():
    generated, reference, train = features(2, n=800), features(3, n=800), features(4, n=2000)
    distribution = np.full(4, 0.25)
    copying_test = memorization.CopyingTest(train["features"], reference["features"])
    results = metric_registry.compute_metrics(generated, reference, tuple(metric_registry.METRICS), seed=0,
                                              real_class_distribution=distribution, copying_test=copying_test,
                                              known_modes=(reference["features"][:4], 1.0))
    assert results["fid"] == pytest.approx(frechet.fid_from_activations(reference["features"], generated["features"]))
    precision, recall = manifold.precision_recall(reference["features"], generated["features"], metric_registry.PRDC_K)
    assert (results["precision"], results["recall"]) == pytest.approx((precision, recall))
    assert results["classes_covered"] <= 4 and results["class_kl"] >= 0
    copying = memorization.data_copying(train["features"], reference["features"], generated["features"])["c_t"]
    assert results["data_copying"] == pytest.approx(copying)
    modes = known_modes(generated["features"], reference["features"][:4], 1.0)
    assert (results["modes_captured"], results["high_quality"]) == (modes["modes_captured"], modes["high_quality"])
    columns = {column for metric in metric_registry.METRICS.values() for column in metric.columns}
    computed_elsewhere = set(metric_registry.METRICS["gan_train_test"].columns)
    assert columns - computed_elsewhere - {"off_class_share"} <= set(results)  # every column of a computed metric
    # (the off-class share: only against a reference that lacks some classes)
    lacking = metric_registry.compute_metrics(generated, reference, ("mode_score", "mode_coverage"),
                                              real_class_distribution=np.array([0.5, 0.5, 0.0, 0.0]))
    assert set(lacking) == {"mode_score", "classes_covered", "class_kl", "off_class_share"}
    assert all(np.isfinite(value) for value in lacking.values()) and lacking["mode_score"] > 0, lacking
    no_classes = metric_registry.compute_metrics({"features": generated["features"]}, reference,
                                                 tuple(metric_registry.METRICS))
    assert not {"is", "mode_score", "class_kl", "data_copying", "modes_captured"} & set(no_classes)
    assert "fid" in no_classes


def test_one_nn_compares_random_draws_of_the_larger_set_not_its_first_points():
    """A reference stored in order (cluster A, then cluster B) against fewer samples of the same mixture: equal-size
    random draws give chance (0.5); the reference's first points alone (all A) would tell B-samples apart."""
    rng = np.random.default_rng(0)
    cluster = lambda centre, n: rng.normal(centre, 0.1, size=(n, 2)).astype(np.float32)
    reference = np.concatenate([cluster(0.0, 400), cluster(10.0, 400)])
    generated = rng.permutation(np.concatenate([cluster(0.0, 100), cluster(10.0, 100)]))
    accuracy = metric_registry.compute_metrics({"features": generated}, {"features": reference},
                                               ("one_nn",))["one_nn_accuracy"]
    assert abs(accuracy - 0.5) < 0.1
