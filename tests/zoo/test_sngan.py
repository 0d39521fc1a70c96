"""`gan-zoo train sngan`, unconditional and class-conditional: a tiny run trains, checkpoints, resumes, samples
through `zoo.presets.pretrained.load_generator` and exports to a SavedModel (the conditional one takes labels, as
CGAN's does). The recipe contracts are in tests/recipes/test_recipes.py, the golden step in test_golden_steps.py."""
import numpy as np
import pytest
import tensorflow as tf

import recipes
from cli_runs import samples_and_serves_with_labels, train_then_resume
from recipes.capabilities import CONDITION, SAMPLE, TRAIN


def test_sngan_pads_fashion_mnist_to_the_papers_32_and_is_conditional_with_num_classes():
    assert recipes.SNGAN.fitted_data((28, 28, 1)) == {"image_size": 32, "crop": "pad"}
    assert recipes.SNGAN.fitted_data((32, 32, 1)) is None
    unconditional = recipes.SNGAN(width=4, latent_dim=8, image_shape=(8, 8, 1))
    conditional = recipes.SNGAN(width=4, latent_dim=8, image_shape=(8, 8, 1), num_classes=3)
    assert unconditional.capabilities == recipes.SNGAN.capabilities == {SAMPLE, TRAIN}
    assert not unconditional.conditional and unconditional.generator.input_shape == (None, 8)
    assert conditional.capabilities == {SAMPLE, CONDITION, TRAIN} and conditional.conditional
    assert [tuple(t.shape) for t in conditional.discriminator.inputs] == [(None, 8, 8, 1), (None,)]
    with pytest.raises(ValueError, match=r"A class-conditional SNGAN trains on \(images, labels\) batches"):
        conditional.train_step(tf.zeros([4, 8, 8, 1]))
    for bad, message in (({"num_classes": 1}, "num_classes=1"), ({"n_dis": 0}, "n_dis=0"),
                         ({"generator_norm": "spectral"}, "generator_norm='spectral'")):
        with pytest.raises(ValueError, match=message):
            recipes.SNGAN(width=4, image_shape=(8, 8, 1), **bad)


@pytest.mark.parametrize("conditional", [False, True])
def test_sngan_trains_resumes_samples_and_exports_from_the_cli(conditional, image_folder, tmp_path):
    from hub_export.saved_model import export_serving
    from zoo.presets.pretrained import load_generator
    from zoo.train.build import build_recipe
    from zoo.train.config import TrainConfig
    from zoo.train.run_directory import checkpoint_manager, restore_latest

    run = str(tmp_path / "sngan")
    args = {"width": 4, "latent_dim": 8, "n_dis": 2, **({"num_classes": 2} if conditional else {})}
    train_then_resume("sngan", image_folder, args, run)
    recipe = build_recipe(TrainConfig(recipe="sngan", out=run, recipe_args=args), (8, 8, 1))
    checkpoint, _ = checkpoint_manager(recipe, run, True, 1)
    restore_latest(checkpoint, run)
    assert int(recipe.d_optimizer.iterations) == 3 * 2 and int(recipe.g_optimizer.iterations) == 3  # n_dis = 2
    if conditional:  # sampled and served with labels
        samples_and_serves_with_labels(run, str(tmp_path / "models"))
        return
    generator, _ = load_generator(run)
    assert not generator.conditional
    images = np.asarray(generator.sample(2, seed=0))
    assert images.shape == (2, 8, 8, 1) and images.dtype == np.uint8
    sample = tf.saved_model.load(export_serving(generator, str(tmp_path / "models"))).signatures["sample"]
    assert set(sample.structured_input_signature[1]) == {"seed"}
    served = sample(seed=tf.constant([3, 3, 7], tf.int64))["images"].numpy()  # the Keras generator's, but for
    assert np.abs(served.astype(int) - generator.sample_seeds([3, 3, 7])).max() <= 1  # rounding at .5 (±1)
