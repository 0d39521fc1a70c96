"""Every shipped preset: loads offline with verified weights, samples deterministically with sane
values, still gives its recorded golden pixels, and its Markdown card matches its card.json.

After retraining a preset on purpose: `python tests/zoo/test_presets.py` rewrites golden_pixels.json."""
import json
import os

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.eval.scoring import real_images
from zoo.presets import store
from zoo.presets.packaging import card_markdown, index_markdown, preset_samples, sample_grid, with_readme_table

GOLDEN = os.path.join(os.path.dirname(__file__), "golden_pixels.json")
CARDS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "model_cards")
PRESETS = store.list_models()


def probe(g):
    """uint8 outputs of a fixed input: 4 samples of seed 0, or 4 real test images translated / upscaled."""
    if g.task == "sampling":
        return g.sample(4, seed=0)
    images, _ = real_images("fashion_mnist", "test")
    if g.task == "translation":
        return g.translate(images[:4])
    return g.upscale(images[:4, ::4, ::4])


def pixels(images):
    """64 pixels at fixed random positions (a stride fell on the black margin of a padded 32×32 canvas)."""
    flat = images.reshape(-1)
    positions = np.sort(np.random.default_rng(0).choice(len(flat), min(64, len(flat)), replace=False))
    return flat[positions].astype(int).tolist()


def test_there_are_presets():
    assert PRESETS, "the package ships pretrained presets under zoo/presets/"


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_samples_and_matches_its_golden_pixels(name):
    g = zoo.load(name)
    first, again = probe(g), probe(g)
    assert first.dtype == np.uint8 and first.shape[0] == 4 and first.shape[1:] == tuple(g.card["image_shape"])
    np.testing.assert_array_equal(first, again)
    assert 0 < first.std()  # not a blank image
    if g.task == "sampling":
        floats = g(np.random.default_rng(0).standard_normal((4, g.latent_dim)).astype("float32")
                   if not g.conditional else [np.zeros((4, g.latent_dim), "float32"), np.arange(4, dtype="int32")])
        assert np.isfinite(floats).all() and np.abs(floats).max() <= 1.0
    golden = json.load(open(GOLDEN))
    assert name in golden, f"no golden pixels for {name}: run python tests/zoo/test_presets.py"
    assert len(set(golden[name])) > 8, "the probe must see the image, not its margin"
    np.testing.assert_allclose(pixels(first), golden[name], atol=1)  # 1 gray level: CPU rounding


@pytest.mark.parametrize("name", PRESETS)
def test_samples_png_is_what_the_current_code_draws(name):
    """samples.png (and the card's copy) show the preset's weights under today's seed → z: a change in how
    samples are drawn fails here until `packaging.redraw_samples` draws them again (DCGAN's and LSGAN's were
    drawn with the old numpy z and matched nothing `gan-zoo sample` gave)."""
    directory = store.preset_path(name)
    drawn = preset_samples(directory)
    shipped = np.asarray(Image.open(os.path.join(directory, store.SAMPLES_FILE)))
    assert shipped.size == drawn.size and shipped.shape == drawn.shape[:shipped.ndim]
    np.testing.assert_allclose(shipped.reshape(drawn.shape), drawn, atol=1)  # 1 gray level: CPU rounding
    if zoo.card(name)["task"] == "sampling" and not zoo.card(name)["num_classes"]:  # `gan-zoo sample NAME`'s grid
        np.testing.assert_allclose(sample_grid(zoo.load(name), 64, seed=0), drawn, atol=1)
    with open(os.path.join(directory, store.SAMPLES_FILE), "rb") as preset, \
            open(os.path.join(CARDS, f"{name}_samples.png"), "rb") as card:
        assert preset.read() == card.read(), f"{name}_samples.png is stale: run `gan-zoo cards`"


@pytest.mark.parametrize("name", PRESETS)
def test_markdown_card_matches_card_json(name):
    path = os.path.join(CARDS, f"{name}.md")
    assert os.path.exists(path), f"{path} is missing: run `gan-zoo cards`"
    assert open(path, encoding="utf-8").read() == card_markdown(zoo.card(name)), \
        f"{path} differs from its card.json: run `gan-zoo cards`"


def test_card_index_lists_every_preset():
    path = os.path.join(CARDS, "README.md")
    assert open(path, encoding="utf-8").read() == index_markdown([zoo.card(name) for name in PRESETS]), \
        "docs/model_cards/README.md is stale: run `gan-zoo cards`"


def test_readme_shows_the_preset_table():
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"), encoding="utf-8").read()
    assert readme == with_readme_table(readme, [zoo.card(name) for name in PRESETS]), \
        "README.md's preset table is stale: run `gan-zoo cards`"


if __name__ == "__main__":
    json_text = json.dumps({name: pixels(probe(zoo.load(name))) for name in PRESETS}, indent=1, sort_keys=True)
    with open(GOLDEN, "w") as handle:
        handle.write(json_text + "\n")
    print(f"wrote {GOLDEN} for {', '.join(PRESETS)}")
