"""A pretrained generator as users meet it: a keras.Model whose call is the network (float in
[-1, 1]) and whose task methods return uint8 NHWC numpy images.

- sampling recipes: `g(z)` / `g([z, labels])`; `sample(n, seed, labels=None, truncation=1.0)`;
  StyleGAN-lite also `mix_styles(rows, columns, crossover)` (a uint8 grid);
- translation (CycleGAN): `g(images)` is A→B; `translate(images, direction="a2b")`;
- super-resolution (SRGAN): `g(low_res)`; `upscale(low_res)` on any input size.
translate and upscale run in chunks of at most MAX_OUTPUT_PIXELS output pixels; one image beyond that
is refused (upscale it in tiles).

Seeds (recipes.latents, one definition for every runtime): `sample(n, seed)` is samples 0..n-1 of
seed `seed`'s stream, the images `gan-zoo evaluate` scores for that seed; `sample_seeds([s, t])` is
one image per seed, sample 0 of each stream, the image a served `{"seed": s}` returns and the
SavedModel's `sample` signature computes. `latents(seeds)` is the z of those images, for the TFLite
and ONNX files, which take z.
"""
import keras
import numpy as np

from recipes.capabilities import SAMPLE, TRANSLATE, UPSCALE
from recipes.latents import MAX_SEED, seed_latents, stream_latents
from zoo import checks, sampling
from zoo.checks import integers_in, whole_number
from zoo.data import record
from zoo.errors import UserError
from zoo.images import to_uint8
from zoo.presets import store
from zoo.tasks import TASKS, task_for


NEEDS = {SAMPLE: "sampling", TRANSLATE: "translation", UPSCALE: "super_resolution"}  # capability → the task having it
SAMPLE_CHUNK = 500  # = `gan-zoo evaluate`'s default batch: sample(n, s) are the images it scores for seed s
MAX_INTERPOLATION_STEPS = 1024  # frames of one interpolation (one array)
MAX_SAMPLE_BYTES = 2**31  # `sample` returns one uint8 array: larger requests go to sample_chunks
MAX_OUTPUT_PIXELS = 2**21  # per generator call of translate/upscale (more images run in row chunks; one image beyond
# it is refused): ~1 GB of activations for SRGAN ×4 (a tf.function, ~500 B per output pixel), ~2 GB for CycleGAN (eager)


class _Holder:
    """Keeps the recipe out of Keras's layer tracking (its discriminators are not part of `g`)."""

    def __init__(self, recipe):
        self.recipe = recipe


FLOAT_SLACK = 1e-3  # float images may leave [-1, 1] by rounding, by no more


def as_float_images(images):
    """Integer pixels in [0, 255] or floats in [-1, 1], NHWC (or one HWC image) → float32 [-1, 1]
    NHWC; anything else (NaN, other ranges, strings) is refused, not silently rescaled."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or 0 in images.shape:
        raise UserError(f"expected images as [batch, height, width, channels]; received shape {images.shape}")
    accepted = "integer pixels in [0, 255] or floats in [-1, 1]"
    if images.dtype.kind in "iu":
        if images.min() < 0 or images.max() > 255:
            raise UserError(f"images must be {accepted}; received integers in [{images.min()}, {images.max()}]")
        return images.astype(np.float32) / 127.5 - 1.0
    if images.dtype.kind != "f":
        raise UserError(f"images must be {accepted}; received {images.dtype} values")
    if not np.isfinite(images).all():
        raise UserError(f"images must be {accepted}; received NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < -1 - FLOAT_SLACK or high > 1 + FLOAT_SLACK:
        raise UserError(f"images must be {accepted}; received floats in [{low:.4g}, {high:.4g}] (scale 0..255 "
                        "pixels by x / 127.5 - 1, or pass them as uint8)")
    return np.clip(images, -1.0, 1.0).astype(np.float32)


def data_record(recipe, card, data=None):
    """The DataRecord of a generator: `data` (a record, or a training configuration as run.json's "data"), else
    the card's (card["data"], or resolved from the card's training data for a card made before records)."""
    if isinstance(data, record.DataRecord):
        return data
    if data is not None:
        return record.from_description({"data": data}, recipe.image_shape)
    return record.of_card(card, recipe.image_shape)


class Generator(keras.Model):
    """The generator side of a preset's recipe, with its card (`g.card`) and the record of the data it trained on
    (`g.data`, a zoo.data.record.DataRecord: dataset, native size, channels, canvas and padding, class names)."""

    def __init__(self, recipe, card, data=None, **kwargs):
        super().__init__(name=card.get("name", "generator"), **kwargs)
        self._holder = _Holder(recipe)
        self.data = data_record(recipe, card, data)
        self.network = recipe.sampling_generator
        self.capabilities = recipe.capabilities
        self.reverse_network = recipe.generator_b2a if TRANSLATE in self.capabilities else None
        self.card = dict(card)
        self.task, self.conditional = recipe.task, recipe.conditional
        self.image_shape = tuple(recipe.image_shape)
        self.latent_dim = recipe.latent_dim if SAMPLE in self.capabilities else None
        self.num_classes = recipe.num_classes if recipe.conditional else None

    @property
    def recipe(self):
        return self._holder.recipe

    def call(self, inputs, training=False):
        return task_for(self).call(self.recipe, inputs, training=training)

    def require(self, capability, method):
        """Refuse `method` unless the model has `capability` (SAMPLE, TRANSLATE or UPSCALE), naming its own task's."""
        if capability not in self.capabilities:
            task = task_for(self)
            raise UserError(f"{method} needs a {TASKS[NEEDS[capability]].label} model; {self.name} does "
                            f"{task.label}: use {task.method}")

    def checked_labels(self, labels):
        """The user's conditioning labels as int32 class ids (one id or a 1-D sequence, never truncated), or
        None when none were given; an unconditional model refuses any."""
        if labels is None:
            return None
        if not self.conditional:
            raise UserError(f"{self.name} is unconditional: it takes no labels")
        accepted = f"labels must be class ids: integers in [0, {self.num_classes}), one or a 1-D list"
        return integers_in(labels, 0, self.num_classes - 1, accepted).astype(np.int32)

    def sample(self, n, seed=0, labels=None, truncation=1.0):
        """n images as uint8 NHWC, samples 0..n-1 of seed `seed`'s stream (what `gan-zoo evaluate` scores).

        Args:
            n: how many images, ≥ 1. One array: a request above MAX_SAMPLE_BYTES is refused (use
                `sample_chunks`).
            seed: integer in [0, 2**63); the same seed gives the same images on every runtime.
            labels: conditional models only: class ids, repeated in turn (default: the classes in turn).
            truncation: StyleGAN-lite's ψ in [0, 2] (1: none; 0: the mean image); BigGAN-lite's in [0, 1], the
                probability mass of z kept (1 and above: none; 0: z = 0).

        Returns:
            uint8 array [n, height, width, channels].
        """
        n = whole_number("the number of samples", n, 1)
        size = n * int(np.prod(self.image_shape))  # bytes of the uint8 result
        if size > MAX_SAMPLE_BYTES:
            raise UserError(f"sample({n}) would return a {size / 2**30:.1f} GiB array "
                            f"(at most {MAX_SAMPLE_BYTES / 2**30:.0f} GiB): iterate over sample_chunks(n) instead, or "
                            "`gan-zoo sample --format folder`")
        return np.concatenate(list(self.sample_chunks(n, seed, labels, truncation)))

    def sample_chunks(self, n, seed=0, labels=None, truncation=1.0):
        """`sample` as uint8 chunks of at most SAMPLE_CHUNK images (memory independent of n): labels,
        the user's repeated in turn or the classes in turn, are made per chunk too."""
        self.require(SAMPLE, "sample")
        n, seed = whole_number("the number of samples", n, 1), whole_number("seed", seed, 0, MAX_SEED)
        chosen = self.checked_labels(labels)
        chunk = sampling.sampler(self.recipe, truncation)(seed)
        generate = sampling.generating(self.recipe, truncation)
        for start in range(0, n, SAMPLE_CHUNK):
            count = min(SAMPLE_CHUNK, n - start)
            if chosen is not None:  # the user's labels in turn
                z = stream_latents(seed, start, count, self.latent_dim)
                labels_now = chosen[(start + np.arange(count)) % len(chosen)]
                yield to_uint8(generate([z, labels_now]))
            else:  # the sampler's balanced labels for conditional models
                yield to_uint8(chunk(start, count))

    def latents(self, seeds):
        """The z of `sample_seeds(seeds)`: feed it to an exported TFLite or ONNX file (they take z) to get the
        same images there.

        Args:
            seeds: one integer or a 1-D sequence of integers in [0, 2**63).

        Returns:
            float32 array [len(seeds), latent_dim].
        """
        self.require(SAMPLE, "latents")
        return seed_latents(checks.checked_seeds(seeds), self.latent_dim)

    def sample_seeds(self, seeds, labels=None, truncation=1.0):
        """One image per seed (sample 0 of each seed's stream, = `sample(1, seed)[0]`): what a served
        `{"seed": s}` and the SavedModel's `sample` signature return.

        Args:
            seeds: one integer or a 1-D sequence of integers in [0, 2**63).
            labels: conditional models only: one class id, or one per seed (default: class 0, as
                `sample(1, seed)`).
            truncation: ψ as for `sample`.

        Returns:
            uint8 array [len(seeds), height, width, channels].
        """
        self.require(SAMPLE, "sample_seeds")
        z = self.latents(seeds)
        generate = sampling.generating(self.recipe, truncation)
        chosen = self.checked_labels(labels)
        if not self.conditional:
            return to_uint8(generate(z))
        chosen = np.zeros(1, np.int32) if chosen is None else chosen  # class 0, as sample(1, seed)
        if len(chosen) not in (1, len(z)):
            raise UserError(f"labels must be one class id or one per seed ({len(z)}); received {len(chosen)}")
        return to_uint8(generate([z, np.resize(chosen, len(z))]))

    def interpolate(self, seed_a, seed_b, steps=8, label=None, truncation=1.0):
        """Frames from seed_a's image to seed_b's: spherical interpolation in z (linear in w after truncation
        for StyleGAN-lite).

        Args:
            seed_a, seed_b: seeds as `sample_seeds` and the server read them (frame 0 is
                `sample_seeds([seed_a])[0]`).
            steps: frames, 2 to MAX_INTERPOLATION_STEPS, both ends included.
            label: conditional models only: the one class every frame keeps (default 0).
            truncation: ψ as for `sample`.

        Returns:
            uint8 array [steps, height, width, channels].
        """
        self.require(SAMPLE, "interpolate")
        steps = whole_number("steps", steps, 2, MAX_INTERPOLATION_STEPS)
        z_a, z_b = self.latents([seed_a, seed_b])
        labels = None
        if self.conditional:
            chosen = self.checked_labels(0 if label is None else label)
            if len(chosen) != 1:
                raise UserError(f"an interpolation keeps one class: pass one label; received {len(chosen)}")
            labels = np.repeat(chosen, steps)
        elif label is not None:
            self.checked_labels(label)  # refuses: the model is unconditional
        sampling.check_truncation(self.recipe, truncation)
        return to_uint8(self.recipe.interpolate(z_a, z_b, np.linspace(0.0, 1.0, steps), labels, truncation))

    def project(self, images, steps=500, labels=None, space=None, restarts=1, frames=0, seed=0, progress=None):
        """Latent codes whose images match `images`: Adam minimising pixel MSE + the evaluator's feature
        distance (zoo.projection).

        Args:
            images: uint8 or [-1, 1], NHWC or one HWC image, of the model's shape (for a model trained on
                padded images also of the dataset's own size, padded as in training).
            steps: Adam steps per restart.
            labels: conditional models: one class id per image (default: the evaluator's class).
            space: what is searched: "z", or for StyleGAN-lite "w" (default) / "w+" with its noise images.
            restarts: independent searches per image; the best is kept.
            frames: snapshots of the search to keep (0: none).
            seed: seed of the starting codes.
            progress: called as progress(steps done, total) between frames (the CLI's progress line).

        Returns:
            zoo.projection.Projection: codes, labels, uint8 reconstructions, PSNR, feature distance, loss,
            and the frames.
        """
        from zoo import projection
        from zoo.metrics import features

        self.require(SAMPLE, "project")
        return projection.project(self.recipe, self.in_canvas(images), features.fashion_mnist_evaluator(),
                                  steps=steps, labels=None if labels is None else self.checked_labels(labels),
                                  space=space, restarts=restarts, frames=frames, seed=seed,
                                  padded_from=self.data.padded_from, progress=progress)

    def in_canvas(self, images):
        """uint8 or [-1, 1] images as float [-1, 1] on the generator's canvas: images of the dataset's own size
        are centred on a black canvas when the model trained on padded images (as training padded them)."""
        images = as_float_images(images)
        padded_from = self.data.padded_from
        if padded_from is None or images.shape[1:3] != padded_from:
            return images
        top, left = ((side - own) // 2 for side, own in zip(self.image_shape[:2], padded_from))
        return np.pad(images, [(0, 0), (top, self.image_shape[0] - padded_from[0] - top),
                               (left, self.image_shape[1] - padded_from[1] - left), (0, 0)], constant_values=-1.0)

    def mix_styles(self, rows, columns, crossover, truncation=1.0):
        """A uint8 style-mixing grid (StyleGAN-lite): see zoo.sampling.style_mixing_grid."""
        return sampling.style_mixing_grid(self.recipe, rows, columns, crossover, truncation)

    def translate(self, images, direction="a2b"):
        """Translate images between the model's two domains (CycleGAN).

        Args:
            images: uint8 or [-1, 1], NHWC or one HWC image, of the model's size and channels.
            direction: "a2b" (domain A → B) or "b2a".

        Returns:
            uint8 images of the same shape (in chunks of at most MAX_OUTPUT_PIXELS pixels per call).
        """
        self.require(TRANSLATE, "translate")
        if direction not in ("a2b", "b2a"):
            raise UserError(f"direction must be 'a2b' or 'b2a'; received {direction!r}")
        return self.in_chunks("translate", lambda chunk: self.recipe.translate(chunk, direction), images,
                              self.image_shape, scale=1)

    def upscale(self, low_res):
        """Super-resolve images (SRGAN).

        Args:
            low_res: uint8 or [-1, 1], NHWC or one HWC image, any height and width, the model's channels; at
                most MAX_OUTPUT_PIXELS output pixels per image (larger: upscale tiles).

        Returns:
            uint8 images `scale`× larger on each side.
        """
        self.require(UPSCALE, "upscale")
        upscale = sampling.generating(self.recipe)  # the SR network as a tf.function: half the eager call's memory
        return self.in_chunks("upscale", upscale, low_res, self.image_shape[-1:], scale=self.recipe.scale)

    def in_chunks(self, method, function, images, takes, scale):
        """uint8 `function(images)` in row chunks of at most MAX_OUTPUT_PIXELS output pixels (`scale`× the input's
        sides); the images' trailing shape must be `takes`, checked before anything is converted."""
        images = np.asarray(images)
        if images.ndim not in (3, 4) or images.shape[-len(takes):] != tuple(takes):
            size = " × ".join(map(str, takes)) if len(takes) == 3 else f"height × width × {takes[0]}"
            raise UserError(f"{self.name}'s {method} takes {size} images, one or a batch of them; received shape "
                            f"{images.shape}")
        height, width = images.shape[-3:-1]
        per_image = height * width * scale**2
        if per_image > MAX_OUTPUT_PIXELS:
            side = int((MAX_OUTPUT_PIXELS / scale**2) ** 0.5)
            raise UserError(f"{method}: one {height}×{width} image would make {per_image} output pixels; at most "
                            f"{MAX_OUTPUT_PIXELS} per image (~1 GB of activations): split it into overlapping tiles "
                            f"of at most {side}×{side} and {method} each")
        images, rows = as_float_images(images), MAX_OUTPUT_PIXELS // max(per_image, 1)
        return np.concatenate([to_uint8(function(images[start:start + rows])) for start in range(0, len(images), rows)])


def load(name):
    """A pretrained generator, offline, every file checked against the sha256 its card records.

    Args:
        name: a shipped preset's name (`zoo.list_models()`) or a preset directory (`gan-zoo make-preset`).

    Returns:
        Generator: a keras.Model with `sample`, `sample_seeds`, `interpolate`, `latents`, `project`,
        `mix_styles` (z → image models), `translate` or `upscale` (image → image models), and `card`.
    """
    directory = store.preset_path(name)
    model_card = store.verified_card(directory)
    recipe = store.build_recipe(directory)
    store.restore_networks(recipe, directory, model_card, ("g",))
    return Generator(recipe, model_card)


def load_generator(target):
    """(Generator, description) of a preset name or directory, a `gan-zoo train` run or a .keras file."""
    import os

    recipe, description = sampling.load_target(target)
    if description["kind"] == "saved_model":
        raise UserError(f"{target} is an exported SavedModel; pass the preset, run or .keras file it came from")
    card = store.card(target) if description["kind"] == "preset" else {"name": os.path.basename(os.path.normpath(target))}
    return Generator(recipe, card, data=record.DataRecord.from_json(description[record.RECORD_KEY])), description

