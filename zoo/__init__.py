"""GAN Zoo: what users touch — pretrained presets, datasets, training, metrics and the CLI.

    import zoo
    zoo.list_models("*fashion*")
    zoo.list_recipes()                         # the registered recipes: gan-zoo train NAME
    g = zoo.load("dcgan_fashion_mnist_28")    # keras.Model generator, weights verified by sha256
    images = g.sample(16, seed=0)              # uint8 NHWC
    zoo.card("cgan_fashion_mnist_28")          # metadata, provenance, metrics
    recipe = zoo.load_recipe("dcgan_fashion_mnist_28")   # generator + discriminator, compiled

Packages: zoo.data (datasets), zoo.train (training runs), zoo.eval (evaluation protocols),
zoo.metrics (metric definitions), zoo.presets (shipped generators and their cards), zoo.study
(loss studies); zoo.sampling samples any generator; zoo.cli is `gan-zoo`.
"""
from zoo import _lazy

_FUNCTIONS = {"list_models": "zoo.presets.store", "load_recipe": "zoo.presets.store", "card": "zoo.presets.store",
              "load": "zoo.presets.pretrained", "list_recipes": "recipes.registry"}
_lazy.install()


def __getattr__(name):  # these modules import TensorFlow: only when they are used
    import importlib

    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    if f"zoo.{name}" in _lazy.MOVED:  # `from zoo import training` (deprecated)
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
