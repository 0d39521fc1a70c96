"""SAGAN, the self-attention GAN: Zhang, Goodfellow, Metaxas & Odena 2018, https://arxiv.org/abs/1805.08318.

SNGAN's ResNets (`recipes.sngan`: 32×32, conditional batch norm in the generator and the projection discriminator
with `num_classes`) with the paper's changes:

- a self-attention layer (`recipes.layers.SelfAttention`, eq. 1–3: y = γ·o + x, γ started at 0) in both networks
  on the feature maps `attention_resolution` pixels high: by default H/2, 16×16 for 32×32 images (the generator's
  after its second up-sampling block, 2w channels; the discriminator's after its first down-sampling block, w
  channels), the analogue of the paper's best placement (feature maps of 32² and 64² for 128² images, section 5.1);
- spectral norm in the generator too (every dense and conv layer, the attention's 1×1 convs; not the norms' class
  embeddings), as in the discriminator;
- the hinge loss with one discriminator step per generator step and the two time-scale update rule (TTUR,
  Heusel et al. 2017): Adam(1e-4, β₁ = 0, β₂ = 0.9) for G, Adam(4e-4, 0, 0.9) for D (section 4).

What differs from the paper (scaled for 2 CPU cores): SNGAN's widths (`width` w = 16 discriminator channels, 2w in
the generator) and one channel at 32×32 (Fashion-MNIST padded 28 → 32, `SNGAN.fitted_data`) instead of ImageNet's
128×128; no EMA generator by default; the fakes of a step take the real batch's labels (as SNGAN here).
"""
import keras

from recipes.registry import register_recipe
from recipes.sngan import SNGAN, build_discriminator, build_generator, discriminator_heights


def attention_heights(image_shape):
    """The feature-map heights where both networks can attend (the discriminator's after its down-sampling blocks,
    all of which the generator also has): 32 → [16, 8], 28 → [14], 8 → [4]."""
    return discriminator_heights(image_shape)


def attention_map(network, inputs):
    """β [batch, N, N] of `network`'s self-attention layer on `inputs` (the generator's z or [z, labels], the
    discriminator's images or [images, labels]), in inference mode: row j holds how much position j of the
    attended feature map (N = H·W positions, row-major) draws on each position i (`SelfAttention.attention_map`)."""
    layer = network.get_layer("attention")
    features = keras.Model(network.inputs, layer.input)(inputs, training=False)
    return layer.attention_map(features)


@register_recipe("sagan", paper="Zhang et al. 2018, https://arxiv.org/abs/1805.08318")
class SAGAN(SNGAN):
    """SAGAN (module docstring). Arguments: `attention_resolution` (None: H/2; the height of the feature maps both
    networks attend on, one of `attention_heights(image_shape)`), `n_dis` (1, the paper's), and SNGAN's `width`,
    `num_classes` (conditional: CBN and the projection discriminator), `generator_norm`, `latent_dim`, `image_shape`,
    `ema_decay`, `seed`, `augment`. The step is SNGAN's hinge step (`SNGAN.train_step`); the default optimizers
    are TTUR's (`player_learning_rates`). `attention_map(inputs, network)` returns a network's attention weights."""

    optimizer_defaults = {"learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}
    player_learning_rates = {"d": 4e-4}

    def __init__(self, attention_resolution: int = None, n_dis: int = 1, image_shape=(32, 32, 1), **kwargs):
        heights = attention_heights(image_shape)
        if attention_resolution is None:
            attention_resolution = heights[0]
        if isinstance(attention_resolution, bool) or attention_resolution not in heights:
            raise ValueError(f"`attention_resolution` must be a feature-map height both networks have for "
                             f"{tuple(image_shape)} images, one of {heights}. Received: "
                             f"attention_resolution={attention_resolution!r}")
        self.attention_resolution = int(attention_resolution)
        super().__init__(n_dis=n_dis, image_shape=image_shape, **kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.width, self.generator_norm, self.num_classes,
                               spectral=True, attention=self.attention_resolution)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.width, self.num_classes, attention=self.attention_resolution)

    def get_config(self):
        return {**super().get_config(), "attention_resolution": self.attention_resolution}

    def attention_map(self, inputs, network="generator"):
        """β [batch, N, N] of the self-attention layer of `network` ("generator": the sampling generator, EMA
        when kept; "discriminator") on its `inputs` (`recipes.sagan.attention_map`)."""
        model = self.sampling_generator if network == "generator" else self.discriminator
        return attention_map(model, inputs)
