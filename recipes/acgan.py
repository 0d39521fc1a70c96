"""AC-GAN, the auxiliary classifier GAN: Odena, Olah & Shlens 2017, https://arxiv.org/abs/1610.09585.

The generator is CGAN's (`recipes.cgan.build_generator`: z concatenated with a learned class embedding, the DCGAN
up-sampling stack). The discriminator sees the image alone and has two heads on the DCGAN trunk φ: a source logit
s(x), P(S = real | x) = σ(s(x)), and K class logits c(x), P(C = · | x) = softmax(c(x)). With y the class a fake
was generated for (section 3 of the paper):

    L_S = E[log P(S = real | x)] + E[log P(S = fake | G(z, y))]     (the log-likelihood of the correct source)
    L_C = E[log P(C = y | x)] + E[log P(C = y | G(z, y))]           (the log-likelihood of the correct class)

D maximises L_S + L_C; G maximises L_C − L_S, here with the source term in its non-saturating form (Goodfellow et
al. 2014): G maximises E[log P(S = real | G(z, y))] instead of minimising E[log P(S = fake | G(z, y))] (the same
fixed point; its gradient does not vanish while D rejects the fakes). Only L_C's fake term depends on G.

What differs from the paper: the DCGAN networks of this project (as CGAN's, `width` configurable) instead of the
paper's per-dataset ones (no dropout in D); the fakes of a step take the real batch's labels (the paper draws
y ~ p(y): equal in expectation on balanced classes such as Fashion-MNIST's), as CGAN and SNGAN here do.
"""
import keras

from recipes import losses
from recipes.base import batch_size, split_labels
from recipes.cgan import CGAN
from recipes.layers import check_image_shape, downsampling_stack, logit_layer
from recipes.registry import register_recipe


def build_discriminator(num_classes=10, image_shape=(28, 28, 1), width=64, norm="batch", name="discriminator"):
    """images → [source logit s(x) [batch, 1], class logits c(x) [batch, num_classes]], both on one DCGAN trunk φ
    (spectrally normalised heads with a `spectral` trunk)."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    features = downsampling_stack(images, image_shape, width, norm)
    source = logit_layer(norm)(features)
    classes = logit_layer(norm, "class_logits", num_classes)(features)
    return keras.Model(images, [source, classes], name=name)


@register_recipe("acgan", paper="Odena et al. 2017, https://arxiv.org/abs/1610.09585")
class ACGAN(CGAN):
    """AC-GAN (module docstring): CGAN's generator and arguments (`num_classes` ≥ 2, `embedding_dim`, the DCGAN
    networks' `width` and norms, `latent_dim`, `ema_decay`, ...), a discriminator with a source and a class head.
    The model's inputs are [z, labels] with labels in [0, num_classes); it trains on (images, labels) batches.

    Logs: `d_loss` = −(L_S + L_C), `g_loss` = −E[log P(S = real | G(z, y))] − E[log P(C = y | G(z, y))] (the terms
    that depend on G), and the class terms on their own: `real_class_loss` = −E[log P(C = y | x)] (D's step) and
    `fake_class_loss` = −E[log P(C = y | G(z, y))] (G's step)."""

    loss_names = ("d_loss", "g_loss", "real_class_loss", "fake_class_loss")

    def build_discriminator(self):
        return build_discriminator(self.num_classes, self.image_shape, self.width, self.discriminator_norm)

    def heads(self, images):
        """(s(T(x)), c(T(x))): D's source and class logits; T the DiffAugment policies (identity by default)."""
        return self.discriminator(self.augmented(images), training=True)

    def discriminator_terms(self, real, fake, labels):
        """Per example: −log σ(s(x)) − log(1 − σ(s(G(z, y)))) − log P(C = y | x) − log P(C = y | G(z, y))."""
        (real_source, real_classes), (fake_source, fake_classes) = self.heads(real), self.heads(fake)
        real_class = losses.auxiliary_classifier_loss(real_classes, labels)
        fake_class = losses.auxiliary_classifier_loss(fake_classes, labels)
        source = losses.modified_discriminator_loss(real_source, fake_source)
        return {"loss": source + real_class + fake_class, "real_class": real_class}

    def generator_terms(self, fake, labels):
        """Per example: −log σ(s(G(z, y))) − log P(C = y | G(z, y))."""
        source, classes = self.heads(fake)
        fake_class = losses.auxiliary_classifier_loss(classes, labels)
        return {"loss": losses.modified_generator_loss(source) + fake_class, "fake_class": fake_class}

    def train_step(self, data):
        """One D step, max_D L_S + L_C, then one G step against the updated D, max_G L_C − L_S with the
        non-saturating source term; both on fresh z, y the real batch's labels. Means over the global batch."""
        real, labels = split_labels(data)
        if labels is None:
            raise ValueError("ACGAN trains on (images, labels) batches; the dataset has no labels.")
        n = batch_size(real)
        d = self.update(self.discriminator, self.d_optimizer,
                        lambda: self.discriminator_terms(real, self.fake(n, labels), labels))
        g = self.update(self.generator, self.g_optimizer, lambda: self.generator_terms(self.fake(n, labels), labels))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"], real_class_loss=d["real_class"],
                                fake_class_loss=g["fake_class"])
