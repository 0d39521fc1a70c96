"""`gan-zoo train acgan`: a tiny run on labelled images trains, checkpoints, resumes, samples through
`zoo.presets.pretrained.load_generator` with labels and exports to a SavedModel whose `sample` signature takes
labels as CGAN's does. The recipe contract and golden step are in tests/recipes/test_acgan.py."""
import numpy as np
import tensorflow as tf

from cli_runs import train_then_resume

TINY = {"width": 4, "latent_dim": 8, "num_classes": 2, "embedding_dim": 2}


def test_acgan_trains_resumes_samples_and_exports_with_labels_from_the_cli(image_folder, tmp_path):
    from hub_export.saved_model import export_serving
    from zoo.presets.pretrained import load_generator
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
    generator, _ = load_generator(run)
    assert generator.conditional and generator.num_classes == 2
    images = np.asarray(generator.sample(2, seed=0, labels=[0, 1]))
    assert images.shape == (2, 8, 8, 1) and images.dtype == np.uint8
    sample = tf.saved_model.load(export_serving(generator, str(tmp_path / "models"))).signatures["sample"]
    assert set(sample.structured_input_signature[1]) == {"seed", "labels"}
    # one seed, two labels: two images, each the Keras generator's (uint8, but for rounding at .5: ±1)
    served = sample(seed=tf.constant([3, 3, 7], tf.int64), labels=tf.constant([0, 1, 1], tf.int32))["images"].numpy()
    assert np.abs(served.astype(int) - generator.sample_seeds([3, 3, 7], labels=[0, 1, 1])).max() <= 1
    assert not np.array_equal(served[0], served[1])
