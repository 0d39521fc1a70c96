"""`gan-zoo train began`: a tiny run trains, checkpoints, resumes with the equilibrium state k_t it saved, and
samples through zoo.presets.pretrained.load_generator (issue 33)."""
import numpy as np
import pytest

from zoo import cli
from zoo.files import read_json

SETTINGS = {"width": 8, "latent_dim": 8, "bottleneck": 8, "gamma": 1.0, "lambda_k": 0.1}  # k moves off 0 at once


def restored_recipe(run):
    """The run's recipe with its latest checkpoint restored."""
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    recipe = build_recipe(TrainConfig(recipe="began", out=run, recipe_args=SETTINGS), (8, 8, 1))
    restore_latest(checkpoint_manager(recipe, run, True, 1)[0], run)
    return recipe


def test_began_trains_resumes_with_its_k_and_samples_from_the_cli(image_folder, tmp_path):
    from zoo.presets.pretrained import load_generator

    run = str(tmp_path / "began")

    def train(steps):
        settings = [part for name, value in SETTINGS.items() for part in ("--set", f"{name}={value}")]
        return cli.main(["train", "began", "--dataset", image_folder, *settings, "--steps", str(steps), "--batch-size",
                         "8", "--checkpoint-every", "1", "--sample-every", "2", "--log-every", "1", "--out", run,
                         "--quiet"])

    assert train(2) == 0
    saved = restored_recipe(run)
    k_saved = float(saved.k)
    assert 0 < k_saved < 1 and int(saved.g_optimizer.iterations) == 2
    assert train(3) == 0  # the second session resumes from the step-2 checkpoint and takes step 3
    state = read_json(f"{run}/train_state.json")
    assert state["step"] == 3 and [(s["from_step"], s["to_step"]) for s in state["sessions"]] == [(0, 2), (2, 3)]
    logs = state["logs"]  # step 3's: k_3 = clip(k_2 + λ_k(γ·L(x) - L(G(z_G))), 0, 1) from the k_2 it restored
    assert set(logs) >= {"d_loss", "g_loss", "real_loss", "k", "m_global"}
    assert logs["k"] == pytest.approx(min(max(k_saved + 0.1 * (logs["real_loss"] - logs["g_loss"]), 0), 1), rel=1e-5)
    assert float(restored_recipe(run).k) == pytest.approx(logs["k"], rel=1e-6)
    generator, _ = load_generator(run)
    images = np.asarray(generator.sample(2, seed=0))
    assert images.shape[0] == 2 and np.isfinite(images).all()
