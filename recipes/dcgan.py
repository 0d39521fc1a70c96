"""DCGAN: Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434.

Transposed-conv generator with batch norm + ReLU and a tanh output; strided-conv
discriminator with LeakyReLU(0.2); the non-saturating loss of Goodfellow et al. 2014. For 2-D points (a 1×1
frame of 2 channels, zoo.data.points) the networks are MLPs (`network="mlp"`).
"""
import math

import keras
import tensorflow as tf

from recipes import losses
from recipes.base import GAN, batch_size, split_labels
from recipes.latents import stream_latents
from recipes.layers import (DISCRIMINATOR_NORMS, NORMS, check_choice, check_image_shape, check_weight,
                            downsampling_stack, logit_layer, upsampling_stack)
from recipes.registry import register_recipe


def build_generator(latent_dim=100, image_shape=(28, 28, 1), width=64, norm="batch", name="generator"):
    """z [batch, latent_dim] → images [batch, H, W, C] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, upsampling_stack(z, check_image_shape(image_shape), width, norm), name=name)


def build_discriminator(image_shape=(28, 28, 1), width=64, norm="batch", name="discriminator", units=1):
    """images → `units` outputs per image, the objective's head (`losses.Head`: one logit by default)."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    features = downsampling_stack(images, image_shape, width, norm)
    return keras.Model(images, logit_layer(norm, units=units)(features), name=name)


NETWORKS = ("conv", "mlp")
MLP_LAYERS = 2
PREVIEW_POINTS, PREVIEW_EXTENT, PREVIEW_SIZE = 4096, 5.0, 64  # a points run's sample grid: a density image


def network_for(network, image_shape):
    """`network`, or for None the one the data allows: "mlp" for points (a 1×1 frame), else "conv"."""
    if network is None:
        return "mlp" if tuple(image_shape)[:2] == (1, 1) else "conv"
    check_choice("network", network, NETWORKS)
    return network


def build_mlp_generator(latent_dim, point_shape, width=128, name="generator"):
    """z → MLP_LAYERS × Dense(width) + ReLU → a linear point of `point_shape` (Metz et al. 2016, appendix A:
    2 hidden layers of 128 ReLU units, a linear projection to 2-D)."""
    z = keras.Input((latent_dim,), name="z")
    hidden = z
    for index in range(MLP_LAYERS):
        hidden = keras.layers.Dense(width, activation="relu", name=f"hidden_{index}")(hidden)
    point = keras.layers.Dense(math.prod(point_shape), name="point")(hidden)
    return keras.Model(z, keras.layers.Reshape(point_shape)(point), name=name)


def build_mlp_discriminator(point_shape, width=128, name="discriminator", units=1):
    """point → MLP_LAYERS × Dense(width) + ReLU → one logit (Metz et al. use one hidden layer of 128), or the
    objective's head of `units` outputs."""
    point = keras.Input(point_shape, name="images")
    hidden = keras.layers.Flatten()(point)
    for index in range(MLP_LAYERS):
        hidden = keras.layers.Dense(width, activation="relu", name=f"hidden_{index}")(hidden)
    return keras.Model(point, keras.layers.Dense(units, name="logit")(hidden), name=name)


class DCGANNetworks(GAN):
    """The DCGAN networks, shared by the recipes built on them. `width` is the first discriminator
    layer's filters (the generator mirrors it); `generator_norm` in `layers.NORMS`, `discriminator_norm` also
    "spectral" (Miyato et al. 2018, https://arxiv.org/abs/1802.05957: every conv and the logit layer compute
    with W/σ(W), no activation norm). `network`: "conv", or "mlp" for 2-D points (`width` hidden units a layer,
    default 128; no normalization layers, as Metz et al.: the norms are the conv networks'); None picks by the
    data (`network_for`)."""

    def __init__(self, width: int = None, generator_norm="batch", discriminator_norm="batch", network=None, **kwargs):
        check_choice("generator_norm", generator_norm, NORMS)
        check_choice("discriminator_norm", discriminator_norm, DISCRIMINATOR_NORMS)
        self.network = network_for(network, kwargs.get("image_shape", (28, 28, 1)))
        self.width = int(width if width is not None else 128 if self.network == "mlp" else 64)
        self.generator_norm = generator_norm
        self.discriminator_norm = discriminator_norm
        super().__init__(**kwargs)

    def build_generator(self):
        if self.network == "mlp":
            return build_mlp_generator(self.latent_dim, self.image_shape, self.width)
        return build_generator(self.latent_dim, self.image_shape, self.width, self.generator_norm)

    head = losses.SCALAR_HEAD  # the discriminator's output per image (DCGAN: its objective's `losses.Head`)

    def build_discriminator(self):
        if self.network == "mlp":
            return build_mlp_discriminator(self.image_shape, self.width, units=self.head.units)
        return build_discriminator(self.image_shape, self.width, self.discriminator_norm, units=self.head.units)

    def preview_inputs(self, seed, real_batch=None):
        if self.network != "mlp":
            return super().preview_inputs(seed, real_batch)
        return stream_latents(seed, 0, PREVIEW_POINTS, self.latent_dim)

    def preview(self, inputs):
        """For points: one PREVIEW_SIZE² image of where PREVIEW_POINTS samples fall in [-PREVIEW_EXTENT,
        PREVIEW_EXTENT]² (x right, y up), log(1 + count) scaled to [-1, 1] (empty cells -1; outside points dropped)."""
        if self.network != "mlp":
            return super().preview(inputs)
        points = tf.reshape(tf.cast(self.sampling_generator(inputs, training=False), tf.float32), [-1, 2])
        points = tf.boolean_mask(points, tf.reduce_all(tf.abs(points) < PREVIEW_EXTENT, axis=1))
        cells = tf.cast((points / PREVIEW_EXTENT + 1.0) / 2.0 * PREVIEW_SIZE, tf.int32)
        counts = tf.scatter_nd(tf.stack([PREVIEW_SIZE - 1 - cells[:, 1], cells[:, 0]], axis=1),
                               tf.ones_like(points[:, 0]), [PREVIEW_SIZE, PREVIEW_SIZE])
        density = tf.math.log1p(counts) / tf.math.log1p(tf.maximum(tf.reduce_max(counts), 1.0))
        return (2.0 * density - 1.0)[None, :, :, None], 1

    def get_config(self):
        return {**super().get_config(), "width": self.width, "generator_norm": self.generator_norm,
                "discriminator_norm": self.discriminator_norm, "network": self.network}


@register_recipe("dcgan", paper="Radford et al. 2015, https://arxiv.org/abs/1511.06434")
class DCGAN(DCGANNetworks):
    """DCGAN, by default with the non-saturating loss. `loss` names any objective of
    `losses.LOSSES` (the "same architecture, different loss" arms of a `gan-zoo study`);
    `n_disc` discriminator steps per generator step (None: the loss's paper's, 5 for "wasserstein", else 1);
    `penalty_weight` λ of the loss's gradient
    penalty (None: the loss's default; only for losses with a penalty); `clip` c of the loss's weight
    clipping (None: the loss's default, 0.01 for "wasserstein"; only for losses that clip). An objective
    that declares an optimizer (WGAN's RMSProp(5e-5)) is the default of both players (`default_optimizer`).
    `loss_settings`: {setting: value} of a loss that takes settings (`losses.objective`: "sphere" `features` n
    and `moments` R, "realness" `outcomes` N and `anchors` [A0, A1]); the discriminator's head is the objective's
    (`losses.Head`: `units` outputs per image), any of `discriminator_heads`.

    A train step consumes `n_disc` real batches: images shaped [batch, n_disc, H, W, C] (what
    `zoo.train` feeds) give each discriminator step a fresh batch; plain [batch, H, W, C]
    images are reused by every discriminator step.

    WGANGP and LSGAN are configurations of this class: they fix `fixed_arguments` (a
    loss and its settings) and keep their papers' names for them.

    `bfloat16_checked`: mixed bfloat16 trained the conv networks to float32's quality at the same step count
    (Fashion-MNIST, FID of 2000 samples, Fashion-MNIST evaluator features; float32 vs bfloat16: non-saturating
    loss after 5000 steps 217.7 vs 205.0 (seed 0) and 223.6 vs 219.3 (seed 1), WGAN-GP after 2000 steps 417.9 vs
    415.6; docs/performance.md), so zoo.train may choose it where it measures faster, for every loss of this
    class and its configurations (WGAN-GP, LSGAN) alike; LSGAN and the other losses were not measured
    separately."""

    bfloat16_checked = True

    @classmethod
    def trains_in_bfloat16(cls, settings, image_shape):
        """The conv networks only: the MLP's 2-D points would come out on bfloat16's grid (8 significant bits:
        0.016 apart between 2 and 4, coarser than ring8's σ = 0.02), which was not checked."""
        network = network_for(settings.get("network"), image_shape)
        return super().trains_in_bfloat16(settings, image_shape) and network == "conv"

    discriminator_heads = tuple(losses.HEAD_KINDS)  # its builders end in the objective's head, whatever its width

    @classmethod
    def settled_defaults(cls, config):
        """n_disc None: the loss's paper's critic steps (WGAN: 5), else 1."""
        if "n_disc" in config and config["n_disc"] is None:
            return {**config, "n_disc": losses.objective(config.get("loss", "non_saturating")).n_critic}
        return config

    def __init__(self, loss="non_saturating", n_disc: int = None, penalty_weight: float = None,
                 discriminator_norm="batch", clip: float = None, loss_settings: dict = None, **kwargs):
        self.objective = losses.objective(loss, loss_settings)
        losses.check_head(loss, self.objective.head, type(self).__name__, self.discriminator_heads)
        self.head, self.loss_settings = self.objective.head, loss_settings
        n_disc = self.objective.n_critic if n_disc is None else n_disc  # the loss's paper's (WGAN: 5), else 1
        if isinstance(n_disc, bool) or not isinstance(n_disc, int) or n_disc < 1:
            raise ValueError(f"`n_disc` must be a positive integer. Received: n_disc={n_disc!r}")
        if penalty_weight is not None and not self.objective.penalty:
            raise ValueError(f"loss {loss!r} has no gradient penalty: drop `penalty_weight` (losses with one: "
                             f"{', '.join(name for name, o in losses.LOSSES.items() if o.penalty)})")
        mlp = network_for(kwargs.get("network"), kwargs.get("image_shape", (28, 28, 1))) == "mlp"  # no norm layers
        if self.objective.penalty and discriminator_norm in ("batch", "sync_batch") and not mlp:
            raise ValueError(f"loss {loss!r} penalises per-example gradients, which batch norm in the discriminator "
                             f"would mix: set discriminator_norm to 'layer', 'spectral' or 'none'. "
                             f"Received: discriminator_norm={discriminator_norm!r}")
        self.loss_name, self.n_disc = loss, n_disc  # `self.loss` is Keras's compile argument
        self.penalty_weight = None if penalty_weight is None else check_weight("penalty_weight", penalty_weight)
        self.penalty_scale = self.objective.penalty_weight if penalty_weight is None else self.penalty_weight
        self.clip = self.check_clip(clip)
        self.clip_value = self.objective.clip if clip is None else self.clip
        super().__init__(discriminator_norm=discriminator_norm, **kwargs)

    def check_clip(self, clip):
        """`clip` as a float: None, or a finite c > 0 for a loss that clips the critic's weights."""
        if clip is None:
            return None
        if not self.objective.clip:
            raise ValueError(f"loss {self.loss_name!r} does not clip the critic's weights: drop `clip` (losses that "
                             f"do: {', '.join(name for name, o in losses.LOSSES.items() if o.clip)})")
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not math.isfinite(clip) or clip <= 0:
            raise ValueError(f"`clip` must be a finite number > 0 (the critic's weights are clipped to [-clip, clip]). "
                             f"Received: clip={clip!r}")
        return float(clip)

    def default_optimizer(self, player=None, **overrides):
        """The objective's optimizer when it declares one (WGAN: RMSprop(5e-5)), with a `learning_rate` override;
        Adam's settings (`beta_1`, `beta_2`) ask for the recipe's Adam instead (Lucic et al. 2018 train every
        loss, WGAN's too, with Adam)."""
        if self.objective.optimizer is None or set(overrides) - {"learning_rate"}:
            return super().default_optimizer(player, **overrides)
        return self.objective.optimizer(**overrides)

    @property
    def loss_names(self):
        return ("d_loss", "g_loss", "d_penalty") if self.objective.penalty else ("d_loss", "g_loss")

    @property
    def real_batches_per_step(self):
        return self.n_disc

    def get_config(self):
        config = {**super().get_config(), "loss": self.loss_name, "loss_settings": self.loss_settings,
                  "n_disc": self.n_disc,
                  "penalty_weight": self.penalty_weight, "clip": self.clip}
        return {key: value for key, value in config.items() if key not in self.fixed_arguments}

    def discriminator_terms(self, real):
        """L_D(D(T(x)), D(T(G(z)))) [+ λ·penalty at T(x), T(G(z))]; T the DiffAugment policies (identity by default)."""
        n, D = batch_size(real), self.discriminator
        real, fake = self.augmented(real), self.augmented(self.fake(n))
        loss = self.objective.discriminator_loss(D(real, training=True), D(fake, training=True))
        if not self.objective.penalty:
            return {"loss": loss}
        penalty = self.objective.penalty(lambda x: D(x, training=True), real, fake,
                                         lambda *shape: self.uniform(n, *shape))
        return {"loss": loss + self.penalty_scale * penalty, "penalty": penalty, "unpenalized": loss}

    def generator_terms(self, real):
        """L_G(D(T(G(z)))), or L_G(D(T(G(z))), D(T(x))) for an objective whose generator loss compares with
        real images (the relativistic ones)."""
        D = self.discriminator
        fake = D(self.augmented(self.fake(batch_size(real))), training=True)
        if not self.objective.generator_uses_real:
            return self.objective.generator_loss(fake)
        return self.objective.generator_loss(fake, D(self.augmented(real), training=True))

    def train_step(self, data):
        """n_disc × (min_D L_D on a fresh real batch, then the objective's weight clipping if any), then
        min_G L_G (against the last real batch for relativistic losses), with (L_D, L_G) the chosen loss; the
        default: max_D E[log σ(D(x))] + E[log(1 - σ(D(G(z))))];  min_G E[-log σ(D(G(z)))]."""
        real, _ = split_labels(data)
        real_batches = tf.unstack(real, axis=1) if real.shape.rank == 5 else [real] * self.n_disc
        for real in real_batches:
            d = self.update(self.discriminator, self.d_optimizer, lambda: self.discriminator_terms(real))
            if self.clip_value:
                losses.clip_weights(self.discriminator.trainable_variables, self.clip_value)
        g = self.update(self.generator, self.g_optimizer, lambda: self.generator_terms(real))
        return self.finish_step(**self.step_logs(d, g))

    def step_logs(self, d, g):
        """The logged losses of a step from the last discriminator update's terms `d` and the generator's `g`."""
        penalty = {"d_penalty": d["penalty"]} if self.objective.penalty else {}
        return {"d_loss": d["loss"], "g_loss": g["loss"], **penalty}
