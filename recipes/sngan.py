"""SNGAN: Miyato, Kataoka, Koyama & Yoshida 2018, https://arxiv.org/abs/1802.05957, with the projection
discriminator of Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637, when class-conditional.

The paper's CIFAR-10 ResNets (Appendix B.4, Table 4) at 32×32, every discriminator layer spectrally normalised
(W/σ(W), one power iteration per step: `recipes.layers.SpectralConv2D`), the hinge loss, n_dis = 5 discriminator
steps per generator step, Adam(2e-4, β₁ = 0, β₂ = 0.9):

- generator: z → dense → 4×4×2w → 3 up-sampling residual blocks (BN, ReLU, ↑2, conv3×3, BN, ReLU, conv3×3;
  shortcut ↑2, conv1×1) → BN, ReLU, conv3×3 → tanh; conditional: every block's BN is conditional batch norm;
- discriminator: the "optimized" down-sampling block on the image, one more down-sampling block (32 → 8),
  two blocks at 8×8, ReLU, global sum pooling φ(x), then ψ(φ(x)) (spectral dense) + embed(y)ᵀφ(x) when
  conditional.

What differs from the paper (scaled for 2 CPU cores): `width` w = 16 discriminator channels (the paper's 128),
so 2w = 32 in the generator (the paper's 256): a step (5 discriminator and 1 generator updates) on a batch of 64
took ~0.5 s here at w = 16, ~2.3 s at w = 32; one channel (Fashion-MNIST, padded 28 → 32 as `fitted_data`
says) instead of CIFAR's three; the fake images of a step take the real batch's labels (the authors' code draws
y uniformly: equal in expectation on Fashion-MNIST's balanced classes); no learning-rate decay (the projection
paper's code decays it linearly to 0). Other sizes: a square or rectangle of 4·2^k pixels or 7·2^k (as DCGAN's
`num_doublings`), the generator starting at (H, W)/2^k and the discriminator down-sampling k - 1 times (at least
once) before its two same-size blocks.
"""
import keras
import tensorflow as tf

from recipes import losses
from recipes.base import GAN, batch_size, split_labels
from recipes.capabilities import CONDITION
from recipes.layers import (NORMS, GlobalSumPooling2D, SelfAttention, SpectralConv2D, SpectralDense, check_choice,
                            check_image_shape, discriminator_residual_block, generator_residual_block, normalization,
                            num_doublings, projection_logit)
from recipes.registry import register_recipe


def label_input(num_classes):
    return None if num_classes is None else keras.Input((), dtype="int32", name="labels")


def attend(x, attention):
    """x, then a `SelfAttention` layer (SAGAN's) when x is `attention` pixels high."""
    return SelfAttention(name="attention")(x) if x.shape[1] == attention else x


def build_generator(latent_dim=128, image_shape=(32, 32, 1), width=16, norm="batch", num_classes=None,
                    name="generator", spectral=False, attention=None):
    """z [batch, latent_dim] (and labels [batch] with `num_classes`) → images [batch, H, W, C] in [-1, 1];
    2·width channels in every block. SAGAN's options: `spectral` (every layer but the norms spectrally
    normalised), `attention` (self-attention on the feature map of that height, H/2^k to H)."""
    height, width_px, channels = check_image_shape(image_shape)
    doublings, filters = num_doublings(image_shape), 2 * width
    z, labels = keras.Input((latent_dim,), name="z"), label_input(num_classes)
    dense, conv = (SpectralDense, SpectralConv2D) if spectral else (keras.layers.Dense, keras.layers.Conv2D)
    x = dense((height >> doublings) * (width_px >> doublings) * filters, name="project")(z)
    x = attend(keras.layers.Reshape((height >> doublings, width_px >> doublings, filters))(x), attention)
    for block in range(doublings):
        x = attend(generator_residual_block(x, filters, norm, f"up{block}", labels, num_classes, spectral), attention)
    return keras.Model(z if labels is None else [z, labels], to_image(x, norm, channels, conv), name=name)


def to_image(x, norm, channels, conv):
    """The generator's last layers: BN (unconditional), ReLU, conv3×3 to the image channels, tanh (float32)."""
    x = keras.layers.ReLU()(normalization(norm, "out_norm")(x))
    x = conv(channels, 3, padding="same", name="to_image")(x)
    return keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)


def discriminator_heights(image_shape):
    """The feature-map heights after the discriminator's down-sampling blocks: H/2, ..., H/2^max(1, k-1)
    (32 → 16, 8)."""
    return [image_shape[0] >> block for block in range(1, max(1, num_doublings(image_shape) - 1) + 1)]


def build_discriminator(image_shape=(32, 32, 1), width=16, num_classes=None, name="discriminator", attention=None):
    """images [batch, H, W, C] (and labels [batch] with `num_classes`) → one logit per image: ψ(φ(x)) [+
    embed(y)ᵀφ(x)], φ(x) = Σ_pixels ReLU(h(x)); every layer spectrally normalised. `attention` (SAGAN's): a
    self-attention layer after the down-sampling block that reaches that height (`discriminator_heights`)."""
    images, labels = keras.Input(check_image_shape(image_shape), name="images"), label_input(num_classes)
    downsamplings = len(discriminator_heights(image_shape))
    x = attend(discriminator_residual_block(images, width, "down0", downsample=True, first=True), attention)
    for block in range(1, downsamplings):
        x = attend(discriminator_residual_block(x, width, f"down{block}", downsample=True), attention)
    for block in range(2):
        x = discriminator_residual_block(x, width, f"same{block}", downsample=False)
    features = GlobalSumPooling2D(name="sum_pool")(keras.layers.ReLU()(x))
    return keras.Model(images if labels is None else [images, labels],
                       projection_logit(features, labels, num_classes), name=name)


@register_recipe("sngan", paper="Miyato et al. 2018, https://arxiv.org/abs/1802.05957 (projection discriminator: "
                               "Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637)")
class SNGAN(GAN):
    """SNGAN (module docstring). Arguments: `width` (16: the discriminator's channels; the generator has twice as
    many), `n_dis` (5: discriminator steps per generator step), `num_classes` (None: unconditional; an integer ≥ 2:
    class-conditional, the model's inputs then [z, labels] with conditional batch norm in the generator and the
    projection discriminator, capabilities with CONDITION as CGAN's), `generator_norm` (`layers.NORMS`: "batch" as
    in the paper, "sync_batch" across replicas), and the base class's `latent_dim` (128, the paper's),
    `image_shape` ((32, 32, 1)), `ema_decay` (None: the paper keeps none), `seed`, `augment`.

    A train step consumes `n_dis` real batches: images shaped [batch, n_dis, H, W, C] (labels [batch, n_dis]),
    what `zoo.train` feeds, give each discriminator step a fresh batch; plain [batch, H, W, C] images are reused by
    every discriminator step."""

    optimizer_defaults = {"learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9}

    @classmethod
    def fitted_data(cls, image_shape):
        """As StyleGAN-lite's (`StyleGANLite.fitted_data`): pad to the smallest power-of-two square ≥ 8, so 28×28
        Fashion-MNIST trains at the paper's 32×32."""
        from recipes.stylegan_lite import StyleGANLite

        return StyleGANLite.fitted_data(image_shape)

    def __init__(self, width=16, n_dis: int = 5, num_classes: int = None, generator_norm="batch", latent_dim=128,
                 image_shape=(32, 32, 1), **kwargs):
        check_choice("generator_norm", generator_norm, NORMS)
        for arg, value in (("width", width), ("n_dis", n_dis)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}")
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                        or num_classes < 2):
            raise ValueError(f"`num_classes` must be None or an integer ≥ 2. Received: num_classes={num_classes!r}")
        self.width, self.n_dis, self.num_classes, self.generator_norm = width, n_dis, num_classes, generator_norm
        if num_classes is not None:  # this instance conditions on labels (the class: unconditional by default)
            self.capabilities = type(self).capabilities | {CONDITION}
            self.conditional = True
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, **kwargs)

    @property
    def real_batches_per_step(self):
        return self.n_dis

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.width, self.generator_norm, self.num_classes)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.width, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "n_dis": self.n_dis, "num_classes": self.num_classes,
                "generator_norm": self.generator_norm}

    def critic(self, images, labels):
        """D(T(x)) or, conditional, D(T(x), y); T the DiffAugment policies (identity by default)."""
        images = self.augmented(images)
        return self.discriminator(images if labels is None else [images, labels], training=True)

    def train_step(self, data):
        """The hinge loss (Lim & Ye 2017, https://arxiv.org/abs/1705.02894; SNGAN's eq. 17), n_dis times
        min_D E[relu(1 − D(x))] + E[relu(1 + D(G(z)))], each on a fresh real batch and fresh z, then once
        min_G −E[D(G(z))] against the last D; conditional: D(x, y), G(z, y), y the real batch's labels (the
        generator's step: the last batch's). Means over the global batch (`update`)."""
        d, n, labels = self.discriminator_steps(data)
        g = self.update(self.generator, self.g_optimizer,
                        lambda: losses.hinge_generator_loss(self.critic(self.fake(n, labels), labels)))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"])

    def discriminator_steps(self, data):
        """The n_dis hinge steps of D (`train_step`); returns (the last step's means, the local batch size, the
        last batch's labels or None)."""
        real, labels = split_labels(data)
        if self.conditional and labels is None:
            raise ValueError(f"A class-conditional {type(self).__name__} trains on (images, labels) batches; the "
                             "dataset has no labels.")
        labels = labels if self.conditional else None
        if real.shape.rank == 5:
            batches = tf.unstack(real, axis=1)
            label_batches = [None] * len(batches) if labels is None else tf.unstack(labels, axis=1)
        else:
            batches, label_batches = [real] * self.n_dis, [labels] * self.n_dis
        n, D = batch_size(real), self.discriminator
        for real, labels in zip(batches, label_batches):
            d = self.update(D, self.d_optimizer, lambda: losses.hinge_discriminator_loss(
                self.critic(real, labels), self.critic(self.fake(n, labels), labels)))
        return d, n, labels
