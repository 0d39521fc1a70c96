"""LSGAN: Mao et al. 2016, https://arxiv.org/abs/1611.04076.

The DCGAN architecture with a least-squares objective: the discriminator regresses
real to b and fake to a, the generator pulls fakes towards c (a=0, b=c=1 by default,
the paper's "0-1 coding"; a=-1, b=1, c=0 minimises the Pearson χ² divergence).
"""
import keras

from recipes import losses
from recipes.base import split_labels
from recipes.dcgan import DCGANNetworks


@keras.saving.register_keras_serializable(package="gan_zoo")
class LSGAN(DCGANNetworks):
    """Least-squares GAN on the DCGAN networks (the discriminator's output is linear)."""

    def __init__(self, a=0.0, b=1.0, c=1.0, **kwargs):
        self.a, self.b, self.c = float(a), float(b), float(c)
        super().__init__(**kwargs)

    def get_config(self):
        return {**super().get_config(), "a": self.a, "b": self.b, "c": self.c}

    def train_step(self, data):
        """min_D ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²];  min_G ½E[(D(G(z)) - c)²]."""
        real, _ = split_labels(data)
        n, D = real.shape[0], self.discriminator
        d = self.update(D, self.d_optimizer, lambda: losses.least_squares_discriminator_loss(
            D(self.augmented(real), training=True), D(self.augmented(self.fake(n)), training=True),
            real_label=self.b, fake_label=self.a))
        g = self.update(self.generator, self.g_optimizer, lambda: losses.least_squares_generator_loss(
            D(self.augmented(self.fake(n)), training=True), real_label=self.c))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"])
