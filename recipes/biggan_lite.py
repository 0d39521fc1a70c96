"""BigGAN-lite: Brock, Donahue & Simonyan 2018, https://arxiv.org/abs/1809.11096, at 32×32, class-conditional.

SNGAN's ResNets (`recipes.sngan`) with BigGAN's changes (section 3, Appendix B):

- a shared class embedding e(y) (`embedding_dim`, not spectrally normalised) and a hierarchical latent: z is split
  into k + 1 equal chunks for k generator blocks (3 at 32×32), the first to the first linear layer, chunk i + 1
  concatenated with e(y) as block i's condition c_i;
- conditional batch norm from that condition: x̂ ⊙ (1 + W_γ c_i) + W_β c_i with spectrally normalised linear maps
  (`recipes.layers.linear_conditional_normalization`), in both norms of every block;
- spectral norm in G (every dense and conv, the CBN maps) and D (every layer, as SNGAN's), the projection
  discriminator (Miyato & Koyama 2018);
- the hinge loss, n_dis = 2 discriminator steps per generator step, Adam(β₁ = 0, β₂ = 0.999) with G at 5e-5 and
  D at 2e-4 (section 3's ImageNet settings);
- orthogonal regularisation of G in the paper's "off-diagonal" form (eq. 3), R_β(W) = β‖WᵀW ⊙ (1 − I)‖²_F with
  β = 1e-4, summed over every kernel of G but the shared embedding (`recipes.layers.orthogonal_penalty`);
- an EMA generator to sample from: decay 0.999, ramped up as StyleGAN2-ADA's (`ema_rampup` = 0.05: a half-life of
  5% of the steps so far, capped at 0.999), where the paper starts its EMA after 20k steps: from step 0 the EMA held
  the initial random weights long after G had learned (0.999^800 = 45% of them at step 800, whose grid was nearly
  blank while G's showed clothing shapes by class: measured here);
- the truncation trick: `generate_truncated([z, y], ψ)` samples from z truncated to [−τ, τ] (section 3.1),
  ψ = erf(τ/√2) the probability mass kept (`recipes.latents.truncated_normal`: 1 none, → 0 the z = 0 image), the
  `truncation` of `gan-zoo sample` / `evaluate` as StyleGAN-lite's ψ.

What differs from the paper (scaled for 2 CPU cores): SNGAN's widths (`width` w = 16 discriminator channels, 2w in
every generator block; the paper's CIFAR models have 256 / 4·64) and one channel at 32×32 (Fashion-MNIST padded
28 → 32, `SNGAN.fitted_data`) instead of ImageNet's 128×128; batch 64 instead of 2048; no self-attention by
default (the authors' 32×32 configuration has none; `attention_resolution` adds SAGAN's layer at that height in
both networks); SNGAN's initialisation instead of orthogonal initialisation; EMA decay 0.999 with a ramp instead
of 0.9999 after 20k steps (runs here are ~10⁴ steps); the orthogonal penalty differentiated as written in
eq. 3 (the authors' code adds 2β(WᵀW ⊙ (1 − I))Wᵀ to the gradient, half of eq. 3's); the fakes of a step take the
real batch's labels (as SNGAN here).
"""
import keras
import numpy as np
import tensorflow as tf

from recipes import losses
from recipes.capabilities import CONDITION, SAMPLE, TRAIN, TRUNCATE
from recipes.latents import slerp, truncated_normal
from recipes.layers import (SpectralConv2D, SpectralDense, check_image_shape, check_weight,
                            generator_residual_block, linear_conditional_normalization, num_doublings,
                            orthogonal_penalty)
from recipes.registry import register_recipe
from recipes.sagan import attention_heights
from recipes.sngan import SNGAN, attend, build_discriminator, to_image


def build_generator(latent_dim=128, image_shape=(32, 32, 1), width=16, num_classes=10, embedding_dim=128,
                    norm="batch", attention=None, name="generator"):
    """[z [batch, latent_dim], labels [batch]] → images [batch, H, W, C] in [-1, 1]: z split into k + 1 chunks
    (k up-sampling blocks of 2·width channels), chunk 0 → spectral dense → (H, W)/2^k; block i's conditional batch
    norms take [e(y), chunk i + 1], e the shared embedding; `attention`: SAGAN's layer at that height."""
    height, width_px, channels = check_image_shape(image_shape)
    doublings, filters = num_doublings(image_shape), 2 * width
    chunk = latent_dim // (doublings + 1)
    z, labels = keras.Input((latent_dim,), name="z"), keras.Input((), dtype="int32", name="labels")
    shared = keras.layers.Embedding(num_classes, embedding_dim, name="shared_embedding")(labels)
    x = SpectralDense((height >> doublings) * (width_px >> doublings) * filters, name="project")(z[:, :chunk])
    x = attend(keras.layers.Reshape((height >> doublings, width_px >> doublings, filters))(x), attention)
    for block in range(doublings):
        condition = keras.layers.Concatenate(name=f"up{block}_condition")(
            [shared, z[:, (block + 1) * chunk:(block + 2) * chunk]])
        normalize = lambda h, norm_name, c=condition: linear_conditional_normalization(  # noqa: E731
            h, c, norm, norm_name)
        x = generator_residual_block(x, filters, norm, f"up{block}", spectral=True, normalize=normalize)
        x = attend(x, attention)
    return keras.Model([z, labels], to_image(x, norm, channels, SpectralConv2D), name=name)


@register_recipe("biggan_lite", paper="Brock et al. 2018, https://arxiv.org/abs/1809.11096")
class BigGANLite(SNGAN):
    """BigGAN-lite (module docstring). Arguments: `num_classes` (10; an integer ≥ 2: always class-conditional),
    `embedding_dim` (128: the shared class embedding's size), `ortho_beta` (β = 1e-4 of the orthogonal
    regularisation; 0 turns it off), `attention_resolution` (None: no self-attention; else a height of
    `recipes.sagan.attention_heights(image_shape)`), `n_dis` (2), `ema_decay` (0.999), `ema_rampup` (0.05; None: the
    constant decay; no EMA, no ramp), `latent_dim` (128: a multiple
    of the generator's blocks + 1, 4 at 32×32), and SNGAN's `width`, `generator_norm`, `image_shape`, `seed`,
    `augment`. Inputs [z, labels]; trains on (images, labels) batches.

    Logs: `d_loss` (D's hinge loss), `g_loss` = −E[D(G(z, y), y)] + Σ_W R_β(W) (what G minimises) and
    `ortho_penalty` = Σ_W R_β(W) on its own."""

    loss_names = ("d_loss", "g_loss", "ortho_penalty")
    capabilities = frozenset({SAMPLE, CONDITION, TRUNCATE, TRAIN})
    optimizer_defaults = {"learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.999}
    player_learning_rates = {"g": 5e-5}
    max_truncation = 1.0  # ψ is the probability mass of z kept (`truncated_normal`): 1 keeps all of it

    def __init__(self, num_classes: int = 10, embedding_dim: int = 128, ortho_beta: float = 1e-4,
                 attention_resolution: int = None, n_dis: int = 2, ema_decay: float = 0.999, ema_rampup: float = 0.05,
                 latent_dim=128, image_shape=(32, 32, 1), **kwargs):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"`num_classes` must be an integer ≥ 2 (BigGAN-lite is class-conditional). Received: "
                             f"num_classes={num_classes!r}")
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ValueError(f"`embedding_dim` must be a positive integer. Received: embedding_dim={embedding_dim!r}")
        slots = num_doublings(check_image_shape(image_shape)) + 1
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < slots \
                or latent_dim % slots:
            raise ValueError(f"`latent_dim` must split into {slots} equal chunks of z (the first linear layer and "
                             f"{slots - 1} generator blocks for {tuple(image_shape)} images): a positive multiple of "
                             f"{slots}. Received: latent_dim={latent_dim!r}")
        heights = attention_heights(image_shape)
        if attention_resolution is not None and (isinstance(attention_resolution, bool)
                                                 or attention_resolution not in heights):
            raise ValueError(f"`attention_resolution` must be None or a feature-map height both networks have for "
                             f"{tuple(image_shape)} images, one of {heights}. Received: "
                             f"attention_resolution={attention_resolution!r}")
        self.embedding_dim, self.ortho_beta = embedding_dim, check_weight("ortho_beta", ortho_beta)
        self.attention_resolution = attention_resolution
        super().__init__(num_classes=num_classes, n_dis=n_dis, ema_decay=ema_decay, latent_dim=latent_dim,
                         image_shape=image_shape, ema_rampup=None if ema_decay is None else ema_rampup, **kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.width, self.num_classes, self.embedding_dim,
                               self.generator_norm, self.attention_resolution)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.width, self.num_classes, attention=self.attention_resolution)

    def get_config(self):
        return {**super().get_config(), "embedding_dim": self.embedding_dim, "ortho_beta": self.ortho_beta,
                "attention_resolution": self.attention_resolution}

    def orthogonal_kernels(self):
        """The weights R_β regularises: every trainable kernel of G with ≥ 2 axes but the shared class embedding
        (as the authors' code; biases, norms and attention's γ have fewer axes)."""
        shared = self.generator.get_layer("shared_embedding").embeddings
        return [v for v in self.generator.trainable_variables if len(v.shape) >= 2 and v is not shared]

    def generator_terms(self, local_batch, labels):
        """Per example: −D(G(z, y), y) + Σ_W β‖WᵀW ⊙ (1 − I)‖²_F (the penalty added to every example: its
        global-batch mean is the penalty itself, on one device or summed over replicas)."""
        hinge = losses.hinge_generator_loss(self.critic(self.fake(local_batch, labels), labels))
        penalty = self.ortho_beta * tf.add_n([orthogonal_penalty(kernel) for kernel in self.orthogonal_kernels()])
        penalty = tf.fill(tf.shape(hinge), penalty)
        return {"loss": hinge + penalty, "ortho": penalty}

    def train_step(self, data):
        """n_dis hinge steps of D (SNGAN's: min_D E[relu(1 − D(x, y))] + E[relu(1 + D(G(z, y), y))], each on a
        fresh real batch and fresh z), then one step of G against the last D:
        min_G −E[D(G(z, y), y)] + Σ_W R_β(W), R_β(W) = β‖WᵀW ⊙ (1 − I)‖²_F (eq. 3); then the EMA generator
        (ema ← d·ema + (1 − d)·w). y the real batch's labels; means over the global batch (`update`)."""
        d, n, labels = self.discriminator_steps(data)
        g = self.update(self.generator, self.g_optimizer, lambda: self.generator_terms(n, labels))
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"], ortho_penalty=g["ortho"])

    # --- sampling ---------------------------------------------------------------------------------------------
    def generate_truncated(self, inputs, truncation=1.0):
        """Images (tensor) of [z, labels] from the sampling generator with z truncated at ψ = `truncation`
        (`truncated_normal`; a number or one per example; ψ ≥ 1: none)."""
        z, labels = inputs
        return self.sampling_generator([truncated_normal(z, truncation), tf.cast(labels, tf.int32)], training=False)

    def interpolate(self, z_a, z_b, fractions, labels=None, truncation=1.0):
        """Images in [-1, 1] (numpy) along the spherical path from z_a to z_b (`latents.slerp`), each z truncated
        at ψ as it is sampled; one label per fraction."""
        z = slerp(z_a, z_b, fractions)
        labels = np.zeros(len(z), np.int32) if labels is None else np.asarray(labels, np.int32)
        return np.asarray(self.generate_truncated([z, labels], truncation))

