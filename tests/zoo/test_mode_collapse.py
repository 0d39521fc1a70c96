"""The mode-collapse laboratory (issue 33): the 2-D mixtures ring8 and grid25, Srivastava et al.'s known-modes
metric, and the DCGAN recipe's MLP networks training on points through `gan-zoo train`."""
import json
import os

import numpy as np
import pytest

import recipes
from hub_export import cli
from zoo.data import datasets, points
from zoo.errors import UserError
from zoo.metrics.modes import known_modes


@pytest.mark.parametrize("name, count, sigma, extent", [("ring8", 8, 0.02, 2.0), ("grid25", 25, 0.05, 4.0)])
def test_each_mode_holds_its_share_of_points_at_the_papers_sigma(name, count, sigma, extent):
    mixture = points.mixture(name)
    assert mixture.centres.shape == (count, 2) and mixture.sigma == sigma
    assert np.abs(mixture.centres).max() == pytest.approx(extent)
    train = points.as_points(next(iter(datasets.load(name, batch_size=20000))))
    for sample in (train, points.test_points(name)):
        nearest = np.linalg.norm(sample[:, None] - mixture.centres[None], axis=-1).argmin(axis=1)
        shares = np.bincount(nearest, minlength=count) / len(sample)
        assert np.abs(shares - 1 / count).max() < 0.25 / count  # equally likely components
        offsets = sample - mixture.centres[nearest]
        for k in range(count):
            assert np.abs(offsets[nearest == k].mean(axis=0)).max() < 5 * sigma / np.sqrt(len(sample) / count / 2)
        assert offsets.std(axis=0) == pytest.approx([sigma, sigma], rel=0.05)


def test_ring_modes_are_eight_distinct_points_on_the_circle_of_radius_two():
    centres = points.mixture("ring8").centres
    assert np.linalg.norm(centres, axis=1) == pytest.approx(np.full(8, 2.0))
    gaps = np.linalg.norm(centres - np.roll(centres, 1, axis=0), axis=1)
    assert gaps == pytest.approx(np.full(8, 4 * np.sin(np.pi / 8)), rel=1e-6)  # none repeated


def test_points_are_reproducible_the_seed_picks_the_stream_and_the_splits_differ():
    def first(seed, split="train"):
        return next(iter(datasets.load("ring8", split, batch_size=64, seed=seed))).numpy()

    assert first(3).shape == (64, *points.POINT_SHAPE) and first(3).dtype == np.float32
    assert np.array_equal(first(3), first(3)) and not np.array_equal(first(3), first(4))
    assert np.array_equal(first(None, "test"), points.test_points("ring8")[:64].reshape(64, 1, 1, 2))
    assert not np.array_equal(first(0), first(0, "test"))
    stream = datasets.load("ring8", batch_size=points.CHUNK)  # endless: later chunks are fresh draws
    chunks = [batch.numpy() for _, batch in zip(range(3), stream)]
    assert not np.array_equal(chunks[0], chunks[1]) and not np.array_equal(chunks[1], chunks[2])
    assert datasets.describe("grid25") == ((1, 1), None)


def test_known_modes_counts_a_hand_placed_sample():
    centres, sigma = points.mixture("ring8").centres, 0.02
    rng = np.random.default_rng(0)
    on_five = np.repeat(centres[:5], 30, axis=0) + rng.uniform(-1, 1, (150, 2)) * sigma  # within √2σ < 3σ
    far = np.array([[0.0, 0.0], [5.0, 5.0], centres[5] + [4 * sigma, 0], centres[6] + [0, 3.2 * sigma]])
    result = known_modes(np.concatenate([on_five, far]), centres, sigma)
    assert result["modes_captured"] == 5 and result["num_modes"] == 8
    assert result["high_quality"] == pytest.approx(150 / 154)
    assert result["mode_counts"] == [30] * 5 + [0, 0, 0]
    edge = known_modes(centres[:1] + [[2.99 * sigma, 0]], centres, sigma)  # just inside 3σ counts
    assert (edge["modes_captured"], edge["high_quality"]) == (1, 1.0)
    assert known_modes([[0.75, 0.0]], [[0.0, 0.0]], 0.25)["high_quality"] == 1.0  # exactly 3σ (in binary) counts


def test_min_share_takes_its_bounds_0_one_sample_and_1_every_sample():
    centres, sigma = points.mixture("ring8").centres, 0.02
    five_and_one = np.concatenate([np.repeat(centres[:5], 30, axis=0), centres[7:8]])  # mode 7: 1 sample of 151
    assert known_modes(five_and_one, centres, sigma)["modes_captured"] == 5  # 20/2500 of 151 is 1.2 samples
    assert known_modes(five_and_one, centres, sigma, min_share=0)["modes_captured"] == 6  # at least one sample
    assert known_modes(five_and_one, centres, sigma, min_share=1)["modes_captured"] == 0
    assert known_modes(five_and_one[:30], centres, sigma, min_share=1)["modes_captured"] == 1  # all 30 on mode 0


def test_a_mode_needs_its_share_of_the_samples():
    """Default: 20 of 2500 samples; 19 within 3σ of a mode is a dropped mode, 20 a captured one."""
    centres = points.mixture("grid25").centres
    for extra, captured in ((19, 2), (20, 3)):
        placed = [np.repeat(centres[:1], 2000, 0), np.repeat(centres[1:2], extra, 0), np.repeat(centres[2:3], 20, 0)]
        far = np.full((2500 - 2020 - extra, 2), 9.0)
        assert known_modes(np.concatenate([*placed, far]), centres, 0.05)["modes_captured"] == captured


def test_the_data_itself_captures_every_mode_with_nearly_all_samples_high_quality():
    for name in points.MIXTURES:
        mixture = points.mixture(name)
        result = known_modes(points.test_points(name)[:2500], mixture.centres, mixture.sigma)
        assert result["modes_captured"] == len(mixture.centres)
        assert result["high_quality"] > 0.98  # P(‖ε‖ ≤ 3σ) for a 2-D Gaussian: 1 - e^{-4.5} ≈ 0.989


@pytest.mark.parametrize("call, message", [
    (lambda: known_modes(np.zeros((4, 3)), np.zeros((8, 2)), 0.1), r"samples \[N, d\] and mode centres \[K, d\] "
                                                                    r"of one width.*received samples \[4, 3\]"),
    (lambda: known_modes(np.zeros((0, 2)), np.zeros((8, 2)), 0.1), r"received samples \[0, 2\]"),
    (lambda: known_modes(np.zeros(2), np.zeros((8, 2)), 0.1), r"received samples \[2\]"),
    (lambda: known_modes(np.zeros((4, 2)), np.zeros((8, 2)), 0.0), r"sigma > 0 \(finite\); received sigma=0.0"),
    (lambda: known_modes(np.zeros((4, 2)), np.zeros((8, 2)), -1), r"sigma > 0 \(finite\); received sigma=-1"),
    (lambda: known_modes(np.full((4, 2), np.nan), np.zeros((8, 2)), 0.1), r"NaN or infinite values \(8 of 8"),
    *[(lambda samples=samples, centres=centres: known_modes(samples, centres, 0.1), r"^known_modes takes arrays of "
       rf"numbers; the {what} are not one \(") for samples, centres, what in (
        ([["a", "b"]], np.zeros((8, 2)), "samples"), (np.zeros((4, 2)), [[0.0, 1.0], [2.0]], "centres"))],
    *[(lambda sigma=sigma: known_modes(np.zeros((4, 2)), np.zeros((8, 2)), sigma), rf"sigma > 0 \(finite\); "
       rf"received sigma={shown}$") for sigma, shown in ((True, "True"), (np.inf, "inf"), ("0.1", "'0.1'"))],
    *[(lambda share=share: known_modes(np.zeros((4, 2)), np.zeros((8, 2)), 0.1, share), r"^known_modes needs "
       rf"min_share in \[0, 1\]; received min_share={shown}$") for share, shown in (
        (None, "None"), (True, "True"), ("0.5", "'0.5'"), (-0.1, "-0.1"), (1.5, "1.5"))],
    (lambda: points.as_points(np.zeros((4, 3))), r"2-D points are \[N, 2\] or \[N, 1, 1, 2\]; received shape \[4, 3\]"),
    (lambda: points.mixture("ring9"), r"unknown 2-D mixture 'ring9'; accepted: ring8, grid25"),
    (lambda: datasets.load("ring8", "validation"), r"unknown split 'validation' for ring8; accepted: train, test"),
    (lambda: datasets.load("ring8", image_size=28), r"ring8 is a dataset of 2-D points: it takes no image_size"),
])
def test_bad_input_is_refused_in_one_line(call, message):
    with pytest.raises(UserError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_points_get_mlp_networks_every_loss_builds_and_images_keep_conv():
    point = recipes.DCGAN(latent_dim=8, image_shape=points.POINT_SHAPE, seed=0)
    assert point.network == "mlp" and point.width == 128
    assert [layer.units for layer in point.generator.layers if hasattr(layer, "units")] == [128, 128, 2]
    assert point.generator(np.zeros((3, 8), np.float32)).shape == (3, 1, 1, 2)
    assert point.discriminator(np.zeros((3, 1, 1, 2), np.float32)).shape == (3, 1)
    assert recipes.DCGAN.from_config(point.get_config()).network == "mlp"
    for loss in recipes.losses.LOSSES:  # the gradient-penalty losses too: the MLP has no batch norm to refuse
        recipes.DCGAN(loss=loss, latent_dim=8, image_shape=points.POINT_SHAPE, width=4)
    assert recipes.DCGAN(latent_dim=8, image_shape=(8, 8, 1), width=4).network == "conv"
    images, columns = point.preview(point.preview_inputs(0))
    assert images.shape == (1, 64, 64, 1) and columns == 1 and float(np.max(images)) == pytest.approx(1.0)


def test_train_dcgan_on_ring8_checkpoints_and_resumes(tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "dcgan", "--dataset", "ring8", "--batch-size", "16", "--checkpoint-every", "1",
            "--sample-every", "2", "--log-every", "1", "--out", out, "--set", "loss=wasserstein_gp"]
    assert cli.main([*argv, "--steps", "1"]) == 0
    assert cli.main([*argv, "--steps", "2"]) == 0
    assert "Resuming from" in capsys.readouterr().out
    state = json.load(open(os.path.join(out, "train_state.json")))
    assert (state["step"], state["status"]) == (2, "completed")
    run = json.load(open(os.path.join(out, "run.json")))
    assert run["data_record"]["dataset"] == "ring8" and run["data_record"]["channels"] == 2
    assert os.path.isfile(os.path.join(out, "samples", "step_000002.png"))
