"""`gan-zoo evaluate`: reference cache with checksum, mode dropping detected on real features,
and the end-to-end report (baselines, mean ± std over seeds, protocol)."""
import copy
import json
import os

import keras
import numpy as np
import pytest

import recipes
from recipes.latents import stream_latents
from zoo import cli, progress, sampling
from zoo.eval import scoring
from zoo.eval.classifier import build_evaluator
from zoo.images import to_uint8
from zoo.train import run_directory
from zoo.train.config import TrainConfig
from zoo.train.loop import train

from idx import write_fashion_mnist_subset


def test_reference_features_are_cached_and_a_corrupt_cache_is_recomputed(tmp_path, evaluator_features):
    first, info = scoring.reference_features(evaluator_features, "fashion_mnist", "test", 1000, cache_dir=str(tmp_path))
    assert not info["cached"] and first["features"].shape == (10000, 128) and first["labels"].shape == (10000,)
    again, info = scoring.reference_features(evaluator_features, "fashion_mnist", "test", 1000, cache_dir=str(tmp_path))
    assert info["cached"]
    np.testing.assert_array_equal(again["features"], first["features"])
    with open(info["cache"], "r+b") as handle:  # flip bytes in the cached file
        handle.seek(2000)
        handle.write(b"\xff" * 64)
    recomputed, info = scoring.reference_features(evaluator_features, "fashion_mnist", "test", 1000,
                                                  cache_dir=str(tmp_path))
    assert not info["cached"]
    np.testing.assert_array_equal(recomputed["features"], first["features"])
    # the same dataset name from another directory, or after its files changed, has a cache of its own
    subset = write_fashion_mnist_subset(tmp_path / "subset", 10, 500)
    for count in (500, 300):
        write_fashion_mnist_subset(subset, 10, count)
        features, info = scoring.reference_features(evaluator_features, "fashion_mnist", "test", 1000,
                                                    data_dir=str(subset), cache_dir=str(tmp_path))
        assert not info["cached"] and features["features"].shape == (count, 128)
        np.testing.assert_allclose(features["features"], first["features"][:count], atol=1e-4)  # other batch shapes


FILL_CACHE = """
import sys, time
import numpy as np
from zoo.eval import scoring
from zoo.metrics.features import FeatureExtractor

def features(images):
    with open(sys.argv[1], "a") as log:
        log.write("extracted\\n")
    time.sleep(6)  # long enough that the other process arrives while this one computes
    return {"features": np.asarray(images).reshape(len(images), -1)[:, :4]}

result, info = scoring.reference_features(FeatureExtractor("counting", features, "a test"), sys.argv[2], "train",
                                          1000, cache_dir=sys.argv[3])
print(info["cached"], result["features"].shape)
"""


def test_processes_that_need_one_reference_cache_at_once_compute_it_once(tmp_path, image_folder):
    import subprocess
    import sys

    script, log, cache = tmp_path / "fill.py", tmp_path / "extractions.log", tmp_path / "cache"
    script.write_text(FILL_CACHE)
    processes = [subprocess.Popen([sys.executable, str(script), str(log), image_folder, str(cache)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), [error[-2000:] for _, error in outputs]
    assert sorted(output.split()[0] for output, _ in outputs) == ["False", "True"]  # one computed, one read
    assert log.read_text().count("extracted") == 1


def test_dropping_classes_raises_fid_and_lowers_recall(evaluator_features):
    """Lucic et al.'s mode-dropping experiment on real Fashion-MNIST features."""
    reference, _ = scoring.reference_features(evaluator_features, "fashion_mnist", "test", 1000)
    images, labels = scoring.real_images("fashion_mnist", "train")
    subset = scoring.random_subset(len(images), 12000, seed=0)
    images, labels = images[subset], labels[subset]
    train = scoring.extract_features(evaluator_features, scoring.in_batches(images, 1000))
    fids, recalls = [], []
    for dropped in range(0, 5):
        keep = np.flatnonzero(labels >= dropped)[:3000]  # classes 0..dropped-1 removed, same sample size
        sample = {key: value[keep] for key, value in train.items()}
        results = scoring.compute_metrics(sample, reference, ("fid", "precision_recall"))
        fids.append(results["fid"])
        recalls.append(results["recall"])
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert all(a > b for a, b in zip(recalls, recalls[1:])), recalls


def test_evaluate_cli_end_to_end(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    train(TrainConfig(recipe="dcgan", out=str(run), steps=2, batch_size=16, verbose=0,
                      recipe_args={"width": 8, "latent_dim": 8}, sample_every=100))
    report_path = tmp_path / "report.json"
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    code = cli.main(["evaluate", str(run), "--num-samples", "300", "--seeds", "2", "--batch-size", "150",
                     "--metrics", "fid,kid,is,precision_recall,mode_coverage,kernel_mmd", "--out", str(report_path)])
    assert code == 0
    printed, errors = capsys.readouterr()
    # a progress line per batch of 150 (3 rows × 2 seeds × 300 images), none once all are scored
    assert [line.split(" - ")[0] for line in errors.splitlines() if "images sampled and scored" in line] == [
        f"{done}/1800 images sampled and scored" for done in range(150, 1800, 150)]
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
    assert list(protocol["metric_protocols"]) == ["kernel_mmd"]  # the metrics asked for that state parameters
    assert np.isfinite(rows["generator"]["kernel_mmd"]["mean"])
    assert report["target"]["kind"] == "run" and report["command"].startswith("gan-zoo evaluate")


def test_the_untrained_baseline_is_the_same_generator_on_every_run():
    """Its weights come from a fixed seed, whatever the global random state before (FID 1338 then 1155 on
    two identical runs when they did not)."""
    trained, _ = sampling.load_target("dcgan_fashion_mnist_28")
    first = sampling.untrained_like(trained)
    np.random.default_rng().standard_normal(3)  # other draws in between change nothing
    keras.utils.set_random_seed(1234)
    second = sampling.untrained_like(trained)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sampling.sampler(first)(0)(0, 8), sampling.sampler(second)(0)(0, 8))
    other = sampling.untrained_like(trained, seed=sampling.UNTRAINED_SEED + 1)
    assert not np.array_equal(other.generator.get_weights()[0], first.generator.get_weights()[0])


def test_ctrl_c_in_evaluate_says_nothing_was_saved(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scoring, "evaluate", interrupted)
    assert cli.main(["evaluate", "dcgan_fashion_mnist_28", "--num-samples", "100"]) == 130
    assert capsys.readouterr().err == ("gan-zoo: evaluate interrupted before it finished; rerun the command to start "
                                       "it again\n")  # no checkpoint: only training commands save one
    assert "checkpoint was saved" in cli.interrupted_message("train")


def test_evaluate_rejects_unknown_metrics_in_one_line(tmp_path, capsys):
    code = cli.main(["evaluate", str(tmp_path), "--metrics", "fid,sharpness"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error
    assert "not a training run directory" in error  # the target is checked first


def test_periodic_evaluation_logs_fid_and_keeps_the_best_checkpoint(tmp_path):
    out = tmp_path / "run"
    train(TrainConfig(recipe="dcgan", out=str(out), steps=4, batch_size=16, verbose=0,
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


def test_periodic_evaluation_of_a_folder_run_scores_against_the_folder(tmp_path, monkeypatch):
    """A 28×28 grayscale folder fits the evaluator: its periodic FID compares with the folder's own images (the
    run's data record), not with Fashion-MNIST."""
    from PIL import Image

    folder = tmp_path / "gray"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(32):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{index}.png")
    references = []
    real_reference_features = scoring.reference_features

    def spy(extractor, dataset, split, *args, **kwargs):
        found = real_reference_features(extractor, dataset, split, *args, **kwargs)
        references.append((dataset, split, len(found[0]["features"])))
        return found

    monkeypatch.setattr(scoring, "reference_features", spy)
    train(TrainConfig(recipe="dcgan", dataset=str(folder), out=str(tmp_path / "run"), steps=2, batch_size=16,
                      verbose=0, recipe_args={"width": 8, "latent_dim": 8}, sample_every=100, eval_every=2,
                      eval_samples=100))
    assert references == [(str(folder), "train", 32)]  # the folder's 32 images (it has no test/ subfolder)
    assert len([json.loads(line) for line in open(tmp_path / "run" / "eval.jsonl")]) == 1


def test_gan_train_and_gan_test_for_a_conditional_generator(tmp_path, evaluator_features):
    from zoo import sampling

    run = tmp_path / "cgan"
    train(TrainConfig(recipe="cgan", out=str(run), steps=2, batch_size=16, verbose=0,
                      recipe_args={"width": 8, "latent_dim": 8}, sample_every=100))
    recipe, _ = sampling.load_target(str(run))
    extractor = copy.copy(evaluator_features)  # GAN-train's classifiers: the evaluator's design at 1/4 width
    extractor.builder = lambda: build_evaluator(width=8, feature_dim=32, norm_momentum=0.9)
    report = scoring.evaluate({"cgan": sampling.sampler(recipe)}, extractor, num_samples=1000, seeds=1,
                              metrics=("gan_train_test",), num_classes=recipe.num_classes, gan_train_steps=80)
    real, generated = report["results"]["real train (baseline)"], report["results"]["cgan"]
    # the real-data row: the evaluator on real train images, and a classifier trained on 1000 real images
    # (80 steps of batch 128 reach 0.75 test accuracy on them at this width)
    assert real["gan_test"]["mean"] > 0.9 and real["gan_train"]["mean"] > 0.6
    # a 2-step generator's samples neither look like their class nor teach a classifier
    assert generated["gan_test"]["mean"] < 0.5 and generated["gan_train"]["mean"] < real["gan_train"]["mean"]
    assert report["protocol"]["gan_train_steps"] == 80


def test_center_cropped_undoes_padding():
    padded = np.full((2, 32, 32, 1), -1.0, np.float32)
    padded[:, 2:30, 2:30] = np.arange(28 * 28, dtype=np.float32).reshape(1, 28, 28, 1) / 1000
    cropped = sampling.center_cropped(lambda seed: lambda start, count: padded[:count], (28, 28))(0)(0, 2)
    np.testing.assert_array_equal(cropped, padded[:, 2:30, 2:30])


def test_a_generator_trained_on_padded_images_is_evaluated_in_the_datasets_frame(tmp_path, capsys):
    """No data options: StyleGAN-lite pads 28×28 Fashion-MNIST to 32×32 itself (issue 17 item 9),
    records it, and a rerun of the same command is the same run; evaluation crops back to 28×28."""
    run = tmp_path / "run"
    config = TrainConfig(recipe="stylegan_lite", out=str(run), steps=1, batch_size=8, verbose=0,
                         sample_every=100, recipe_args={"width": 8, "latent_dim": 8, "w_dim": 8,
                                                        "mapping_layers": 1, "channel_base": 16})
    train(config)
    description = json.load(open(run / "run.json"))
    assert (description["data"]["image_size"], description["data"]["crop"]) == (32, "pad")
    assert description["recipe_config"]["image_shape"] == [32, 32, 1]
    assert train(config)["step"] == 1  # the same command: not refused as a changed run
    code = cli.main(["evaluate", str(run), "--num-samples", "200", "--seeds", "1", "--metrics", "fid,precision_recall",
                     "--truncation", "0,1", "--no-untrained-baseline", "--out", str(tmp_path / "report.json")])
    assert code == 0, capsys.readouterr()
    rows = json.load(open(tmp_path / "report.json"))["results"]
    assert set(rows) == {"generator ψ=0", "generator ψ=1", "real train (baseline)"}
    assert all(np.isfinite(row["fid"]["mean"]) for row in rows.values())
    assert rows["generator ψ=0"]["fid"]["mean"] != rows["generator ψ=1"]["fid"]["mean"]
    assert rows["real train (baseline)"]["fid"]["mean"] < rows["generator ψ=1"]["fid"]["mean"] / 10
    assert open(tmp_path / "fid_vs_truncation.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["style-mix", str(run), "--rows", "0,1", "--columns", "2,3,4", "--out", str(tmp_path / "mix.png")]) == 0
    assert open(tmp_path / "mix.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["style-mix", str(run), "--crossover", "99", "--out", str(tmp_path / "bad.png")]) == 2
    assert "crossover must be in [0, 7]" in capsys.readouterr().err


def tiny_stylegan():
    from recipes import StyleGANLite

    return StyleGANLite(latent_dim=8, w_dim=8, width=8, mapping_layers=1, image_shape=(8, 8, 1), seed=1)


def test_truncated_sampling_and_style_mixing_grid():
    recipe = tiny_stylegan()
    collapsed = sampling.sampler(recipe, 0.0)(0)(0, 4)
    np.testing.assert_allclose(collapsed, np.repeat(collapsed[:1], 4, axis=0), atol=1e-6)  # ψ = 0: synthesis(w̄)
    z = stream_latents(0, 0, 4, 8)
    np.testing.assert_allclose(sampling.sampler(recipe, 0.7)(0)(0, 4), recipe.generate_truncated(z, 0.7), atol=1e-6)
    np.testing.assert_allclose(sampling.sampler(recipe)(0)(0, 4), recipe.generate_truncated(z, 1.0), atol=1e-5)
    with pytest.raises(ValueError, match=r"truncation needs a recipe with a truncation trick \(stylegan_lite, biggan_lite\)"):
        sampling.sampler(recipes.DCGAN(latent_dim=8, width=8, image_shape=(8, 8, 1)), 0.5)
    grid = sampling.style_mixing_grid(recipe, [0, 1], [2, 3, 4], crossover=2)
    assert grid.shape == (3 * 10 + 2, 4 * 10 + 2, 1)  # 8×8 cells, 2-pixel padding, header row and column
    cell = lambda row, column: grid[2 + 10 * row:10 + 10 * row, 2 + 10 * column:10 + 10 * column]  # noqa: E731
    assert (cell(0, 0) == 255).all()  # white corner
    np.testing.assert_array_equal(cell(0, 2), to_uint8(recipe.sample(1, 3)[0]))  # header: seed 3's own image
    np.testing.assert_array_equal(cell(2, 0), to_uint8(recipe.sample(1, 1)[0]))  # row header: seed 1
    np.testing.assert_array_equal(cell(2, 3), to_uint8(recipe.mix_styles(1, 4, 2)[0]))


def test_evaluate_a_saved_model_scores_what_its_run_scores(tmp_path, capsys):
    run = tmp_path / "run"
    train(TrainConfig(recipe="dcgan", out=str(run), steps=2, batch_size=16, verbose=0,
                      recipe_args={"width": 8, "latent_dim": 8}, sample_every=100))
    from zoo.presets.pretrained import Generator
    from hub_export.saved_model import export_serving

    recipe, _ = run_directory.recipe_from_run(str(run))
    exported = export_serving(Generator(recipe, {"name": "run"}), str(tmp_path / "saved"))  # what gan-zoo export writes
    arguments = ["--num-samples", "200", "--seeds", "1", "--metrics", "fid,precision_recall"]
    assert cli.main(["evaluate", exported, *arguments, "--out", str(tmp_path / "saved.json")]) == 0
    assert cli.main(["evaluate", str(run), *arguments, "--no-untrained-baseline", "--out", str(tmp_path / "run_report.json")]) == 0
    from_saved, from_run = (json.load(open(tmp_path / name)) for name in ("saved.json", "run_report.json"))
    assert from_saved["target"]["kind"] == "saved_model"
    assert set(from_saved["results"]) == {"generator", "real train (baseline)"}  # no untrained SavedModel exists
    for metric in ("fid", "precision", "recall"):
        assert from_saved["results"]["generator"][metric]["mean"] == pytest.approx(
            from_run["results"]["generator"][metric]["mean"], rel=1e-5, abs=1e-6)
    (tmp_path / "empty").mkdir()
    assert cli.main(["evaluate", str(tmp_path / "empty")]) == 2
    assert "is not a training run directory" in capsys.readouterr().err
