"""Projection (GAN inversion): the latent codes whose images match given images, found by Adam.

    c* = argmin_c  MSE(G(c), x) + λ_f · ‖f̂(G(c)) − f̂(x)‖² + λ_n · R(noise)

- c is z for z → image generators (one label per image for conditional ones: the caller's, or the
  evaluator's prediction for the target); for StyleGAN-lite it is w (one per image, "w") or one w per
  style layer ("w+", Abdal et al. 2019, Image2StyleGAN), started at w̄, plus the per-layer noise images
  (started at the generator's fixed noise), as StyleGAN2's projector (Karras et al. 2020, §5 and
  Appendix D, https://arxiv.org/abs/1912.04958).
- f̂ is the project's Fashion-MNIST evaluator's 128-d feature vector scaled to unit length (the role
  LPIPS plays in StyleGAN2's projector), on the dataset's frame of the image (the native-size centre of a
  generator trained on padded images, as its data record says: 28×28 in StyleGAN-lite's 32×32), resized to the
  evaluator's input.
- R is StyleGAN2's noise regulariser: at every scale of each noise image (halved down to 8×8), the
  squared autocorrelation at a one-pixel shift in x and in y; after each step every noise image is
  renormalised to zero mean and unit variance.
- Adam per image (zoo.latent_search), the rate decaying from 0.1 to 0.01. With `restarts` > 1 each image
  is searched from several starts (z ~ N(0, I); for StyleGAN-lite w̄, then the w of random z) and the
  start with the lowest final loss is kept.

Reported per image, in the dataset's frame (the native-size centre of a padded canvas): PSNR = 10·log10(2² / MSE)
with images in [-1, 1] (peak-to-peak 2: the PSNR of 0..255 pixels, before rounding) and the feature distance ‖f(G(c)) − f(x)‖ in the evaluator's raw
128-d features.
"""
import dataclasses

import numpy as np
import tensorflow as tf

from recipes.capabilities import CONDITION, MIX_STYLES, SAMPLE
from recipes.latents import MAX_SEED
from zoo.errors import UserError
from zoo.images import to_uint8
from zoo.latent_search import adam_moments, adam_step

RATES = (0.1, 0.01)  # Adam's rate at the first and the last step
FEATURE_WEIGHT = 1.0  # λ_f
NOISE_WEIGHT = 1e3  # λ_n
SPACES = ("z", "w", "w+")
CHUNK = 64  # problems (images × restarts) optimised at once: memory does not grow with the number of images
MAX_STEPS = 100_000
MAX_FRAMES = 64


@dataclasses.dataclass
class Projection:
    """The result of `project`: per image, its codes ({name: array [n, ...]}), the label used (conditional
    models, else None), the reconstruction (uint8, the generator's shape), PSNR (dB), the feature
    distance, the final loss; `frames` (uint8 [frames, n, H, W, C]) the reconstructions during the
    search, first the start, last the result (None unless asked for)."""
    codes: dict
    labels: np.ndarray
    images: np.ndarray
    psnr: np.ndarray
    feature_distance: np.ndarray
    loss: np.ndarray
    frames: np.ndarray = None


# --- the image's frame -----------------------------------------------------------------------------------
def in_frame(images, padded_from=None):
    """The dataset's frame of images: the centre `padded_from` (h, w) box of a generator trained on padded
    images (None: the whole image)."""
    if padded_from is None:
        return images
    top, left = (images.shape[1] - padded_from[0]) // 2, (images.shape[2] - padded_from[1]) // 2
    return images[:, top:top + padded_from[0], left:left + padded_from[1]]


def evaluator_view(extractor, images, padded_from=None):
    """Images as `extractor` takes them (its `input_shape`; the Fashion-MNIST evaluator's: 28×28, one channel):
    `in_frame`, resized bilinearly to its size; colour averaged to gray for a one-channel extractor."""
    images = in_frame(images, padded_from)
    height, width, channels = extractor.input_shape
    if (height, width) != tuple(images.shape[1:3]) and None not in (height, width):
        images = tf.image.resize(images, (height, width), method="bilinear")
    return tf.reduce_mean(images, axis=-1, keepdims=True) if channels == 1 and images.shape[-1] != 1 else images


def extracted(extractor, images, padded_from):
    """The extractor's outputs ({"features", "logits"}) for images in the dataset's frame."""
    return extractor.fn(evaluator_view(extractor, images, padded_from))


def unit_features(extractor, images, padded_from):
    features = extracted(extractor, images, padded_from)["features"]
    return features / (tf.norm(features, axis=1, keepdims=True) + 1e-8)


# --- codes of each kind of generator ----------------------------------------------------------------------
class LatentCodes:
    """z → image generators: the codes are z [n, latent_dim]; conditional ones keep each image's label."""

    def __init__(self, recipe):
        self.recipe, self.network = recipe, recipe.sampling_generator

    def initial(self, count, restarts, rng):
        return [tf.constant(rng.standard_normal((restarts * count, self.recipe.latent_dim)), tf.float32)]

    def render(self, params, labels):
        (z,) = params
        return self.network(z if labels is None else [z, labels], training=False)

    def regulariser(self, params):
        return 0.0

    def renormalised(self, params):
        return params

    def named(self, params):
        return {"z": params[0]}


class StyleCodes:
    """StyleGAN-lite: w ("w": one per image, broadcast to every style layer; "w+": one per layer) from w̄,
    and the noise images from the generator's fixed noise."""

    def __init__(self, recipe, space):
        self.recipe, self.space, self.layers = recipe, space, recipe.num_layers
        generator = recipe.sampling_generator  # a StyleGenerator: its parts are attributes
        self.synthesis, self.mapping = generator.synthesis, generator.mapping
        self.w_avg = tf.convert_to_tensor(generator.w_avg.mean)
        self.noise = [tf.convert_to_tensor(layer.noise) for layer in generator.fixed_noise]

    def initial(self, count, restarts, rng):
        """The first start of every image at w̄; further starts at the w of random z."""
        z = tf.constant(rng.standard_normal(((restarts - 1) * count, self.recipe.latent_dim)), tf.float32)
        starts = tf.concat([tf.tile(self.w_avg[None], [count, 1]), self.mapping(z, training=False)], axis=0)
        w = tf.tile(starts[:, None], [1, self.layers if self.space == "w+" else 1, 1])
        return [w] + [tf.tile(noise[None], [restarts * count, 1, 1, 1]) for noise in self.noise]

    def render(self, params, labels):
        w, *noise = params
        ws = w if self.space == "w+" else tf.tile(w, [1, self.layers, 1])
        return self.synthesis([ws, *noise], training=False)

    def regulariser(self, params):
        """Σ over noise images and scales of (mean n·shift_x(n))² + (mean n·shift_y(n))², halving to 8×8."""
        total = 0.0
        for noise in params[1:]:
            while True:
                total += tf.reduce_mean(noise * tf.roll(noise, 1, axis=2), axis=[1, 2, 3]) ** 2
                total += tf.reduce_mean(noise * tf.roll(noise, 1, axis=1), axis=[1, 2, 3]) ** 2
                if noise.shape[1] <= 8:
                    break
                noise = tf.nn.avg_pool2d(noise, 2, 2, "VALID")
        return total

    def renormalised(self, params):
        w, *noise = params
        mean_and_variance = [tf.nn.moments(n, axes=[1, 2, 3], keepdims=True) for n in noise]
        return [w] + [(n - m) * tf.math.rsqrt(v + 1e-8) for n, (m, v) in zip(noise, mean_and_variance)]

    def named(self, params):
        return {self.space: params[0], **{f"noise{i}": noise for i, noise in enumerate(params[1:])}}


def codes_for(recipe, space):
    """The codes projection searches for `recipe` in `space` (None: "w" for StyleGAN-lite, else "z")."""
    if SAMPLE not in recipe.capabilities:
        raise UserError(f"projection finds latent codes of z → image generators; {type(recipe).__name__} has no "
                        "latent space")
    styled = MIX_STYLES in recipe.capabilities
    space = space or ("w" if styled else "z")
    accepted = ("w", "w+") if styled else ("z",)
    if space not in accepted:
        raise UserError(f"space must be one of {', '.join(accepted)} for {type(recipe).__name__}; received {space!r}")
    return StyleCodes(recipe, space) if styled else LatentCodes(recipe)


# --- the search ----------------------------------------------------------------------------------------
def check_search(steps, restarts, frames, seed):
    for name, value, low, high in (("steps", steps, 1, MAX_STEPS), ("restarts", restarts, 1, 64),
                                   ("frames", frames, 0, MAX_FRAMES), ("seed", seed, 0, MAX_SEED)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise UserError(f"{name} must be an integer in [{low}, {high}]; received {value!r}")
    if frames == 1:
        raise UserError("frames must be 0 (none) or ≥ 2 (the start and the result at least); received 1")


def project(recipe, targets, extractor, *, steps=500, labels=None, space=None, restarts=1, frames=0, seed=0,
            padded_from=None, feature_weight=FEATURE_WEIGHT, noise_weight=NOISE_WEIGHT, chunk=CHUNK, progress=None):
    """Project float images `targets` [n, H, W, C] in [-1, 1] (the generator's shape) into `recipe`'s
    sampling generator: see the module docstring. `labels` (conditional models): one class id per image,
    None to take the evaluator's prediction. `progress(steps done, total)` is called after each segment of
    steps between `frames` (each chunk of images takes `steps`). Returns a Projection."""
    check_search(steps, restarts, frames, seed)
    codes = codes_for(recipe, space)
    targets = np.asarray(targets, np.float32)
    if targets.ndim != 4 or targets.shape[1:] != tuple(recipe.image_shape):
        raise UserError(f"images to project must be [n, {', '.join(map(str, recipe.image_shape))}] for this "
                        f"generator; received shape {targets.shape}")
    labels = conditioning_labels(recipe, targets, labels, extractor, padded_from)
    search = Search(codes, extractor, steps, restarts, padded_from, feature_weight, noise_weight)
    rng, chunk = np.random.default_rng(seed), max(1, chunk // restarts)  # at most `chunk` problems at once
    starts = range(0, len(targets), chunk)

    def chunk_progress(index):  # a chunk's steps done, counted over the whole search
        return None if progress is None else lambda done: progress(index * steps + done, len(starts) * steps)

    parts = [search.run(targets[start:start + chunk], None if labels is None else labels[start:start + chunk],
                        rng, frames, chunk_progress(index)) for index, start in enumerate(starts)]
    joined = {key: np.concatenate([part[key] for part in parts], axis=1 if key == "frames" else 0)
              for key in parts[0] if key != "codes"}
    return Projection(codes={name: np.concatenate([part["codes"][name] for part in parts]) for name in parts[0]["codes"]},
                      labels=labels, images=joined["images"], psnr=joined["psnr"],
                      feature_distance=joined["feature_distance"], loss=joined["loss"], frames=joined.get("frames"))


def conditioning_labels(recipe, targets, labels, extractor, padded_from):
    if CONDITION not in recipe.capabilities:
        if labels is not None:
            raise UserError(f"{type(recipe).__name__} is unconditional: projection takes no labels")
        return None
    if labels is None:  # the evaluator's class for each target
        logits = extracted(extractor, tf.constant(targets), padded_from)["logits"]
        return np.argmax(np.asarray(logits), axis=1).astype(np.int32)
    labels = np.atleast_1d(np.asarray(labels))
    if labels.dtype.kind not in "iu" or labels.ndim != 1 or len(labels) != len(targets) or labels.min() < 0 \
            or labels.max() >= recipe.num_classes:
        raise UserError(f"labels must be one class id in [0, {recipe.num_classes}) per image ({len(targets)}); "
                        f"received {labels.tolist()}")
    return labels.astype(np.int32)


class Search:
    """One chunk of images at a time: Adam on the codes of `restarts` × chunk problems, in segments of steps
    between the frames kept."""

    def __init__(self, codes, extractor, steps, restarts, padded_from, feature_weight, noise_weight):
        self.codes, self.extractor, self.steps, self.restarts = codes, extractor, steps, restarts
        self.padded_from, self.feature_weight, self.noise_weight = padded_from, feature_weight, noise_weight
        self.segment = tf.function(self.run_steps, reduce_retracing=True)

    def losses(self, params, targets, target_features, labels):
        """(loss, pixel MSE, feature distance², images) per problem."""
        images = tf.cast(self.codes.render(params, labels), tf.float32)
        pixel = tf.reduce_mean(tf.square(images - targets), axis=[1, 2, 3])
        feature = tf.reduce_sum(tf.square(unit_features(self.extractor, images, self.padded_from) - target_features),
                                axis=1)
        return pixel + self.feature_weight * feature + self.noise_weight * self.codes.regulariser(params), pixel, images

    def run_steps(self, params, moments, targets, target_features, labels, first, count):
        def objective(params, fraction):
            loss, _, _ = self.losses(params, targets, target_features, labels)
            return loss, loss

        for step in tf.range(first, first + count):
            params, moments, _ = adam_step(objective, params, moments, step, self.steps, *RATES,
                                           self.codes.renormalised)
        return params, moments

    def run(self, targets, labels, rng, frames, progress=None):
        count, repeat = len(targets), self.restarts
        tiled = tf.constant(np.tile(targets, (repeat, 1, 1, 1)))
        tiled_labels = None if labels is None else tf.constant(np.tile(labels, repeat))
        target_features = unit_features(self.extractor, tiled, self.padded_from)
        params = self.codes.renormalised(self.codes.initial(count, repeat, rng))
        moments = adam_moments(params)
        bounds = np.linspace(0, self.steps, frames).round().astype(int) if frames else np.array([0, self.steps])
        kept = []
        for first, last in zip(bounds[:-1], bounds[1:]):
            if frames:
                kept.append(self.codes.render(params, tiled_labels))
            params, moments = self.segment(params, moments, tiled, target_features, tiled_labels,
                                           tf.constant(first), tf.constant(last - first))
            if progress is not None:
                progress(int(last))
        loss, _, images = self.losses(params, tiled, target_features, tiled_labels)
        best = np.asarray(loss).reshape(repeat, count).argmin(axis=0) * count + np.arange(count)  # per image
        if frames:
            kept.append(images)
        images = tf.gather(images, best)
        features = extracted(self.extractor, images, self.padded_from)["features"]
        target_raw = extracted(self.extractor, tf.constant(targets), self.padded_from)["features"]
        target_frame = in_frame(np.asarray(targets, np.float64), self.padded_from)
        mse = np.mean((in_frame(np.asarray(images, np.float64), self.padded_from) - target_frame) ** 2, axis=(1, 2, 3))
        result = {"codes": {name: np.asarray(tf.gather(value, best)) for name, value in self.codes.named(params).items()},
                  "images": to_uint8(images), "psnr": 10 * np.log10(4.0 / np.maximum(mse, 1e-12)),
                  "feature_distance": np.linalg.norm(np.asarray(features) - np.asarray(target_raw), axis=1),
                  "loss": np.asarray(tf.gather(loss, best))}
        if frames:
            result["frames"] = np.stack([to_uint8(tf.gather(frame, best)) for frame in kept])
        return result


# --- a projection's files (`gan-zoo project`) ----------------------------------------------
PROJECTION_LOSS = "pixel MSE + evaluator feature distance (zoo.projection)"


def picture_stem(path):
    """What a picture's outputs are named after: its file name without the extension."""
    import os

    return os.path.splitext(os.path.basename(path))[0]


def projection_rows(result, pictures):
    """projection.json's "images": per picture its absolute path, PSNR (dB), feature distance, loss and class."""
    import os

    return [{"picture": os.path.abspath(picture), "psnr_db": round(float(result.psnr[index]), 3),
             "feature_distance": round(float(result.feature_distance[index]), 4),
             "loss": round(float(result.loss[index]), 5),
             "label": None if result.labels is None else int(result.labels[index])}
            for index, picture in enumerate(pictures)]


def write_projection(directory, result, pictures, targets, search, **record):
    """A projection's outputs in `directory`, per picture NAME_target.png (`targets`: uint8, as the generator sees
    them), NAME_projection.png and NAME_steps.png/.gif (the search's frames); codes.npz; projection.json: `record`,
    "images" (`projection_rows`) and "search" (`search`, the space searched and the loss). Returns the rows."""
    import os

    from zoo.files import write_json
    from zoo.images import make_grid, save_gif, save_png

    for index, picture in enumerate(pictures):
        stem = os.path.join(directory, picture_stem(picture))
        save_png(f"{stem}_target.png", targets[index])
        save_png(f"{stem}_projection.png", result.images[index])
        steps = np.concatenate([targets[index:index + 1], result.frames[:, index]])
        save_png(f"{stem}_steps.png", make_grid(steps, columns=len(steps)))
        save_gif(f"{stem}_steps.gif", result.frames[:, index], milliseconds=150)
    np.savez(os.path.join(directory, "codes.npz"), **result.codes)
    rows = projection_rows(result, pictures)
    space = next(name for name in SPACES if name in result.codes)
    write_json(os.path.join(directory, "projection.json"),
               {**record, "images": rows, "search": {**search, "space": space, "loss": PROJECTION_LOSS}})
    return rows
