"""WGAN-GP: Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028.

Wasserstein loss with a gradient penalty on random interpolates between real and
generated images; `n_critic` critic steps per generator step, each on a fresh real
batch; Adam(1e-4, β1=0, β2=0.9); a critic without batch norm (the penalty is per
example, which batch norm would break).
"""
import keras
import tensorflow as tf

from recipes import losses
from recipes.base import split_labels
from recipes.dcgan import DCGANNetworks
from recipes.layers import check_weight


@keras.saving.register_keras_serializable(package="gan_zoo")
class WGANGP(DCGANNetworks):
    """Wasserstein GAN with gradient penalty on the DCGAN networks.

    A train step consumes `n_critic` real batches: `train_step` accepts images shaped
    [batch, n_critic, H, W, C] (what `zoo.training` feeds, see `real_batches_per_step`),
    or plain [batch, H, W, C], in which case every critic step reuses that batch."""

    loss_names = ("d_loss", "g_loss", "gradient_penalty", "wasserstein_estimate")
    optimizer_defaults = {"learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}

    def __init__(self, n_critic=5, gp_weight=10.0, discriminator_norm="none", **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"`n_critic` must be a positive integer. Received: n_critic={n_critic!r}")
        if discriminator_norm in ("batch", "sync_batch"):
            raise ValueError("WGAN-GP's critic must not use batch norm (the gradient penalty is per example); "
                             f"use 'layer', 'spectral' or 'none'. Received: discriminator_norm={discriminator_norm!r}")
        self.n_critic = int(n_critic)
        self.gp_weight = check_weight("gp_weight", gp_weight)
        super().__init__(discriminator_norm=discriminator_norm, **kwargs)

    @property
    def real_batches_per_step(self):
        return self.n_critic

    def get_config(self):
        return {**super().get_config(), "n_critic": self.n_critic, "gp_weight": self.gp_weight}

    def critic_terms(self, real):
        """L_C = D(G(z)) - D(x) + λ(‖∇D(x̂)‖₂ - 1)², x̂ = x + α(G(z) - x), α ~ U(0, 1)."""
        n, D = real.shape[0], self.discriminator
        real, fake = self.augmented(real), self.augmented(self.fake(n))
        wasserstein = losses.wasserstein_discriminator_loss(D(real, training=True), D(fake, training=True))
        penalty = losses.wasserstein_gradient_penalty(lambda x: D(x, training=True), real, fake, self.uniform(n))
        return {"loss": wasserstein + self.gp_weight * penalty, "penalty": penalty, "wasserstein": -wasserstein}

    def train_step(self, data):
        """n_critic × min_C L_C on fresh real batches, then min_G -E[D(G(z))]."""
        real, _ = split_labels(data)
        real_batches = tf.unstack(real, axis=1) if real.shape.rank == 5 else [real] * self.n_critic
        for real in real_batches:
            d = self.update(self.discriminator, self.d_optimizer, lambda: self.critic_terms(real))
        g = self.update(self.generator, self.g_optimizer, lambda: losses.wasserstein_generator_loss(
            self.discriminator(self.augmented(self.fake(real.shape[0])), training=True)))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"], gradient_penalty=d["penalty"],
                                wasserstein_estimate=d["wasserstein"])
