"""Pretrained presets: `zoo/presets/<name>/` (or any directory of the same layout)

    config.json            {"recipe": registered recipe name, "recipe_config": constructor config}
    <network>.weights.h5   one file per network: the sampling generator (the EMA copy when the
                           recipe keeps one) under "generator", other generators (CycleGAN's
                           generator_b2a), discriminators, and SRGAN's content network
    card.json              metadata, training provenance, metrics, and "files": {file: sha256}
    samples.png            a sample grid of the shipped generator

Every file in card["files"] is checked against its sha256 before it is used.
"""
import difflib
import fnmatch
import os

from zoo.errors import UserError
from zoo.files import read_json, verified

PRESETS_DIR = os.path.dirname(os.path.abspath(__file__))
CONFIG_FILE, CARD_FILE, SAMPLES_FILE = "config.json", "card.json", "samples.png"


def weights_file(network_name):
    return f"{network_name}.weights.h5"


def is_preset_dir(path):
    return os.path.isfile(os.path.join(path, CONFIG_FILE)) and os.path.isfile(os.path.join(path, CARD_FILE))


def list_models(pattern="*"):
    """Names of the shipped presets, sorted.

    Args:
        pattern: a shell-style pattern (fnmatch), e.g. "*fashion*"; default: every preset.

    Returns:
        list of names `zoo.load` takes.
    """
    if not isinstance(pattern, str):
        raise UserError(f"pattern must be a shell-style string, e.g. '*fashion*'; received {pattern!r}")
    if not os.path.isdir(PRESETS_DIR):
        return []
    names = [name for name in os.listdir(PRESETS_DIR) if is_preset_dir(os.path.join(PRESETS_DIR, name))]
    return sorted(fnmatch.filter(names, pattern))


def preset_path(name):
    """The directory of a shipped preset `name`, or `name` itself when it is a preset directory."""
    check_name(name)
    if os.path.isdir(name):
        if not is_preset_dir(name):
            raise UserError(f"{name} is not a preset directory: it needs {CONFIG_FILE} and {CARD_FILE}")
        return name
    if name in list_models():
        return os.path.join(PRESETS_DIR, name)
    raise UserError(unknown_model_message(name) + " (or pass a preset directory)")


def check_name(name):
    """A model is named by a string (a preset name or a path)."""
    if not isinstance(name, (str, os.PathLike)):
        raise UserError(f"a model is a preset name or a path (a string); received {name!r}")


def unknown_model_message(name):
    known = list_models()
    nearest = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(nearest)}?" if nearest else ""
    return f"Unknown model {name!r}.{hint} Known models: {', '.join(known) or 'none'}"


def card(name):
    """The model card of a preset: metadata, training provenance, metrics.

    Args:
        name: a preset's name or directory.

    Returns:
        dict: card.json (recipe, image shape, training command, seed, steps and wall time across sessions,
        evaluation results with their protocol, the sha256 of every file).
    """
    return read_card(preset_path(name))


def read_card(directory):
    """The preset's card.json: a JSON object whose "files" (if any) maps file names to sha256 strings."""
    path = os.path.join(directory, CARD_FILE)
    model_card = read_json(path)
    files = model_card.get("files", {}) if isinstance(model_card, dict) else None
    if not isinstance(files, dict) or not all(isinstance(value, str) for value in files.values()):
        raise UserError(f"{path} is not a model card (a JSON object whose \"files\" maps file names to sha256 "
                        "strings); restore it from a copy of the preset")
    return model_card


def listed_path(directory, filename):
    """The path of a file the card lists: inside the preset's directory (not absolute, no "..")."""
    if os.path.isabs(filename) or os.pardir in os.path.normpath(filename).split(os.sep):
        raise UserError(f"{os.path.join(directory, CARD_FILE)} lists {filename!r}: a preset's files are inside its "
                        "directory; restore the card from a copy of the preset")
    return os.path.join(directory, filename)


def verified_file(directory, filename, model_card):
    """Path of `filename` in the preset, after checking it against the card's sha256."""
    path = listed_path(directory, filename)
    expected = model_card.get("files", {}).get(filename)
    if expected is None:
        raise UserError(f"{filename} is not listed with a sha256 in {os.path.join(directory, CARD_FILE)}")
    return verified(path, expected, "the card", "reinstall the package or copy the whole preset directory again")


def verified_card(directory):
    """The preset's card, after config.json (which must be listed) and every other file it lists that
    is present have been checked against their sha256: nothing of the preset is read or built before.
    (A file may be absent: a generator-only copy loads; `restore_networks` requires what it loads.)"""
    model_card = read_card(directory)
    verified_file(directory, CONFIG_FILE, model_card)
    for filename in model_card.get("files", {}):
        if os.path.exists(listed_path(directory, filename)):
            verified_file(directory, filename, model_card)
    return model_card


def build_recipe(directory):
    """The preset's recipe with freshly initialised weights (call after `verified_card`). config.json names the
    recipe and, in presets made since it was recorded, its Keras class ("gan_zoo>DCGAN"): a class that is not
    the registered recipe's is refused rather than built from another class's settings."""
    path = os.path.join(directory, CONFIG_FILE)
    config = read_json(path)
    import keras  # here: listing and reading cards import no TensorFlow (`gan-zoo list`)

    import recipes

    recipe_class = recipes.get_recipe(config["recipe"])
    registered, declared = keras.saving.get_registered_name(recipe_class), config.get("class_name")
    if declared is not None and declared != registered:
        raise UserError(f"{path} names the Keras class {declared!r}, but recipe {config['recipe']!r} is {registered!r} "
                        "here: the preset was made by another version of the recipe or edited; re-make it with "
                        "`gan-zoo make-preset`")
    return recipe_class.from_config(config["recipe_config"])


def restore_networks(recipe, directory, model_card, roles):
    """Load the weights of the networks of `roles` ("g", "d", "fixed") from verified files."""
    for network_name, network in shipped_networks(recipe, roles).items():
        network.load_weights(verified_file(directory, weights_file(network_name), model_card))
    if "g" in roles and recipe.ema_generator is not None:  # training resumes from the shipped (EMA) weights
        recipe.generator.set_weights(recipe.ema_generator.get_weights())


def shipped_networks(recipe, roles=("g", "d", "fixed")):
    """{name: network} saved in a preset; "generator" is the sampling generator (EMA when kept)."""
    networks = {}
    if "g" in roles:
        networks.update(recipe.networks("g"))
        networks["generator"] = recipe.sampling_generator
    if "d" in roles:
        networks.update(recipe.networks("d"))
    if "fixed" in roles and getattr(recipe, "content_network", None) is not None:
        networks["content_network"] = recipe.content_network
    return networks


def load_recipe(name, compile=True):
    """The preset's whole recipe with its weights: ready to `fit`.

    Args:
        name: a preset's name or directory.
        compile: compile with the recipe's default optimizers (False: leave it to the caller).

    Returns:
        the recipe (a keras.Model holding generators, discriminators and fixed networks).
    """
    directory = preset_path(name)
    model_card = verified_card(directory)
    recipe = build_recipe(directory)
    restore_networks(recipe, directory, model_card, ("g", "d", "fixed"))
    if compile:
        recipe.compile()
    return recipe
