"""DCGAN: Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434.

Transposed-conv generator with batch norm + ReLU and a tanh output; strided-conv
discriminator with LeakyReLU(0.2); the non-saturating loss of Goodfellow et al. 2014.
"""
import keras

from recipes import losses
from recipes.base import GAN, split_labels
from recipes.layers import check_choice, check_image_shape, downsampling_stack, upsampling_stack, NORMS


def build_generator(latent_dim=100, image_shape=(28, 28, 1), width=64, norm="batch", name="generator"):
    """z [batch, latent_dim] → images [batch, H, W, C] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, upsampling_stack(z, check_image_shape(image_shape), width, norm), name=name)


def build_discriminator(image_shape=(28, 28, 1), width=64, norm="batch", name="discriminator"):
    """images → one logit per image."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    features = downsampling_stack(images, image_shape, width, norm)
    return keras.Model(images, keras.layers.Dense(1, dtype="float32", name="logit")(features), name=name)


@keras.saving.register_keras_serializable(package="gan_zoo")
class DCGAN(GAN):
    """Non-saturating DCGAN. `width` is the first discriminator layer's filters (the
    generator mirrors it); `generator_norm` / `discriminator_norm` in `layers.NORMS`."""

    def __init__(self, width=64, generator_norm="batch", discriminator_norm="batch", **kwargs):
        check_choice("generator_norm", generator_norm, NORMS)
        check_choice("discriminator_norm", discriminator_norm, NORMS)
        self.width = int(width)
        self.generator_norm = generator_norm
        self.discriminator_norm = discriminator_norm
        super().__init__(**kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.width, self.generator_norm)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.width, self.discriminator_norm)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "generator_norm": self.generator_norm,
                "discriminator_norm": self.discriminator_norm}

    def train_step(self, data):
        """max_D E[log σ(D(x))] + E[log(1 - σ(D(G(z))))];  min_G E[-log σ(D(G(z)))]."""
        real, _ = split_labels(data)
        n, D = real.shape[0], self.discriminator
        d = self.update(D, self.d_optimizer, lambda: losses.modified_discriminator_loss(
            D(real, training=True), D(self.fake(n), training=True)))
        g = self.update(self.generator, self.g_optimizer, lambda: losses.modified_generator_loss(
            D(self.fake(n), training=True)))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"])
