"""The StyleGAN-lite recipe (`StyleGANLite`): its training step, truncation and style mixing; the networks are
in `recipes.stylegan_lite.networks`.

Training: the non-saturating logistic loss, lazy R1 on reals, style-mixing regularization, an EMA
generator and Adam(2e-3, β₁=0, β₂=0.99, ε=1e-8) for both players (StyleGAN2's settings, Karras et al. 2020,
https://arxiv.org/abs/1912.04958). Simpler than StyleGAN2: no path-length regularization, and Adam's
hyper-parameters are not rescaled for the lazy R1 steps.
"""
import numpy as np
import tensorflow as tf

from recipes import losses
from recipes.base import GAN, batch_size, split_labels
from recipes.capabilities import MIX_STYLES, SAMPLE, TRAIN, TRUNCATE
from recipes.latents import seed_latents, stream_latents
from recipes.layers import check_weight
from recipes.registry import register_recipe
from recipes.stylegan_lite.networks import (broadcast, build_discriminator, build_generator, image_resolution, mix,
                                            noise_sizes, num_style_layers)


@register_recipe("stylegan_lite", paper="Karras et al. 2019/2020, https://arxiv.org/abs/1812.04948, https://arxiv.org/abs/1912.04958")
class StyleGANLite(GAN):
    """A small StyleGAN2 (see the module docstrings of this one and of `recipes.stylegan_lite.networks`).

    Arguments: `w_dim` (64), `mapping_layers` (4), `width` (64: the most feature maps of any
    layer) and `channel_base` (1024: a resolution r gets min(width, channel_base / r) maps, so
    64 up to 16×16 and 32 at 32×32), `style_mixing_prob` (0.9), `r1_gamma` γ (0.01, StyleGAN2-ADA's
    CIFAR-10 value), `r1_interval` (16), `mbstd_group_size` (4), and the base class's `latent_dim`
    (64), `image_shape` ((32, 32, 1): square, side a power of two ≥ 8), `ema_decay` (0.999), `seed`.

    `generator` is a `StyleGenerator`, z → images with fixed noise (what `sampling_generator` and the rest of
    the zoo sample); `mapping`, `synthesis`, `w_avg` and `num_layers` expose its parts, and `sample` / `mix_styles`
    use the EMA generator's parts when there is one. Logs: `d_loss` (the logistic part),
    `g_loss`, and `r1_penalty` = E‖∇ₓD(x)‖² averaged over the R1 steps of the epoch."""

    capabilities = frozenset({SAMPLE, TRUNCATE, MIX_STYLES, TRAIN})
    max_truncation = 2.0  # ψ in (1, 2] extrapolates w past the generator's own, as StyleGAN's figures do

    loss_names = ("d_loss", "g_loss", "r1_penalty")
    optimizer_defaults = {"learning_rate": 2e-3, "beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8}
    w_avg_beta = 0.995
    # XLA compiles the step but ran it at 0.84× the graph's speed on 2 CPU cores (3983 vs 3365 ms/step at
    # 32×32, batch 64; 122 s to compile): not the default, `--xla` still asks for it
    xla_by_default = False

    @classmethod
    def fitted_data(cls, image_shape):
        """Pad to the smallest power-of-two square ≥ 8 around the images (28×28 Fashion-MNIST → 32×32
        on black): the synthesis network doubles its resolution from 4×4."""
        height, width = image_shape[:2]
        if height is None or width is None:
            return None
        side = max(8, 1 << (max(height, width) - 1).bit_length())
        return None if (height, width) == (side, side) else {"image_size": side, "crop": "pad"}

    def __init__(self, w_dim=64, mapping_layers=4, width=64, channel_base=1024, style_mixing_prob=0.9,
                 r1_gamma=0.01, r1_interval=16, mbstd_group_size=4, latent_dim=64, image_shape=(32, 32, 1),
                 ema_decay=0.999, **kwargs):
        image_resolution(image_shape)
        for arg, value in (("w_dim", w_dim), ("mapping_layers", mapping_layers), ("width", width),
                           ("channel_base", channel_base), ("r1_interval", r1_interval),
                           ("mbstd_group_size", mbstd_group_size)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}")
        if not 0.0 <= float(style_mixing_prob) <= 1.0:
            raise ValueError(f"`style_mixing_prob` must be in [0, 1]. Received: style_mixing_prob={style_mixing_prob!r}")
        check_weight("r1_gamma", r1_gamma)
        self.w_dim, self.mapping_layers = int(w_dim), int(mapping_layers)
        self.width, self.channel_base = int(width), int(channel_base)
        self.style_mixing_prob, self.r1_gamma = float(style_mixing_prob), float(r1_gamma)
        self.r1_interval, self.mbstd_group_size = int(r1_interval), int(mbstd_group_size)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, ema_decay=ema_decay, **kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.w_dim, self.mapping_layers, self.width,
                               self.channel_base)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.width, self.channel_base, self.mbstd_group_size)

    def generator_copy(self):
        """A new `StyleGenerator` (its parts are attributes, which `clone_model` would not keep)."""
        return self.build_generator()

    def get_config(self):
        return {**super().get_config(), "w_dim": self.w_dim, "mapping_layers": self.mapping_layers,
                "width": self.width, "channel_base": self.channel_base, "style_mixing_prob": self.style_mixing_prob,
                "r1_gamma": self.r1_gamma, "r1_interval": self.r1_interval, "mbstd_group_size": self.mbstd_group_size}

    # --- parts ----------------------------------------------------------------------------
    @property
    def num_layers(self):
        """Style layers, i.e. ws the synthesis network reads: 1 + 2·log₂(H/4)."""
        return num_style_layers(self.image_shape[0])

    @property
    def mapping(self):
        return self.generator.mapping

    @property
    def synthesis(self):
        return self.generator.synthesis

    @property
    def w_avg(self):
        """w̄ of the training generator (the EMA generator holds a copy)."""
        return self.generator.w_avg.mean

    # --- training -------------------------------------------------------------------------
    def noise(self, local_batch):
        """Fresh N(0, 1) noise images for every style layer."""
        return [self.replica_random(tf.random.stateless_normal, local_batch, size, size, 1)
                for size in noise_sizes(self.image_shape[0])]

    def mixed_styles(self, local_batch):
        """(ws, w): ws for fresh z₁, z₂ where, with probability `style_mixing_prob` per example,
        layers ≥ crossover ~ U{1, ..., L-1} take w₂ = mapping(z₂) instead of w = mapping(z₁)."""
        w = self.mapping(self.latent(local_batch), training=True)
        w_other = self.mapping(self.latent(local_batch), training=True)
        mixing = self.uniform(local_batch) < self.style_mixing_prob
        crossover = 1 + tf.cast(tf.floor(self.uniform(local_batch) * (self.num_layers - 1)), tf.int32)
        crossover = tf.minimum(crossover, self.num_layers - 1)
        return mix(w, w_other, tf.where(mixing, crossover, self.num_layers), self.num_layers), w

    def generate(self, local_batch):
        """(G(z) with style mixing and fresh noise, the unmixed w) in training mode."""
        ws, w = self.mixed_styles(local_batch)
        return self.synthesis([ws, *self.noise(local_batch)], training=True), w

    def fake(self, local_batch, labels=None):
        return self.generate(local_batch)[0]

    def discriminator_terms(self, real, fake, r1_step):
        """L_D = softplus(D(T(G(z)))) + softplus(-D(T(x))) + [r1_step]·interval·(γ/2)·‖∇ₓD(T(x))‖²; T the
        DiffAugment policies (identity by default; R1 differentiates through T with respect to the real
        images, as StyleGAN2-ADA does); the R1 term is only computed on R1 steps (a tf.cond inside the tape)."""
        D = lambda images: self.discriminator(self.augmented(images), training=True)  # noqa: E731
        adversarial = losses.modified_discriminator_loss(D(real), D(fake))
        r1 = tf.cond(r1_step, lambda: losses.r1_penalty(D, real), lambda: tf.zeros_like(adversarial))
        loss = adversarial + (0.5 * self.r1_gamma * self.r1_interval) * r1
        return {"loss": loss, "adversarial": adversarial, "r1": r1}

    def generator_terms(self, local_batch):
        """(L_G = softplus(-D(T(G(z)))) with style mixing, {"w": the unmixed w}): the loss and what w̄ tracks."""
        images, w = self.generate(local_batch)
        loss = losses.modified_generator_loss(self.discriminator(self.augmented(images), training=True))
        return loss, {"w": w}

    def train_step(self, data):
        """D: min E[softplus(D(G(z)))] + E[softplus(-D(x))] + [k mod interval = 0]·interval·(γ/2)·E‖∇ₓD(x)‖²
        (k counts D steps: lazy R1); G: min E[softplus(-D(G(z)))] with style mixing; then
        w̄ ← lerp(batch mean of w, w̄, 0.995) and the EMA generator."""
        real, _ = split_labels(data)
        n = batch_size(real)
        r1_step = tf.equal(self.d_optimizer.iterations % self.r1_interval, 0)
        fake = self.fake(n)
        d = self.update(self.discriminator, self.d_optimizer, lambda: self.discriminator_terms(real, fake, r1_step))
        g, generated = self.update(self.generator, self.g_optimizer, lambda: self.generator_terms(n))
        self.generator.w_avg.track(generated["w"])
        self.track("r1_penalty", d["r1"], weight=tf.cast(r1_step, tf.float32))  # R1 steps only
        return self.finish_step(d_loss=d["adversarial"], g_loss=g["loss"])

    # --- sampling -------------------------------------------------------------------------
    def truncated_w(self, z, truncation=1.0):
        """w' = w̄ + ψ(mapping(z) - w̄) with the sampling generator's mapping and w̄."""
        generator = self.sampling_generator
        return generator.w_avg.truncate(generator.mapping(z, training=False), truncation)

    def sample(self, n, seed, truncation=1.0):
        """n images in [-1, 1] (numpy, float32) from the sampling generator (EMA when kept):
        z = `stream_latents(seed, 0, n)` (recipes.latents, as `GAN.preview_inputs`), truncation
        ψ = `truncation`, the generator's fixed noise. Same seed → same images; ψ = 1 gives
        `sampling_generator(z)`, ψ = 0 gives synthesis(w̄) for every z."""
        return np.asarray(self.generate_truncated(stream_latents(seed, 0, n, self.latent_dim), truncation))

    def generate_truncated(self, z, truncation=1.0):
        """Images (tensor) of latents `z` with truncation ψ = `truncation`, from the sampling generator."""
        w = self.truncated_w(z, truncation)
        return self.sampling_generator.synthesize(broadcast(w, self.num_layers))

    def interpolate(self, z_a, z_b, fractions, labels=None, truncation=1.0):
        """Images in [-1, 1] (numpy) along the path from z_a to z_b at `fractions` in [0, 1]: linear in W after
        truncation, w = (1-t)·w'_a + t·w'_b (the path StyleGAN's perceptual path length measures, Karras
        et al. 2019 §4.2: W is learned to be flat, z is not)."""
        w_a, w_b = np.asarray(self.truncated_w(np.stack([z_a, z_b]).astype(np.float32), truncation))
        t = np.asarray(fractions, np.float32)[:, None]
        return np.asarray(self.sampling_generator.synthesize(broadcast((1 - t) * w_a + t * w_b, self.num_layers)))

    def mix_styles(self, seed_a, seed_b, crossover, truncation=1.0):
        """Style mixing: style layers i < `crossover` take w of seed_a, the others w of seed_b.

        A seed is an int or a list of ints; seed s stands for `seed_latents([s])`, the z of `sample(1, s)`. Returns
        numpy images [len(a)·len(b), H, W, C], row-major: image i·len(b) + j mixes seed_a[i]
        (coarse layers) with seed_b[j] (fine layers), a grid with len(b) columns. crossover = 0
        gives seed_b's images, crossover = `num_layers` seed_a's."""
        if isinstance(crossover, bool) or int(crossover) != crossover or not 0 <= crossover <= self.num_layers:
            raise ValueError(f"`crossover` must be an integer in [0, {self.num_layers}]. Received: crossover={crossover!r}")
        seeds_a, seeds_b = np.atleast_1d(seed_a).tolist(), np.atleast_1d(seed_b).tolist()
        w_a = tf.repeat(self.truncated_w(seed_latents(seeds_a, self.latent_dim), truncation), len(seeds_b), axis=0)
        w_b = tf.tile(self.truncated_w(seed_latents(seeds_b, self.latent_dim), truncation), [len(seeds_a), 1])
        ws = mix(w_a, w_b, tf.fill([w_a.shape[0]], int(crossover)), self.num_layers)
        return np.asarray(self.sampling_generator.synthesize(ws))
