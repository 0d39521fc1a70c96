"""Tiny generators of every preset kind (random weights: exports must reproduce whatever the
weights are), wrapped as zoo.presets.pretrained.Generator like `zoo.load` returns them."""
import pytest

import recipes
from zoo.presets.pretrained import Generator

SMALL = {"image_shape": (8, 8, 1), "seed": 3}
KINDS = {
    "unconditional": (recipes.DCGAN, {"latent_dim": 8, "width": 8, "ema_decay": 0.9}),
    "conditional": (recipes.CGAN, {"latent_dim": 8, "width": 8, "embedding_dim": 4, "num_classes": 3}),
    "stylegan": (recipes.get_recipe("stylegan_lite"), {"latent_dim": 8, "w_dim": 8, "width": 8, "mapping_layers": 2}),
    # labels and truncation ψ (BigGAN-lite's truncated z: recipes.latents.truncated_normal)
    "conditional_truncated": (recipes.get_recipe("biggan_lite"), {"latent_dim": 8, "width": 4, "embedding_dim": 4,
                                                                  "num_classes": 3}),
    "translation": (recipes.get_recipe("cyclegan"), {"width": 4, "num_blocks": 1, "discriminator_width": 4,
                                                      "discriminator_layers": 1, "pool_size": 4}),
    "super_resolution": (recipes.get_recipe("srgan"), {"width": 4, "num_blocks": 1, "discriminator_width": 4,
                                                        "discriminator_stages": 1, "discriminator_dense": 8}),
}


def tiny_generator(kind):
    recipe_class, settings = KINDS[kind]
    return Generator(recipe_class(**SMALL, **settings), {"name": f"tiny_{kind}", "recipe": recipe_class.__name__})


@pytest.fixture(scope="module")
def generators():
    return {kind: tiny_generator(kind) for kind in KINDS}


def pytest_generate_tests(metafunc):
    """A test taking `kind` runs for every preset kind."""
    if "kind" in metafunc.fixturenames:
        metafunc.parametrize("kind", list(KINDS))
