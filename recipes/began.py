"""BEGAN: Berthelot, Schumm & Metz 2017, https://arxiv.org/abs/1703.10717.

The discriminator is an autoencoder D (encoder → bottleneck h → decoder) and its pixel L1 reconstruction loss
L(v) = |v - D(v)| (mean over pixels, per example) is the quantity the players fight over:
L_D = L(x) - k_t·L(G(z_D)),  L_G = L(G(z_G)),  k_{t+1} = clip(k_t + λ_k(γ·L(x) - L(G(z_G))), 0, 1),
with the convergence measure M_global = L(x) + |γ·L(x) - L(G(z_G))|.

Scaled down from the paper for 28×28 Fashion-MNIST on 2 CPU cores (`build_autoencoder`): one 3×3 conv per scale
instead of two, filters width·(scale + 1), stride-2 convs down and nearest-neighbour upsampling back to the DCGAN
base (7×7 for 28×28), ELU throughout and a linear reconstruction, as the paper; h = 64 as the paper's. The generator
is the zoo's DCGAN generator (as Lucic et al. 2018 ran BEGAN: the same generator as every other GAN), not a copy of
the decoder; and the learning rate is not decayed when M_global stalls (the paper halves it).
"""
import keras
import tensorflow as tf

from recipes.base import GAN, batch_size, cross_replica_mean, replica_context, split_labels
from recipes.dcgan import build_generator
from recipes.layers import NORMS, check_choice, check_image_shape, num_doublings
from recipes.registry import register_recipe


def build_autoencoder(image_shape=(28, 28, 1), width=64, bottleneck=64, name="discriminator"):
    """images → [reconstruction (float32, linear), code h [batch, bottleneck] (float32)]: the autoencoder
    discriminator of BEGAN (and EBGAN's): conv 3×3 + ELU at each scale, a stride-2 conv between scales, a dense
    bottleneck, then the mirror image with nearest-neighbour upsampling and a linear 3×3 conv to the channels."""
    image_shape = check_image_shape(image_shape)
    doublings = num_doublings(image_shape)
    elu_conv = lambda filters, strides, layer: keras.layers.Conv2D(  # noqa: E731
        filters, 3, strides, padding="same", activation="elu", name=layer)
    images = keras.Input(image_shape, name="images")
    x = elu_conv(width, 1, "encode0")(images)
    for stage in range(1, doublings + 1):
        x = elu_conv(width * (stage + 1), 2, f"down{stage}")(x)
    base = x.shape[1:3]
    code = keras.layers.Dense(bottleneck, dtype="float32", name="code")(keras.layers.Flatten()(x))
    x = keras.layers.Dense(base[0] * base[1] * width, name="decode")(code)
    x = keras.layers.Reshape((*base, width))(x)
    for stage in range(doublings):
        x = keras.layers.UpSampling2D(2, name=f"up{stage}")(elu_conv(width, 1, f"decode{stage}")(x))
    x = elu_conv(width, 1, f"decode{doublings}")(x)
    reconstruction = keras.layers.Conv2D(image_shape[-1], 3, padding="same", dtype="float32", name="reconstruction")(x)
    return keras.Model(images, [reconstruction, code], name=name)


def replica_share(value):
    """A value every replica holds whole (a global mean, k) as this replica's share: `finish_step` logs each
    replica's share × replicas, averaged over replicas."""
    return value / replica_context()[1]


class AutoencoderGAN(GAN):
    """A DCGAN generator against an autoencoder discriminator (`build_autoencoder`), shared by BEGAN and EBGAN.
    `width` is the generator's first-stage filters (as DCGAN's) and the autoencoder's; `bottleneck` the size of the
    autoencoder's code; `generator_norm` in `layers.NORMS` (the autoencoder has none, as both papers')."""

    def __init__(self, width=64, bottleneck=64, generator_norm="batch", **kwargs):
        check_choice("generator_norm", generator_norm, NORMS)
        if isinstance(bottleneck, bool) or int(bottleneck) != bottleneck or bottleneck < 1:
            raise ValueError(f"`bottleneck` must be a positive integer. Received: bottleneck={bottleneck!r}")
        self.width, self.bottleneck, self.generator_norm = int(width), int(bottleneck), generator_norm
        super().__init__(**kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.width, self.generator_norm)

    def build_discriminator(self):
        return build_autoencoder(self.image_shape, self.width, self.bottleneck)

    def autoencode(self, images):
        """(T(images), D's reconstruction of them, its code) in training mode; T the DiffAugment policies."""
        images = self.augmented(images)
        reconstruction, code = self.discriminator(images, training=True)
        return images, reconstruction, code

    def get_config(self):
        return {**super().get_config(), "width": self.width, "bottleneck": self.bottleneck,
                "generator_norm": self.generator_norm}


def reconstruction_l1(images, reconstruction):
    """L(v) = |v - D(v)|: the mean absolute pixel error of each example."""
    error = tf.abs(tf.cast(images, tf.float32) - tf.cast(reconstruction, tf.float32))
    return tf.reduce_mean(tf.reshape(error, [tf.shape(error)[0], -1]), axis=1)


@register_recipe("began", paper="Berthelot et al. 2017, https://arxiv.org/abs/1703.10717")
class BEGAN(AutoencoderGAN):
    """Boundary equilibrium GAN (module docstring). `gamma` γ ∈ (0, 1] is the diversity ratio
    E[L(G(z))] / E[L(x)] the equilibrium control aims at; `lambda_k` λ_k the control's gain (the paper's 0.001);
    k_t a non-trainable variable of the recipe, so checkpoints and .keras files keep it. Adam(1e-4, β1 = 0.5):
    the paper's initial rate (it gives no β; β1 = 0.5 as DCGAN's)."""

    loss_names = ("d_loss", "g_loss", "real_loss", "k", "m_global")
    optimizer_defaults = {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.999}

    def __init__(self, gamma=0.5, lambda_k=0.001, **kwargs):
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ValueError(f"`gamma` (BEGAN's diversity ratio) must be in (0, 1]. Received: gamma={gamma!r}")
        if isinstance(lambda_k, bool) or not isinstance(lambda_k, (int, float)) or not 0 <= lambda_k < float("inf"):
            raise ValueError(f"`lambda_k` must be a finite number ≥ 0. Received: lambda_k={lambda_k!r}")
        self.gamma, self.lambda_k = float(gamma), float(lambda_k)
        super().__init__(**kwargs)
        self.k = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="float32", name="k",
                                 aggregation="only_first_replica")

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "lambda_k": self.lambda_k}

    def reconstruction_loss(self, images):
        """L(T(v)) per example."""
        images, reconstruction, _ = self.autoencode(images)
        return reconstruction_l1(images, reconstruction)

    def train_step(self, data):
        """min_D E[L(x)] - k_t·E[L(G(z_D))]; then min_G E[L(G(z_G))] against the updated D; then
        k_{t+1} = clip(k_t + λ_k(γ·E[L(x)] - E[L(G(z_G))]), 0, 1) and M_global = E[L(x)] + |γ·E[L(x)] - E[L(G(z_G))]|,
        with E[L(x)] from D's step and E[L(G(z_G))] from G's step, both means over the global batch (every replica
        takes the same k_{t+1})."""
        real, _ = split_labels(data)
        n = batch_size(real)

        def discriminator_terms():
            real_loss = self.reconstruction_loss(real)
            return {"loss": real_loss - self.k * self.reconstruction_loss(self.fake(n)), "real": real_loss}, {
                "real": real_loss}

        def generator_loss():
            fake_loss = self.reconstruction_loss(self.fake(n))
            return fake_loss, {"fake": fake_loss}

        d, real_losses = self.update(self.discriminator, self.d_optimizer, discriminator_terms)
        g, fake_losses = self.update(self.generator, self.g_optimizer, generator_loss)
        real_mean, fake_mean = (cross_replica_mean(tf.stop_gradient(losses[name]))
                                for losses, name in ((real_losses, "real"), (fake_losses, "fake")))
        balance = self.gamma * real_mean - fake_mean
        self.k.assign(tf.clip_by_value(self.k + self.lambda_k * balance, 0.0, 1.0))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"], real_loss=d["real"], k=replica_share(self.k),
                                m_global=replica_share(real_mean + tf.abs(balance)))
