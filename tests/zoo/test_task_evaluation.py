"""Evaluation of image-to-image generators: super-resolution against bicubic, translation against
its floor (untranslated images) and ceiling (real target images), and the CLI on trained runs."""
import json

import numpy as np
import pytest

from zoo import cli
from zoo.tasks import super_resolution, translation
from zoo.eval.scoring import real_images
from zoo.metrics import image_quality
from zoo.train.config import TrainConfig
from zoo.train.loop import train


class BicubicRecipe:
    """A stand-in SR model that upscales exactly as the bicubic baseline does."""

    task, scale, image_shape = "super_resolution", 4, (28, 28, 1)

    def upscale(self, low):
        return image_quality.bicubic_upsample(low, (28, 28))


class SwapRecipe:
    """A stand-in translator that returns real training images of the target class (a perfect
    translator in distribution) and whose reverse returns real source-class images."""

    task = "translation"

    def __init__(self, classes):
        images, labels = real_images("fashion_mnist", "train")
        self.pools = {direction: images[labels == target] for direction, target in zip(("a2b", "b2a"), classes[::-1])}

    def translate(self, images, direction):
        return self.pools[direction][: len(images)]


def test_super_resolution_rows_match_when_the_model_is_bicubic(evaluator_features):
    reported = []
    report = super_resolution.evaluate_super_resolution(BicubicRecipe(), evaluator_features, num_samples=300,
                                             batch_size=100, progress=lambda *done: reported.append(done))
    assert reported == [(100, 300), (200, 300), (300, 300)]  # what `gan-zoo evaluate` prints its progress from
    model, baseline = report["results"]["generator"], report["results"]["bicubic (baseline)"]
    for metric in ("psnr", "ssim", "fid", "kid"):
        assert model[metric]["mean"] == pytest.approx(baseline[metric]["mean"], rel=1e-6), metric
    assert 10 < baseline["psnr"]["mean"] < 40 and 0 < baseline["ssim"]["mean"] < 1
    assert report["protocol"]["task"] == "super_resolution" and report["protocol"]["num_samples"] == 300


def test_translation_success_is_measured_against_the_target_class(evaluator_features):
    reported = []
    report = translation.evaluate_translation(SwapRecipe([7, 9]), evaluator_features,  # sneaker, ankle boot
                                        ["sneaker", "ankle boot"], batch_size=500,
                                        progress=lambda *done: reported.append(done))
    assert reported == [(done, 2000) for done in range(500, 2001, 500)]  # both directions, there and back
    rows = report["results"]
    translated, floor = rows["a2b: sneaker → ankle boot"], rows["a2b: source unchanged (floor)"]
    ceiling = rows["a2b: real target train (ceiling)"]
    assert translated["target_accuracy"]["mean"] > 0.9 and floor["target_accuracy"]["mean"] < 0.1
    assert translated["fid"]["mean"] < floor["fid"]["mean"] / 5
    assert ceiling["target_accuracy"]["mean"] > 0.9
    assert rows["b2a: ankle boot → sneaker"]["target_accuracy"]["mean"] > 0.9
    assert report["protocol"]["domains"] == ["sneaker", "ankle boot"]
    assert report["protocol"]["num_samples"] == 2000  # 1000 test images per class


def test_translation_needs_classes_of_the_evaluator(evaluator_features):
    with pytest.raises(Exception, match="unknown class 'boots'"):
        translation.domain_classes("fashion_mnist", ["sneaker", "boots"])


@pytest.mark.parametrize("recipe, columns", [("srgan", ["PSNR dB", "SSIM", "FID"]),
                                             ("cyclegan", ["Target-class acc", "Cycle L1", "FID"])])
def test_evaluate_cli_on_image_to_image_runs(recipe, columns, tmp_path, capsys, request):
    if recipe == "cyclegan":
        run = request.getfixturevalue("cyclegan_run")  # trained once for the session
    else:
        run = tmp_path / "run"
        train(TrainConfig(recipe=recipe, out=str(run), steps=1, batch_size=4, sample_every=100, verbose=0,
                          recipe_args={"width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_stages": 1,
                                       "discriminator_dense": 8, "content_network": "pixel"}))
    report_path = tmp_path / "report.json"
    code = cli.main(["evaluate", str(run), "--num-samples", "200", "--batch-size", "100", "--out", str(report_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert all(column in printed for column in columns), printed
    report = json.load(open(report_path))
    assert report["protocol"]["task"] == {"srgan": "super_resolution", "cyclegan": "translation"}[recipe]
    values = {(label, m): row[m]["mean"] for label, row in report["results"].items() for m in row}
    assert all(np.isfinite(v) for v in values.values()), values
