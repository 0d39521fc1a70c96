"""GAN Zoo: what users touch — pretrained presets, datasets, training, metrics and the CLI.

    import zoo
    zoo.list_models("*fashion*")
    g = zoo.load("dcgan_fashion_mnist_28")    # keras.Model generator, weights verified by sha256
    images = g.sample(16, seed=0)              # uint8 NHWC
    zoo.card("cgan_fashion_mnist_28")          # metadata, provenance, metrics
    recipe = zoo.load_recipe("dcgan_fashion_mnist_28")   # generator + discriminator, compiled
"""
_REGISTRY_FUNCTIONS = ("list_models", "load", "load_recipe", "card")


def __getattr__(name):  # the registry imports TensorFlow: only when it is used
    if name in _REGISTRY_FUNCTIONS:
        from zoo import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
