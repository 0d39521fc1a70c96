"""`gan-zoo train sagan --set num_classes=2`: a tiny run on labelled images trains, checkpoints, resumes at TTUR's
learning rates, samples through `zoo.presets.pretrained.load_generator` with labels, gives the loaded generator's
attention map, draws it with `gan-zoo attention` and exports to a SavedModel whose `sample` signature takes labels.
The recipe contract and golden step are in tests/recipes/test_sagan.py."""
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import recipes
from cli_runs import samples_and_serves_with_labels, train_then_resume
from zoo import cli, sampling
from zoo.errors import UserError

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
    draws_the_attention_rows_of_its_queries(run, generator, tmp_path)


def draws_the_attention_rows_of_its_queries(run, generator, tmp_path):
    """`gan-zoo attention`: a row per seed, the image then a panel per query; each panel's map is row j of β for the
    4×4 feature position j under the query pixel, each position covering 2×2 pixels of the 8×8 image."""
    out = str(tmp_path / "attention.png")
    assert cli.main(["attention", run, "--seeds", "3,5", "--query", "1,6", "--query", "7,0", "--label", "1",
                     "--scale", "2", "--out", out]) == 0
    drawn = np.asarray(Image.open(out).convert("RGB"))
    assert drawn.shape == (2 + 2 * (16 + 2), 2 + 3 * (16 + 2), 3)  # 2 rows × (image + 2 queries) of 16×16 panels
    queries = [(1, 6), (7, 0)]
    images, maps = sampling.attention_maps(generator.recipe, [3, 5], queries, label=1)
    np.testing.assert_array_equal(images, generator.sample_seeds([3, 5], labels=1))
    beta = np.asarray(generator.recipe.attention_map([generator.latents([3, 5]), np.array([1, 1], np.int32)]))
    for query, position in enumerate([0 * 4 + 3, 3 * 4 + 0]):  # (1, 6) → feature (0, 3); (7, 0) → (3, 0)
        expected = np.kron(beta[:, position].reshape(2, 4, 4), np.ones((2, 2)))
        np.testing.assert_allclose(maps[:, query], expected, rtol=1e-6)
    for row, (image, image_maps) in enumerate(zip(images, maps)):
        panel = lambda column: drawn[2 + 18 * row:18 * (row + 1), 2 + 18 * column:18 * (column + 1)]  # noqa: E731
        gray = np.repeat(image.astype(np.float32), 3, axis=-1)
        panels = [(gray, queries)] + [(sampling.heat_overlay(gray, heat), [query])
                                      for query, heat in zip(queries, image_maps)]
        for column, (shown, marked) in enumerate(panels):
            mark = np.zeros((16, 16), bool)
            for query_row, query_column in marked:
                mark[2 * query_row:2 * query_row + 2, 2 * query_column:2 * query_column + 2] = True
            assert (panel(column)[mark] == sampling.QUERY_MARK).all()  # the queries, marked (2×2: filled)
            enlarged = np.kron(shown, np.ones((2, 2, 1)))  # the image, or the map over it
            assert np.abs(panel(column)[~mark].astype(float) - enlarged[~mark]).max() <= 0.5


def test_attention_refuses_a_generator_without_attention_and_queries_outside_the_image():
    sngan = recipes.SNGAN(width=4, latent_dim=8, image_shape=(8, 8, 1))
    with pytest.raises(UserError, match="attention maps need a generator with a self-attention layer.*SNGAN"):
        sampling.attention_maps(sngan, [0], [(1, 1)])
    sagan = recipes.SAGAN(width=4, latent_dim=8, image_shape=(8, 8, 1))
    for query in ((8, 0), (0, -1)):
        with pytest.raises(UserError, match=r"query \(.*\) is outside the 8×8 image: rows in \[0, 8\)"):
            sampling.attention_maps(sagan, [0], [query])
    with pytest.raises(UserError, match="unconditional: it takes no label"):
        sampling.attention_maps(sagan, [0], [(1, 1)], label=0)
