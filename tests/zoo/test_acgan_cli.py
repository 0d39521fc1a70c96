"""`gan-zoo train acgan`: a tiny run on labelled images trains, checkpoints, resumes, samples through
`zoo.presets.pretrained.load_generator` with labels and exports to a SavedModel whose `sample` signature takes
labels as CGAN's does. The recipe contract and golden step are in tests/recipes/test_acgan.py."""
from cli_runs import samples_and_serves_with_labels, train_then_resume

TINY = {"width": 4, "latent_dim": 8, "num_classes": 2, "embedding_dim": 2}


def test_acgan_trains_resumes_samples_and_exports_with_labels_from_the_cli(image_folder, tmp_path):
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    run = str(tmp_path / "acgan")
    state = train_then_resume("acgan", image_folder, TINY, run)
    assert {"real_class_loss", "fake_class_loss"} <= set(state["logs"])
    recipe = build_recipe(TrainConfig(recipe="acgan", out=run, recipe_args=TINY), (8, 8, 1))
    checkpoint, _ = checkpoint_manager(recipe, run, True, 1)
    restore_latest(checkpoint, run)
    assert int(recipe.d_optimizer.iterations) == 3 and int(recipe.g_optimizer.iterations) == 3
    samples_and_serves_with_labels(run, str(tmp_path / "models"))
