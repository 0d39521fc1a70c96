"""The two-sample metrics of issue 34 in the registry: what `gan-zoo evaluate --metrics` computes is what the plain
functions compute on the seeded subsets, the Wasserstein columns say exact or sliced, the protocol states each
metric's parameters, and the report table shows the columns (bad feature pairs: tests/zoo/test_bad_inputs.py)."""
import numpy as np
import pytest

from zoo import metrics
from zoo.errors import UserError
from zoo.eval import metric_registry, scoring
from zoo.metrics import critic, mmd, topology, transport

NEW = ("kernel_mmd", "wasserstein_distance", "geometry_score", "wasserstein_critic")


def features(seed, n, dim=4):
    return {"features": np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)}


def test_registered_two_sample_metrics_compute_their_functions(monkeypatch):
    monkeypatch.setattr(topology, "REPETITIONS", 3)  # the registry reads the module's settings when it runs
    monkeypatch.setattr(critic, "STEPS", 20)
    generated, reference = features(0, 120), features(1, 150)
    results = metric_registry.compute_metrics(generated, reference, NEW, seed=2)
    real, fake = reference["features"], generated["features"]
    assert results["kernel_mmd"] == pytest.approx(mmd.kernel_mmd(real, fake, seed=2), rel=1e-12)
    assert results["wasserstein"] == pytest.approx(transport.wasserstein_distance(real, fake).distance, rel=1e-12)
    sliced = transport.wasserstein_distance(real, fake, max_pairs=0, seed=2)
    assert results["sliced_wasserstein"] == pytest.approx(sliced.distance, rel=1e-12)
    same_size = real[metric_registry.random_subset(len(real), len(fake), 2)]  # γ grows with N: equal sizes
    assert results["geometry_score"] == pytest.approx(topology.geometry_score(same_size, fake, repetitions=3, seed=2))
    assert results["wasserstein_critic"] == pytest.approx(critic.wasserstein_critic(real, fake, steps=20, seed=2))
    assert set(results) == {column for name in NEW for column in metric_registry.METRICS[name].columns}


def test_beyond_the_exact_limit_only_the_sliced_column_is_reported(monkeypatch):
    monkeypatch.setattr(transport, "EXACT_PAIRS", 120 * 150 - 1)
    results = metric_registry.compute_metrics(features(0, 120), features(1, 150), ("wasserstein_distance",), seed=2)
    assert list(results) == ["sliced_wasserstein"]  # never the sliced value under the W₁ label


def test_the_protocol_states_each_metrics_parameters_and_none_is_a_default():
    protocols = metric_registry.metric_protocols(("fid",) + NEW)
    assert list(protocols) == list(NEW)  # fid states none
    assert {"steps": critic.STEPS, "batch_size": critic.BATCH_SIZE, "learning_rate": critic.LEARNING_RATE,
            "seed": "the evaluation seed"}.items() <= protocols["wasserstein_critic"].items()
    assert protocols["wasserstein_distance"]["exact_up_to_pairs"] == transport.EXACT_PAIRS
    assert protocols["geometry_score"]["repetitions"] == topology.REPETITIONS
    assert not set(NEW) & set(metric_registry.DEFAULT_METRICS)
    assert scoring.check_metrics(list(NEW)) == NEW


def test_the_report_table_shows_the_new_columns():
    row = {key: {"mean": 0.5, "std": 0.0} for key in ("kernel_mmd", "wasserstein", "sliced_wasserstein",
                                                      "geometry_score", "wasserstein_critic")}
    report = {"results": {"generator": row},
              "protocol": {"feature_extractor": {"name": "x"}, "num_samples": 60, "seeds": [0],
                           "dataset": "d", "reference_split": "test", "reference_size": 60}}
    header = scoring.markdown_table(report).splitlines()[2]
    for label in ("Kernel MMD² ↓", "W₁ (exact OT) ↓", "Sliced W₁ (1000 dirs) ↓", "Geometry score ↓",
                  "Critic W₁ (held out) ↓"):
        assert f"| {label} |" in header


SMALLEST = {"kernel_mmd": (2, {}), "wasserstein_distance": (1, {}), "geometry_score": (64, {"repetitions": 1}),
            "wasserstein_critic": (4, {"steps": 1})}  # rows per set, and the quickest settings


@pytest.mark.parametrize("name", NEW)
def test_each_metric_takes_its_fewest_rows_and_refuses_one_fewer_naming_itself(name):
    """The minimum, and the metric's name, as refused (tests/zoo/test_bad_inputs.py holds the full table of bad
    feature pairs, but loads presets: too slow to run for every mutant of the mutation scope)."""
    least, settings = SMALLEST[name]
    metric = getattr(metrics, name)
    value = metric(features(0, least)["features"], features(1, least)["features"], **settings)
    assert np.isfinite(getattr(value, "distance", value))
    with pytest.raises(UserError) as refused:
        metric(features(0, least - 1)["features"], features(1, least)["features"], **settings)
    assert str(refused.value) == f"{name} needs at least {least} samples per set; received {least - 1} real and " \
                                 f"{least} generated"


def test_geometry_score_needs_as_many_samples_as_landmarks():
    with pytest.raises(UserError, match="too few for geometry_score: it needs at least 64"):
        scoring.check_sample_counts(("kernel_mmd", "geometry_score"), 63, 1)
