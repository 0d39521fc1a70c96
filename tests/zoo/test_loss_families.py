"""`gan-zoo train dcgan --set loss=NAME` for each family of objectives added by issue 33 (f-GAN, relativistic,
WGAN): one tiny run each trains, checkpoints, resumes and loads (the other names of a family share its code path;
every name trains one step in tests/recipes/test_losses.py and has its golden step in test_golden_steps.py)."""
import numpy as np
import pytest

from zoo import cli
from zoo.files import read_json


@pytest.mark.parametrize("loss", ["f_jensen_shannon", "relativistic_average", "wasserstein"])
def test_a_loss_family_trains_resumes_and_loads_from_the_cli(loss, image_folder, tmp_path):
    from zoo.presets.pretrained import load_generator
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    run = str(tmp_path / loss)

    def train(steps):
        return cli.main(["train", "dcgan", "--dataset", image_folder, "--set", f"loss={loss}", "--set", "width=8",
                         "--set", "latent_dim=8", "--steps", str(steps), "--batch-size", "8", "--checkpoint-every", "2",
                         "--sample-every", "2", "--log-every", "1", "--out", run, "--quiet"])

    assert train(2) == 0 and train(3) == 0  # the second session resumes from the step-2 checkpoint
    state = read_json(f"{run}/train_state.json")
    assert state["step"] == 3 and [(s["from_step"], s["to_step"]) for s in state["sessions"]] == [(0, 2), (2, 3)]
    assert all(np.isfinite(value) for value in state["logs"].values())
    assert read_json(f"{run}/run.json")["recipe_config"]["loss"] == loss
    config = TrainConfig(recipe="dcgan", out=run, recipe_args={"loss": loss, "width": 8, "latent_dim": 8})
    recipe = build_recipe(config, (8, 8, 1))
    checkpoint, _ = checkpoint_manager(recipe, run, True, 1)
    restore_latest(checkpoint, run)
    # the paper's critic steps per generator step: WGAN's n_critic = 5 by default, one for the others
    assert int(recipe.d_optimizer.iterations) == 3 * recipe.n_disc == 3 * (5 if loss == "wasserstein" else 1)
    assert type(recipe.d_optimizer).__name__ == ("RMSprop" if loss == "wasserstein" else "Adam")
    if loss == "wasserstein":  # the clip held through every step
        assert max(float(np.abs(w).max()) for w in recipe.discriminator.trainable_weights) == pytest.approx(0.01)
    generator, _ = load_generator(run)
    images = np.asarray(generator.sample(2, seed=0))
    assert images.shape[0] == 2 and np.isfinite(images).all()


def test_the_study_takes_every_new_loss_and_searches_adam_for_wgan_as_lucic_et_al(tmp_path):
    """`gan-zoo study --losses` accepts the new names (zoo/study reads LOSSES); its trials draw β1, β2, which
    give WGAN Adam, as Lucic et al. 2018 trained it."""
    import recipes
    from zoo.study import design
    from zoo.train.build import player_optimizer

    new = ["wasserstein", "f_kl", "f_reverse_kl", "f_pearson", "f_squared_hellinger", "f_jensen_shannon",
           "relativistic", "relativistic_average", "relativistic_average_ls", "relativistic_average_hinge"]
    design.check_config(design.StudyConfig(losses=new, out=str(tmp_path)))
    settings = design.trial_settings("wasserstein", 0, 0)
    optimizer = player_optimizer(recipes.DCGAN(loss="wasserstein", latent_dim=4, width=4, image_shape=(8, 8, 1)),
                                 {key: settings[key] for key in ("lr", "beta_1", "beta_2")}, "d")
    assert type(optimizer).__name__ == "Adam" and float(optimizer.beta_1) == settings["beta_1"]


@pytest.mark.parametrize("loss, settings", [("sphere", {"features": 6, "moments": 2}), ("realness", {"outcomes": 5})])
def test_a_loss_on_a_vector_head_trains_resumes_and_loads_with_its_head(loss, settings, image_folder, tmp_path):
    """`--set loss=sphere|realness --set loss_settings={...}` (JSON): the discriminator's head has the settings'
    width; the run records them, resumes from its checkpoint into the same networks, and its generator loads."""
    import json

    from zoo.presets.pretrained import load_generator
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    run = str(tmp_path / loss)
    arguments = {"loss": loss, "loss_settings": settings, "width": 8, "latent_dim": 8}

    def train(steps):
        options = [part for key, value in arguments.items() for part in ("--set", f"{key}={json.dumps(value)}")]
        return cli.main(["train", "dcgan", "--dataset", image_folder, *options, "--steps", str(steps), "--batch-size",
                         "8", "--checkpoint-every", "2", "--sample-every", "2", "--log-every", "1", "--out", run,
                         "--quiet"])

    assert train(2) == 0 and train(3) == 0  # the second session resumes from the step-2 checkpoint
    state = read_json(f"{run}/train_state.json")
    assert state["step"] == 3 and [(s["from_step"], s["to_step"]) for s in state["sessions"]] == [(0, 2), (2, 3)]
    assert all(np.isfinite(value) for value in state["logs"].values())
    assert read_json(f"{run}/run.json")["recipe_config"]["loss_settings"] == settings
    recipe = build_recipe(TrainConfig(recipe="dcgan", out=run, recipe_args=arguments), (8, 8, 1))
    checkpoint, _ = checkpoint_manager(recipe, run, True, 1)
    restore_latest(checkpoint, run)
    assert int(recipe.d_optimizer.iterations) == 3
    assert recipe.discriminator.output.shape == (None, settings.get("features", settings.get("outcomes")))
    generator, _ = load_generator(run)
    images = np.asarray(generator.sample(2, seed=0))
    assert images.shape[0] == 2 and np.isfinite(images).all()
