"""benchmarks/metric_properties.py: a run killed mid-append and rerun, or measured in parts, gives the cells and the
table an uninterrupted run gives; finished cells are not measured again; other settings in the same --work-dir are
refused in one line; --report-only gives a partial run's partial table."""
import functools
import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import metric_properties as mp  # noqa: E402

TINY = ["--samples", "100", "--seeds", "2", "--metrics", "fid,mode_coverage", "--properties", "shift,copying"]
SETS_PER_SEED = 1 + 2 + 4  # the shared clean draw, shift 1 and 2, copying 25 % ... 100 %


@functools.cache
def tiny_split(split):
    """A small stand-in for a split's features, logits and labels (and the training images): the resume logic
    under test reads them as it reads the real ones, in seconds."""
    rng = np.random.default_rng(0 if split == "train" else 1)
    count = 1000 if split == "train" else 500
    return {"features": rng.normal(size=(count, 128)).astype(np.float32),
            "logits": rng.normal(size=(count, 10)).astype(np.float32), "labels": rng.integers(0, 10, count),
            "images": rng.uniform(-1, 1, (count, 28, 28, 1)).astype(np.float32)}


@pytest.fixture(autouse=True)
def tiny_data(monkeypatch):
    patch_tiny_data(monkeypatch)


DRAW_PROPERTY, DRAW_COST = mp.property_figure, mp.cost_figure


def patch_tiny_data(patch):
    """Tiny data, and no figures (seconds of matplotlib per run) unless a test draws them again."""
    patch.setattr(mp, "property_figure", lambda *args: None)
    patch.setattr(mp, "cost_figure", lambda *args: None)
    patch.setattr(mp, "COPY_SET", 200)
    patch.setattr(mp, "reference_features", lambda extractor, dataset, split, batch_size: (
        {key: value for key, value in tiny_split(split).items() if key != "images"}, {}))
    patch.setattr(mp, "real_images", lambda dataset, split, batch_size: (tiny_split(split)["images"], None))


class Killed(Exception):
    """A kill -9 in the middle of writing a cell's line."""


def run(work, out, *extra):
    return mp.main([*TINY, "--work-dir", str(work), "--out-dir", str(out), *extra])


def values_table(work):
    """The cells' values as the report reads them, and the ρ table without the timing column."""
    directory = mp.WorkDir(str(work))
    cells = directory.cells()
    results = mp.results_of(cells, 100, 2, mp.sizes_of(100))
    metric_of = {"fid": "fid", "classes_covered": "mode_coverage", "class_kl": "mode_coverage"}
    return results, mp.properties_table(results, list(metric_of), {}, metric_of, 100)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("uninterrupted")
    with pytest.MonkeyPatch.context() as patch:
        patch_tiny_data(patch)
        run(base / "work", base / "docs")
    return base


def test_a_run_killed_mid_append_resumes_to_the_uninterrupted_table(tmp_path, monkeypatch, uninterrupted):
    real_append, written = mp.append_line, []

    def append_then_die(path, record):
        if path.endswith(mp.CELLS_FILE) and len(written) == 5:
            with open(path, "a") as handle:
                handle.write(json.dumps(record)[:40])  # half a line, no newline: the kill came mid-write
            raise Killed
        written.extend([record] if path.endswith(mp.CELLS_FILE) else [])
        real_append(path, record)

    monkeypatch.setattr(mp, "append_line", append_then_die)
    with pytest.raises(Killed):
        run(tmp_path / "work", tmp_path / "docs")
    assert len(mp.WorkDir(str(tmp_path / "work")).cells()) == 5  # the partial line is not a cell
    monkeypatch.setattr(mp, "append_line", real_append)
    computed = count_metric_calls(monkeypatch)
    monkeypatch.setattr(mp, "property_figure", DRAW_PROPERTY)
    monkeypatch.setattr(mp, "cost_figure", DRAW_COST)
    run(tmp_path / "work", tmp_path / "docs")
    assert len(computed) == 2 * 2 * SETS_PER_SEED - 5  # only the missing cells
    assert values_table(tmp_path / "work") == values_table(uninterrupted / "work")
    assert (tmp_path / "docs" / "metric_properties" / "shift.png").exists()


def count_metric_calls(monkeypatch):
    calls, real = [], mp.compute_metrics

    def compute_metrics(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(mp, "compute_metrics", compute_metrics)
    return calls


def test_parts_in_any_order_give_the_same_cells_and_a_finished_rerun_measures_nothing(tmp_path, monkeypatch,
                                                                                       uninterrupted):
    work, out = tmp_path / "work", tmp_path / "docs"
    mp.main(["--samples", "100", "--seeds", "2", "--metrics", "mode_coverage", "--properties", "copying",
             "--work-dir", str(work), "--out-dir", str(out)])
    partial = (out / "metric_properties.md").read_text()
    assert "Class KL ↓" in partial and "FID ↓" not in partial and "| copying |" in partial  # a partial table
    run(work, out)
    assert values_table(work) == values_table(uninterrupted / "work")
    computed = count_metric_calls(monkeypatch)
    run(work, out)
    assert computed == []


def test_report_only_reads_a_partial_run_and_other_settings_are_refused(tmp_path, capsys):
    work, out = tmp_path / "work", tmp_path / "docs"
    mp.main(["--samples", "100", "--seeds", "2", "--metrics", "fid", "--properties", "copying",
             "--work-dir", str(work), "--out-dir", str(out)])
    with open(work / mp.CELLS_FILE) as handle:
        lines = handle.readlines()
    with open(work / mp.CELLS_FILE, "w") as handle:  # seed 1 not measured yet: copying's ρ over 1 of 2 seeds
        handle.writelines(line for line in lines if json.loads(line)["seed"] == 0)
    text = mp.main(["--work-dir", str(work), "--out-dir", str(out), "--report-only"])
    assert "(1/2 seeds)" in text and text == (out / "metric_properties.md").read_text()
    with pytest.raises(SystemExit, match=r"^metric_properties.py: error: --work-dir .* holds cells of other "
                       r"settings \(samples 100 there, 200 here\); rerun with its --samples"):
        mp.main(["--samples", "200", "--seeds", "2", "--metrics", "fid", "--properties", "copying",
                 "--work-dir", str(work), "--out-dir", str(out)])
    with pytest.raises(SystemExit, match="--report-only reads the cells of a --work-dir; .* holds none"):
        mp.main(["--work-dir", str(tmp_path / "empty"), "--report-only"])
