"""Build the recipe a run trains: from its settings, or from a preset (fine-tuning), compiled with one
Adam per player."""
import json
import math

import recipes
from recipes.augment import parse_policies
from recipes.capabilities import SAMPLE
from zoo.errors import UserError
from zoo.train import perceptual
from zoo.train.config import OPTIMIZER_KEYS, check_image_size, check_optimizer_settings, check_step_fits


def recipe_class(name):
    try:
        return recipes.get_recipe(name)
    except ValueError as error:
        raise UserError(str(error)) from None


def check_settings(config):
    """The --set names and types of `config` (no network built: cheap, so a run checks them before any work)."""
    recipe_cls = recipe_class(config.recipe)
    settable = settable_arguments(recipe_cls)
    unknown = set(config.recipe_args) - settable
    if unknown:
        raise UserError(f"Unknown setting(s) {sorted(unknown)} for {config.recipe}; accepted: "
                        f"{', '.join(sorted(settable) + list(OPTIMIZER_KEYS))}")
    bad_optimizer_keys = set(config.optimizer_args) - set(OPTIMIZER_KEYS)
    if bad_optimizer_keys:
        raise UserError(f"Unknown optimizer setting(s) {sorted(bad_optimizer_keys)}; accepted: {', '.join(OPTIMIZER_KEYS)}")
    check_setting_types(recipe_cls, config.recipe_args)


def settable_arguments(recipe_cls):
    return set(recipe_cls.constructor_arguments()) - {"image_shape", "seed"}  # from the data and --seed


def build_recipe(config, image_shape):
    """The recipe named in `config`, compiled, for images of `image_shape`."""
    check_settings(config)
    recipe_cls = recipe_class(config.recipe)
    args = dict(config.recipe_args)
    if "content_network" in settable_arguments(recipe_cls):  # a name in perceptual.CONTENT_NETWORKS → the frozen network
        args["content_network"] = perceptual.content_network(args.get("content_network", "auto"), image_shape[-1])
    check_image_size(*image_shape[:2], "images")
    try:
        recipe = recipe_cls(image_shape=image_shape, seed=config.seed, **args)
    except (TypeError, ValueError) as error:
        raise UserError(f"Invalid setting for {config.recipe}: {error}") from None
    check_step_fits(recipe, config.batch_size)
    compile_recipe(recipe, config)
    return recipe


TYPES = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}


def check_setting_types(recipe_cls, settings):
    """Each recipe setting of its constructor argument's type (its annotation, else its default's): an integer
    setting refuses 32.5 and true (width=32.5 would build, and record, width 32); None stays accepted where it is
    the default. Arguments of other types (lists, None defaults without annotation) the recipe checks itself."""
    parameters = recipe_cls.constructor_arguments()
    for key, value in settings.items():
        parameter = parameters[key]
        kind = parameter.annotation if parameter.annotation in TYPES else type(parameter.default)
        if kind not in TYPES or (value is None and parameter.default is None):
            continue
        if kind is float:
            fits = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            fits = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if not fits:
            default = "" if parameter.default is None else f" (default {json.dumps(parameter.default)})"
            raise UserError(f"--set {key}={json.dumps(value)}: {key} takes {TYPES[kind]}{default}")


FINETUNE_SETTINGS = ("ema_decay", "ema_rampup", "augment")  # what a fine-tuning run may change; the rest is architecture
# A fine-tune restarts the preset's EMA with a half-life of 2.5% of its steps so far (`GAN.current_ema_decay`): on
# 1000 unseen bags the preset's fixed 0.999 gave 22% bags after 500 steps, this rule 89% (the raw generator 90%);
# measured against fixed decays and other ramps from 100 to 2000 steps in benchmarks/finetune_ema.py.
FINETUNE_EMA_RAMPUP = 0.025


def recipe_from_preset(config, image_shape):
    """The preset's recipe with its weights (generators, discriminators, fixed networks), compiled
    with the optimizers of `config`; the data must have the preset's image shape."""
    from zoo.presets import store

    architecture = sorted(set(config.recipe_args) - set(FINETUNE_SETTINGS))
    if architecture:
        raise UserError(f"fine-tuning keeps the preset's architecture; remove --set {', '.join(architecture)} "
                        f"(settings that may change: {', '.join(FINETUNE_SETTINGS + OPTIMIZER_KEYS)})")
    check_setting_types(recipe_class(config.recipe), config.recipe_args)
    recipe = store.load_recipe(config.init_from, compile=False)
    set_finetune_ema(recipe, config.recipe_args)
    if "augment" in config.recipe_args:  # DiffAugment: what lets a few hundred images fine-tune D without overfitting
        try:
            recipe.augment_policies = parse_policies(config.recipe_args["augment"])
        except ValueError as error:
            raise UserError(str(error)) from None
        if recipe.augment_policies and SAMPLE not in recipe.capabilities:
            raise UserError(f"augment (DiffAugment) is for sampling recipes; {config.init_from} does {recipe.task}")
    if tuple(recipe.image_shape) != tuple(image_shape):
        raise UserError(f"{config.init_from} makes {recipe.image_shape} images; the data gives {tuple(image_shape)}")
    check_step_fits(recipe, config.batch_size)
    compile_recipe(recipe, config)
    return recipe


def set_finetune_ema(recipe, settings):
    """The fine-tune's EMA: `ema_decay` given alone is a fixed decay; otherwise the EMA restarts with
    `ema_rampup` (default FINETUNE_EMA_RAMPUP), capped by `ema_decay` (default the preset's)."""
    asked = {key: settings[key] for key in ("ema_decay", "ema_rampup") if key in settings}
    if recipe.ema_generator is None:
        if asked:
            raise UserError(f"{', '.join(asked)} needs a preset with an EMA generator; this one has none")
        return
    decay = float(asked.get("ema_decay", recipe.ema_decay))
    rampup = asked.get("ema_rampup", None if "ema_decay" in asked else FINETUNE_EMA_RAMPUP)
    if not 0.0 < decay < 1.0 or not (rampup is None or 0.0 < float(rampup) <= 1.0):
        raise UserError(f"ema_decay must be in (0, 1) and ema_rampup in (0, 1]; received ema_decay={decay}, "
                        f"ema_rampup={rampup}")
    recipe.ema_decay, recipe.ema_rampup = decay, None if rampup is None else float(rampup)


def compile_recipe(recipe, config):
    """One optimizer per player (see `player_optimizer`); XLA when `config.jit_compile`."""
    recipe.compile(jit_compile=config.jit_compile, **{name: player_optimizer(recipe, config.optimizer_args, kind)
                                                      for name, (kind, _) in recipe.players.items()})


def player_optimizer(recipe, settings, player):
    """Adam with the recipe's defaults for `player` ("g" or "d": its own learning rate under TTUR), overridden by
    `lr` / `{player}_lr`, `beta_1`, `beta_2`."""
    check_optimizer_settings(settings)
    overrides = {key: settings[key] for key in ("beta_1", "beta_2") if key in settings}
    learning_rate = settings.get(f"{player}_lr", settings.get("lr"))
    if learning_rate is not None:
        overrides["learning_rate"] = learning_rate
    return recipe.default_optimizer(player, **{key: float(value) for key, value in overrides.items()})
