"""Load a trained generator from a training run directory or a `.keras` file, and sample it
reproducibly in chunks."""
import os
import weakref

import keras
import numpy as np
import tensorflow as tf

import recipes
from recipes.capabilities import CONDITION, MIX_STYLES, SAMPLE, TRUNCATE, task_of
from recipes.latents import seed_latents, stream_latents
from zoo.checks import checked_seeds, checked_truncation, whole_number
from zoo.data import record
from zoo.errors import UserError, first_line
from zoo.files import read_json
from zoo.train.run_directory import recipe_from_run


UNTRAINED_SEED = 0  # the untrained baseline's initialisation: the evaluation's first sampling seed


def untrained_like(recipe, seed=UNTRAINED_SEED):
    """A freshly initialised recipe with the same configuration (the "untrained generator" baseline), its
    initial weights drawn from `seed` (Keras's global seeds are set to it first): the same on every run."""
    keras.utils.set_random_seed(seed)
    return type(recipe).from_config(recipe.get_config())


def load_target(target):
    """(recipe, description) for a run directory, a preset (name or directory) or a .keras file of a recipe. The
    description carries the record of the generator's data (zoo.data.record, under RECORD_KEY); a .keras file or
    a SavedModel records none: a Fashion-MNIST generator is assumed, as before records were kept."""
    recipe, description = _load_target(target)
    if record.RECORD_KEY not in description:
        description[record.RECORD_KEY] = record.from_description(description, recipe.image_shape).to_json()
    return recipe, description


def _load_target(target):
    from zoo.presets import store

    store.check_name(target)
    target = os.fspath(target)
    if target in store.list_models() or (os.path.isdir(target) and store.is_preset_dir(target)):
        directory = store.preset_path(target)
        card = store.card(directory)
        return store.load_recipe(directory, compile=False), {
            "kind": "preset", "preset": card["name"], "path": os.path.abspath(directory),
            "recipe": card["recipe"], "data": card["training"]["data"],
            record.RECORD_KEY: record.of_card(card).to_json()}
    if os.path.isfile(os.path.join(target, "saved_model.pb")):
        return SavedModelGenerator(target), {"kind": "saved_model", "path": os.path.abspath(target)}
    if os.path.isdir(target):
        return recipe_from_run(target)
    if target.endswith(".keras") and os.path.isfile(target):
        try:
            model = keras.models.load_model(target, compile=False)  # safe_mode: no Python lambdas are run
        except Exception as error:  # noqa: BLE001  Keras raises ValueError, OSError, zipfile's errors...
            raise UserError(f"cannot load {target} ({first_line(error)}); pass a .keras file saved by a GAN Zoo "
                            "recipe") from None
        if not isinstance(model, recipes.GAN):
            raise UserError(f"{target} holds a {type(model).__name__}, not a GAN Zoo recipe")
        return model, {"kind": "keras_file", "path": os.path.abspath(target), "recipe_config": model.get_config()}
    raise UserError(store.unknown_model_message(target) + " (or pass a preset directory, a `gan-zoo train` "
                    "run directory or a .keras file of a recipe)")


def load_saved_model(path):
    """tf.saved_model.load, with a file that does not load (corrupt, truncated, another format) as a
    one-line UserError. A SavedModel is a program: load only directories you trust (README)."""
    try:
        return tf.saved_model.load(path)
    except Exception as error:  # noqa: BLE001  TF raises OSError, ValueError, DecodeError, OpError...
        raise UserError(f"cannot load the SavedModel in {path} ({first_line(error)}); re-export it with `gan-zoo export NAME "
                        "--format saved_model`, or pass another directory") from None


class SavedModelGenerator:
    """A SavedModel's `serving_default` signature (latent `z` [batch, d], int `labels` for
    conditional models, `truncation` ψ (set to 1) for StyleGAN-lite → images) in the shape of a
    sampling recipe, for `gan-zoo evaluate`. The output used is the first float one (taken as
    [-1, 1]), else a uint8 one (rescaled)."""

    def __init__(self, path):

        self.loaded = load_saved_model(path)  # keep it alive: the signature references its variables
        self.signature = self.loaded.signatures.get("serving_default")
        if self.signature is None:
            raise UserError(f"{path} has no serving_default signature; export generators with `gan-zoo export`")
        inputs = self.signature.structured_input_signature[1]
        if "z" not in inputs:
            raise UserError(f"{path}'s serving_default takes {sorted(inputs)}; a sampling generator takes `z` "
                            "(and `labels` when conditional)")
        self.latent_dim = int(inputs["z"].shape[-1])
        self.conditional, self.truncatable = "labels" in inputs, "truncation" in inputs
        self.capabilities = frozenset({SAMPLE, CONDITION} if self.conditional else {SAMPLE})  # ψ stays 1; no TRAIN
        self.task = task_of(self.capabilities)
        outputs = self.signature.structured_outputs
        floats = [key for key, spec in sorted(outputs.items()) if spec.dtype.is_floating]
        self.output_key = floats[0] if floats else next(iter(sorted(outputs)))
        self.image_shape = tuple(int(d) for d in outputs[self.output_key].shape[1:])
        card_path = os.path.join(path, "assets.extra", "card.json")  # TF Serving layout: the export's card
        self.num_classes = read_json(card_path).get("num_classes") if os.path.exists(card_path) else None
        if self.conditional and not self.num_classes:
            raise UserError(f"{path} is conditional but has no assets.extra/card.json with num_classes")
        self.sampling_generator = self.generate

    def generate(self, inputs, training=False):
        import tensorflow as tf

        z, extra = (inputs[0], {"labels": tf.cast(inputs[1], tf.int32)}) if self.conditional else (inputs, {})
        z = tf.convert_to_tensor(z)
        if self.truncatable:  # StyleGAN-lite exports: ψ = 1, the untruncated generator
            extra["truncation"] = tf.ones([tf.shape(z)[0]], tf.float32)
        images = self.signature(z=z, **extra)[self.output_key]
        if images.dtype == tf.uint8:
            return tf.cast(images, tf.float32) / 127.5 - 1.0
        return images


def balanced_labels(start, count, num_classes):
    """Conditioning labels of samples [start, start + count): the classes in turn (balanced)."""
    return ((start + np.arange(count)) % num_classes).astype(np.int32)


_GENERATE = weakref.WeakKeyDictionary()  # recipe -> its (plain, truncated) tf.functions


def generating(recipe, truncation=1.0):
    """generate(z or [z, labels]) -> images in [-1, 1] of the recipe's sampling generator. `truncation`
    ψ ≠ 1 needs a recipe with a truncation trick (`generate_truncated`: StyleGAN-lite, BigGAN-lite). One pair
    of tf.functions per recipe, ψ a tensor: repeated calls (a demo's requests, `sample_seeds` in a loop, any
    ψ) reuse one trace per input shape instead of tracing anew (0.3–4 s each)."""
    truncation = check_truncation(recipe, truncation)
    if recipe not in _GENERATE:
        owner = weakref.ref(recipe)  # the functions must not keep their recipe (the cache's key) alive
        _GENERATE[recipe] = (
            tf.function(lambda inputs: owner().sampling_generator(inputs, training=False), reduce_retracing=True),
            tf.function(lambda z, psi: owner().generate_truncated(z, psi), reduce_retracing=True))
    plain, truncated = _GENERATE[recipe]
    if truncation == 1.0:
        return plain
    psi = tf.constant(truncation, tf.float32)
    return lambda z: truncated(z, psi)


def check_truncation(recipe, truncation):
    """ψ as a float (zoo.checks.checked_truncation): 1 (none) for any recipe; other values need a recipe with a
    truncation trick (TRUNCATE), at most its `max_truncation` (BigGAN-lite's ψ, the mass kept, stops at 1)."""
    truncation = checked_truncation(truncation)
    if truncation != 1.0 and TRUNCATE not in recipe.capabilities:
        raise UserError(f"truncation needs a recipe with a truncation trick (stylegan_lite, biggan_lite); "
                        f"{type(recipe).__name__} has none")
    limit = getattr(recipe, "max_truncation", None)
    if limit is not None and truncation > limit:
        raise UserError(f"truncation ψ of {type(recipe).__name__} must be in [0, {limit:g}] (1: none); "
                        f"received {truncation:g}")
    return truncation


def sampler(recipe, truncation=1.0):
    """sample_fn(seed) -> (start, count) -> images in [-1, 1] of samples [start, start + count) of the
    seed's stream (recipes.latents); conditional recipes cycle through the classes (balanced labels)."""
    generate = generating(recipe, truncation)

    def for_seed(seed):
        def chunk(start, count):
            z = stream_latents(seed, start, count, recipe.latent_dim)
            if recipe.conditional:
                return np.asarray(generate([z, balanced_labels(start, count, recipe.num_classes)]))
            return np.asarray(generate(z))

        return chunk

    return for_seed


def padded_frame(recipe, data, data_dir=None):
    """(h, w) of the dataset's own images inside the generator's canvas when it trained on images padded to
    its size, else None. `data`: the generator's DataRecord (zoo.data.record), or a run's or card's training
    configuration ("data", as callers from before records passed it)."""
    if not isinstance(data, record.DataRecord):
        if not data or data.get("crop") != "pad":
            return None
        data = record.resolve(data, recipe.image_shape, data_dir)
    return data.padded_from


def center_cropped(sample_fn, size):
    """Undo training with crop="pad": each generated image's centered (h, w) = `size` box, the
    frame of the dataset's own images (e.g. 28×28 Fashion-MNIST inside a 32×32 StyleGAN canvas)."""
    def for_seed(seed):
        chunk = sample_fn(seed)

        def cropped(start, count):
            images = chunk(start, count)
            top, left = (images.shape[1] - size[0]) // 2, (images.shape[2] - size[1]) // 2
            return images[:, top:top + size[0], left:left + size[1]]

        return cropped

    return for_seed


def style_mixing_grid(recipe, rows, columns, crossover, truncation=1.0):
    """uint8 grid image of `recipe.mix_styles` (`rows`, `columns`: a seed or a 1-D list of seeds): the top row shows the `columns` seeds' images (the
    fine-style sources), the left column the `rows` seeds' images (the coarse-style sources), and
    cell (i, j) the image with style layers < `crossover` from rows[i] and the rest from columns[j]."""
    from zoo.images import MAX_GRID_IMAGES, make_grid, to_uint8

    if MIX_STYLES not in recipe.capabilities:
        raise UserError(f"style mixing needs a recipe with per-layer styles (stylegan_lite); "
                        f"{type(recipe).__name__} has none")
    rows, columns = checked_seeds(rows).tolist(), checked_seeds(columns).tolist()
    truncation = check_truncation(recipe, truncation)
    if (len(rows) + 1) * (len(columns) + 1) > MAX_GRID_IMAGES:
        raise UserError(f"{len(rows)} rows × {len(columns)} columns of seeds make more than {MAX_GRID_IMAGES} images "
                        "(with the sources' row and column); pass fewer seeds")
    if isinstance(crossover, (bool, np.bool_)) or not isinstance(crossover, (int, np.integer)) \
            or not 0 <= crossover <= recipe.num_layers:
        raise UserError(f"crossover must be in [0, {recipe.num_layers}] (the generator's style layers), an integer; "
                        f"received {crossover!r}")
    mixed = recipe.mix_styles(rows, columns, crossover, truncation).reshape(len(rows), len(columns),
                                                                            *recipe.image_shape)
    fine = recipe.mix_styles(rows[0], columns, 0, truncation)  # crossover 0: the columns' own images
    coarse = recipe.mix_styles(rows, columns[0], recipe.num_layers, truncation)  # the rows' own images
    blank = np.full((1, *recipe.image_shape), 1.0, np.float32)  # white corner
    cells = [np.concatenate([blank, fine])]
    cells += [np.concatenate([coarse[i:i + 1], mixed[i]]) for i in range(len(rows))]
    return make_grid(to_uint8(np.concatenate(cells)), columns=len(columns) + 1)


def save_png_folder(directory, chunks, total, progress):
    """Each image of `chunks` (uint8 batches, `total` images in all) as DIRECTORY/000000.png, 000001.png, …;
    progress(done, total) after each chunk. Returns how many were written."""
    from zoo.images import save_png

    index = 0
    for chunk in chunks:
        for image in chunk:
            save_png(os.path.join(directory, f"{index:06d}.png"), image)
            index += 1
        progress(index, total)
    return index


def interpolation_path(generator, seeds, steps, label=None, truncation=1.0):
    """uint8 frames walking seeds[0] → seeds[1] → … with `generator.interpolate`: each pair's `steps` frames, the
    first frame of every pair after the first dropped (the pair before ended on it)."""
    pairs = [generator.interpolate(a, b, steps, label, truncation) for a, b in zip(seeds, seeds[1:])]
    return np.concatenate([pairs[0], *[pair[1:] for pair in pairs[1:]]])


def interpolation_grid(rows):
    """One image of the interpolation paths `rows` (e.g. one per class), a path per row."""
    from zoo.images import make_grid

    return make_grid(np.concatenate(rows), columns=len(rows[0]))


def interpolation_animation(rows):
    """The GIF frames of the interpolation paths `rows`: frame i shows every path's i-th image side by side."""
    from zoo.images import make_grid

    return [make_grid(np.stack([row[i] for row in rows]), columns=len(rows)) for i in range(len(rows[0]))]


ATTENTION_LAYER = "attention"  # the name recipes.sngan.attend gives SAGAN's self-attention layer
QUERY_MARK = (0, 255, 255)  # cyan: the query pixel in attention panels


def attention_maps(recipe, seeds, queries, label=None):
    """What the generator's self-attention layer (SAGAN's, Zhang et al. 2018, eq. 1) looks at when it makes each
    seed's image (`Generator.sample_seeds`' image: z of `recipes.latents.seed_latents`, class `label`, default 0,
    for conditional recipes).

    Returns (images uint8 [S, H, W, C], maps float32 [S, Q, H, W]): map[s, q] is row j of β, the weights the
    attended position j under query pixel q = (row, column) gives every position i of the h×w feature map
    (j = (row·h // H)·w + column·w // W), drawn over the image by nearest up-sampling (each position covers
    (H/h)×(W/w) pixels); each map sums to (H/h)·(W/w). Refused: a generator without self-attention, queries
    outside the image."""
    from recipes.sagan import attention_map
    from zoo.images import to_uint8

    network = recipe.sampling_generator if SAMPLE in recipe.capabilities else None
    if network is None or ATTENTION_LAYER not in [layer.name for layer in network.layers]:
        raise UserError(f"attention maps need a generator with a self-attention layer (sagan; biggan_lite with "
                        f"--set attention_resolution=…); this {type(recipe).__name__} generator has none")
    height, width = recipe.image_shape[:2]
    queries = checked_queries(queries, height, width)
    z = seed_latents(checked_seeds(seeds), recipe.latent_dim)
    inputs = [z, np.full(len(z), checked_label(recipe, label), np.int32)] if recipe.conditional else z
    if not recipe.conditional and label is not None:
        raise UserError(f"{type(recipe).__name__} is unconditional: it takes no label")
    beta = np.asarray(attention_map(network, inputs), np.float32)  # [S, h·w, h·w]
    rows, columns = network.get_layer(ATTENTION_LAYER).input.shape[1:3]
    positions = [(row * rows // height) * columns + column * columns // width for row, column in queries]
    maps = beta[:, positions].reshape(len(z), len(queries), rows, columns)
    maps = maps.repeat(height // rows, axis=2).repeat(width // columns, axis=3)
    return to_uint8(generating(recipe)(inputs)), maps


def checked_label(recipe, label):
    """A conditional recipe's one class id (default 0)."""
    return 0 if label is None else whole_number("label", label, 0, recipe.num_classes - 1)


def checked_queries(queries, height, width):
    """Query pixels as [(row, column), ...], each inside the height × width image; anything else is refused."""
    checked = []
    for query in queries:
        array = np.asarray(query)
        if array.shape != (2,) or array.dtype.kind not in "iu":
            raise UserError(f"a query pixel is a (row, column) pair of integers; received {query!r}")
        row, column = array.tolist()
        if not (0 <= row < height and 0 <= column < width):
            raise UserError(f"query ({row}, {column}) is outside the {height}×{width} image: rows in [0, {height}), "
                            f"columns in [0, {width})")
        checked.append((row, column))
    if not checked:
        raise UserError("attention maps need at least one query pixel (row, column)")
    return checked


def attention_grid(recipe, seeds, queries, label=None, scale=4):
    """uint8 RGB grid of `attention_maps`: a row per seed, its image (every query marked in cyan), then one
    panel per query: the map (scaled to its maximum, magma colours) blended 60/40 over the image, the query
    marked. Every panel is enlarged `scale`× (nearest) so the query's mark and the map's cells show."""
    from zoo.images import make_grid

    scale = whole_number("scale", scale, 1, 16)
    images, maps = attention_maps(recipe, seeds, queries, label)
    queries = checked_queries(queries, *recipe.image_shape[:2])
    panels = []
    for image, image_maps in zip(images, maps):
        gray = np.broadcast_to(image, (*image.shape[:2], 3)).astype(np.float32)
        panels.append(marked(enlarged(gray, scale), queries, scale))
        panels += [marked(enlarged(heat_overlay(gray, heat), scale), [query], scale)
                   for query, heat in zip(queries, image_maps)]
    return make_grid(np.stack(panels), columns=len(queries) + 1)


def heat_overlay(image, heat):
    """0.4 · image + 0.6 · magma(heat / max heat), RGB floats in [0, 255] (image [H, W, 3], heat [H, W])."""
    from matplotlib import colormaps

    colours = colormaps["magma"](heat / max(float(heat.max()), 1e-12))[..., :3] * 255.0
    return 0.4 * image + 0.6 * colours


def enlarged(image, scale):
    """[H, W, 3] floats → uint8 [scale·H, scale·W, 3], each pixel a scale × scale block."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8).repeat(scale, axis=0).repeat(scale, axis=1)


def marked(panel, queries, scale):
    """The panel with each query pixel's scale × scale block outlined in QUERY_MARK (filled when scale < 3)."""
    panel = panel.copy()
    for row, column in queries:
        block = panel[row * scale:(row + 1) * scale, column * scale:(column + 1) * scale]
        inside = block[1:-1, 1:-1].copy()
        block[...] = QUERY_MARK
        block[1:-1, 1:-1] = inside  # empty when scale < 3: the block stays filled
    return panel
