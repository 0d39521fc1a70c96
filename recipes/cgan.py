"""Conditional GAN: Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784.

The generator sees z concatenated with a learned label embedding; the discriminator
is a projection discriminator (Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637):
D(x, y) = w·φ(x) + e(y)·φ(x), with φ the DCGAN feature trunk and e a label embedding.
Trained with the non-saturating loss.
"""
import keras

from recipes import losses
from recipes.base import batch_size, split_labels
from recipes.capabilities import CONDITION, SAMPLE, TRAIN
from recipes.dcgan import DCGANNetworks
from recipes.layers import check_image_shape, downsampling_stack, logit_layer, upsampling_stack
from recipes.registry import register_recipe


def build_generator(latent_dim=100, num_classes=10, image_shape=(28, 28, 1), width=64, norm="batch",
                    embedding_dim=32, name="generator"):
    """[z, labels] → images in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = keras.layers.Embedding(num_classes, embedding_dim, name="label_embedding")(labels)
    x = keras.layers.Concatenate()([z, embedded])
    return keras.Model([z, labels], upsampling_stack(x, check_image_shape(image_shape), width, norm), name=name)


def build_discriminator(num_classes=10, image_shape=(28, 28, 1), width=64, norm="batch", name="discriminator"):
    """[images, labels] → one logit per image: w·φ(x) + b + e(y)·φ(x)."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    features = downsampling_stack(images, image_shape, width, norm)
    unconditional = logit_layer(norm)(features)
    embedded = keras.layers.Embedding(num_classes, features.shape[-1], name="label_projection")(labels)
    projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")([embedded, features])
    return keras.Model([images, labels], keras.layers.Add(dtype="float32")([unconditional, projection]), name=name)


@register_recipe("cgan", paper="Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784 (projection discriminator: Miyato & Koyama 2018)")
class CGAN(DCGANNetworks):
    """Class-conditional GAN: the model's inputs are [z, labels] with labels in [0, num_classes)."""

    capabilities = frozenset({SAMPLE, CONDITION, TRAIN})

    def __init__(self, num_classes=10, embedding_dim=32, **kwargs):
        if int(num_classes) < 2:
            raise ValueError(f"`num_classes` must be at least 2. Received: num_classes={num_classes!r}")
        self.num_classes = int(num_classes)
        self.embedding_dim = int(embedding_dim)
        super().__init__(**kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.num_classes, self.image_shape, self.width,
                               self.generator_norm, self.embedding_dim)

    def build_discriminator(self):
        return build_discriminator(self.num_classes, self.image_shape, self.width, self.discriminator_norm)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "embedding_dim": self.embedding_dim}

    def train_step(self, data):
        """The non-saturating objective with both players conditioned on the real batch's labels y:
        max_D E[log σ(D(x, y))] + E[log(1 - σ(D(G(z, y), y)))];  min_G E[-log σ(D(G(z, y), y))]."""
        real, labels = split_labels(data)
        if labels is None:
            raise ValueError("CGAN trains on (images, labels) batches; the dataset has no labels.")
        n, D = batch_size(real), self.discriminator
        d = self.update(D, self.d_optimizer, lambda: losses.modified_discriminator_loss(
            D([self.augmented(real), labels], training=True),
            D([self.augmented(self.fake(n, labels)), labels], training=True)))
        g = self.update(self.generator, self.g_optimizer, lambda: losses.modified_generator_loss(
            D([self.augmented(self.fake(n, labels)), labels], training=True)))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"])
