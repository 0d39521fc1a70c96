"""`gan-zoo train sagan --set num_classes=2`: a tiny run on labelled images trains, checkpoints, resumes at TTUR's
learning rates, samples through `zoo.presets.pretrained.load_generator` with labels, gives the loaded generator's
attention map and exports to a SavedModel whose `sample` signature takes labels. The recipe contract and golden
step are in tests/recipes/test_sagan.py."""
import numpy as np
import pytest
import tensorflow as tf

from cli_runs import samples_and_serves_with_labels, train_then_resume

TINY = {"width": 4, "latent_dim": 8, "num_classes": 2}


def test_sagan_trains_resumes_samples_shows_attention_and_exports_with_labels(image_folder, tmp_path):
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    run = str(tmp_path / "sagan")
    train_then_resume("sagan", image_folder, TINY, run)
    recipe = build_recipe(TrainConfig(recipe="sagan", out=run, recipe_args=TINY), (8, 8, 1))
    checkpoint, _ = checkpoint_manager(recipe, run, True, 1)
    restore_latest(checkpoint, run)
    assert int(recipe.d_optimizer.iterations) == 3 and int(recipe.g_optimizer.iterations) == 3  # n_dis = 1
    rates = [float(recipe.g_optimizer.learning_rate), float(recipe.d_optimizer.learning_rate)]
    assert rates == pytest.approx([1e-4, 4e-4])
    assert float(recipe.generator.get_layer("attention").gamma) != 0.0  # trained from 0
    generator = samples_and_serves_with_labels(run, str(tmp_path / "models"))
    beta = np.asarray(generator.recipe.attention_map([tf.zeros([2, 8]), tf.constant([0, 1])]))
    assert beta.shape == (2, 16, 16)  # 8×8 images: the networks attend on 4×4 feature maps
    np.testing.assert_allclose(beta.sum(axis=-1), 1.0, rtol=1e-5)
