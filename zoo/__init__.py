"""GAN Zoo: what users touch — pretrained presets, datasets, training, metrics and the CLI.

    import zoo
    zoo.list_models("*fashion*")
    g = zoo.load("dcgan_fashion_mnist_28")    # keras.Model generator, weights verified by sha256
    images = g.sample(16, seed=0)              # uint8 NHWC
    zoo.card("cgan_fashion_mnist_28")          # metadata, provenance, metrics
    recipe = zoo.load_recipe("dcgan_fashion_mnist_28")   # generator + discriminator, compiled
"""
_FUNCTIONS = {"list_models": "registry", "load_recipe": "registry", "card": "registry", "load": "pretrained"}


def __getattr__(name):  # these modules import TensorFlow: only when they are used
    if name in _FUNCTIONS:
        import importlib

        return getattr(importlib.import_module(f"zoo.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
