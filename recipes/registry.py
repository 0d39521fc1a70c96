"""The recipe registry: each recipe class registers itself once, with its name and paper
(`@register_recipe`, as timm's `register_model`); `recipes.RECIPES`, the cards' papers and
`zoo.list_recipes` are read from it, so adding a recipe edits no list elsewhere."""
import fnmatch
import types

import keras

_CLASSES = {}  # name → recipe class, in registration order
RECIPES = types.MappingProxyType(_CLASSES)  # the read-only view everything else reads


def register_recipe(name, paper):
    """Class decorator: register a `recipes.base.GAN` subclass under `name` with its `paper` (authors,
    year, link), and as Keras-serializable (package "gan_zoo"). The class gets `recipe_name` and `paper`.

    Args:
        name: the registry name (`gan-zoo train NAME`, a preset's config.json "recipe"); lower case,
            letters, digits and underscores.
        paper: the paper the recipe follows, cited on every card of its presets.
    """
    if not name.replace("_", "").isalnum() or name != name.lower():
        raise ValueError(f"A recipe name is lower case letters, digits and underscores. Received: name={name!r}")

    def register(cls):
        registered = _CLASSES.get(name)
        if registered is not None and (registered.__module__, registered.__qualname__) != (
                cls.__module__, cls.__qualname__):
            raise ValueError(f"Recipe name {name!r} is taken by {registered.__module__}.{registered.__qualname__}; "
                             f"choose another for {cls.__module__}.{cls.__qualname__}")
        cls.recipe_name, cls.paper = name, paper
        _CLASSES[name] = keras.saving.register_keras_serializable(package="gan_zoo")(cls)
        return cls

    return register


def get_recipe(name):
    """The recipe class registered under `name`."""
    if name not in _CLASSES:
        raise ValueError(f"Unknown recipe {name!r}. Known recipes: {', '.join(sorted(_CLASSES))}")
    return _CLASSES[name]


def list_recipes(pattern="*"):
    """Names of the registered recipes matching the shell-style `pattern`, sorted.

    Args:
        pattern: an fnmatch pattern, e.g. "*gan*".
    """
    return sorted(fnmatch.filter(_CLASSES, pattern))
