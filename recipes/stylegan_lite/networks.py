"""StyleGAN-lite's networks: the mapping, synthesis and discriminator builders, and `StyleGenerator`, the
z → images generator that exposes its parts (`mapping`, `synthesis`, `w_avg`, `fixed_noise`) as attributes.

Generator G(z) = synthesis(mapping(z)) (Karras et al. 2019, https://arxiv.org/abs/1812.04948, and 2020,
https://arxiv.org/abs/1912.04958):
- mapping z → w: pixel norm of z, then `mapping_layers` equalized-LR dense layers (learning-rate
  multiplier 0.01) with √2·LeakyReLU(0.2); it tracks the mean w̄ of w for the truncation trick
  w' = w̄ + ψ(w - w̄).
- synthesis ws → images: a learned constant 4×4 input, then style layers (one at 4×4, two per
  higher resolution, the first after a bilinear ×2 upsampling): a modulated, demodulated 3×3
  convolution whose style is an affine map of the layer's w, per-pixel noise with a learned
  per-channel strength, a bias and √2·LeakyReLU(0.2). Skip outputs: a modulated (not
  demodulated) 1×1 toRGB per resolution, upsampled and summed, then tanh. Style layer i reads
  ws[:, i]; a resolution's toRGB shares the w of its last style layer, so an H×H generator has
  `num_layers` = 1 + 2·log₂(H/4) styles.
Discriminator: residual blocks of equalized-LR 3×3 convolutions with 2×2 average-pool
downsampling, a minibatch-stddev feature at 4×4, a 3×3 convolution and two dense layers.

Simpler than StyleGAN2: bilinear resizing and average pooling instead of FIR-filtered resampling, no
activation clamping.
"""
import math

import keras
import tensorflow as tf

from recipes.layers import check_image_shape
from recipes.stylegan_lite.layers import (AddNoise, ConstantNoise, EqualizedConv2D, EqualizedDense, LearnedConstant,
                                          MinibatchStddev, ModulatedConv2D, PixelNorm, TrackedMean)

MAPPING_LR_MULTIPLIER = 0.01


def image_resolution(image_shape):
    """H of a square power-of-two image shape with H ≥ 8."""
    height, width, _ = check_image_shape(image_shape)
    if height != width or height < 8 or height & (height - 1):
        raise ValueError("StyleGAN-lite needs square images whose side is a power of two ≥ 8 (e.g. 32, 64; pad "
                         f"28×28 Fashion-MNIST to 32). Received: image_shape={tuple(image_shape)}")
    return height


def resolutions(resolution):
    """4, 8, ..., resolution."""
    return [4 * 2**i for i in range(int(math.log2(resolution)) - 1)]


def noise_sizes(resolution):
    """Side of each style layer's noise image: one layer at 4×4, two at every higher resolution."""
    return [4] + [r for r in resolutions(resolution)[1:] for _ in range(2)]


def num_style_layers(resolution):
    """1 + 2·log₂(resolution/4): the number of ws the synthesis network reads."""
    return len(noise_sizes(resolution))


def channels_at(resolution, width, channel_base):
    """Feature maps at a resolution: min(width, channel_base / resolution), at least 1."""
    return max(1, min(width, channel_base // resolution))


def build_mapping(latent_dim=64, w_dim=64, num_layers=4, w_avg_beta=0.995, name="mapping"):
    """z [batch, latent_dim] → w [batch, w_dim]; the last layer, "w_avg", tracks w̄ (the model's `w_avg`)."""
    z = keras.Input((latent_dim,), name="z")
    x = PixelNorm(name="pixel_norm")(z)
    for layer in range(num_layers):
        x = EqualizedDense(w_dim, lr_multiplier=MAPPING_LR_MULTIPLIER, activation="lrelu", name=f"dense{layer}")(x)
    w_avg = TrackedMean(w_avg_beta, name="w_avg")
    mapping = keras.Model(z, w_avg(x), name=name)
    mapping.w_avg = w_avg
    return mapping


def style_layer(x, ws, noise, filters, index):
    x = ModulatedConv2D(filters, 3, w_index=index, name=f"conv{index}")([x, ws])
    return AddNoise(name=f"noise_bias_act{index}")([x, noise])


def to_rgb(x, ws, channels, index, resolution):
    return ModulatedConv2D(channels, 1, demodulate=False, use_bias=True, w_index=index,
                           name=f"to_rgb{resolution}")([x, ws])


def build_synthesis(image_shape=(32, 32, 1), w_dim=64, width=64, channel_base=1024, name="synthesis"):
    """[ws [batch, num_layers, w_dim], noise_0, ..., noise_{L-1} [batch, r, r, 1]] → images in [-1, 1]."""
    resolution, image_channels = image_resolution(image_shape), image_shape[-1]
    ws = keras.Input((num_style_layers(resolution), w_dim), name="ws")
    noises = [keras.Input((size, size, 1), name=f"noise{i}") for i, size in enumerate(noise_sizes(resolution))]
    x = LearnedConstant(channels_at(4, width, channel_base), name="constant")(ws)
    x = style_layer(x, ws, noises[0], channels_at(4, width, channel_base), 0)
    rgb = to_rgb(x, ws, image_channels, 0, 4)
    for stage, res in enumerate(resolutions(resolution)[1:]):
        filters, first = channels_at(res, width, channel_base), 1 + 2 * stage
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up{res}")(x)
        x = style_layer(x, ws, noises[first], filters, first)
        x = style_layer(x, ws, noises[first + 1], filters, first + 1)
        skip = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up_rgb{res}")(rgb)
        rgb = keras.layers.Add(name=f"rgb{res}")([skip, to_rgb(x, ws, image_channels, first + 1, res)])
    images = keras.layers.Activation("tanh", dtype="float32", name="tanh")(rgb)
    return keras.Model([ws, *noises], images, name=name)



@keras.saving.register_keras_serializable(package="gan_zoo")
class StyleGenerator(keras.Model):
    """z → images in [-1, 1]: synthesis(ws, fixed noise) with ws = mapping(z) broadcast to every style layer.

    A functional model whose parts are attributes: `mapping` (z → w), `synthesis` ([ws, noise_0, ...,
    noise_{L-1}] → images), `w_avg` (the mapping's `TrackedMean` layer: w̄ is `w_avg.mean`) and `fixed_noise`
    (the `ConstantNoise` layer of each style layer: its noise image is `.noise`). They are built in
    `__init__` from the constructor arguments (`get_config`), so a copy made from the config (`clone_model`,
    a `.keras` reload) has them too; the weights and their order are those of the functional graph alone."""

    def __init__(self, latent_dim=64, image_shape=(32, 32, 1), w_dim=64, mapping_layers=4, width=64,
                 channel_base=1024, name="generator", **kwargs):
        resolution = image_resolution(image_shape)
        mapping = build_mapping(latent_dim, w_dim, mapping_layers)
        synthesis = build_synthesis(image_shape, w_dim, width, channel_base)
        fixed_noise = tuple(ConstantNoise(size, name=f"const_noise{i}")
                            for i, size in enumerate(noise_sizes(resolution)))
        z = keras.Input((latent_dim,), name="z")
        ws = keras.layers.RepeatVector(num_style_layers(resolution), name="broadcast")(mapping(z))
        super().__init__(z, synthesis([ws, *(noise(ws) for noise in fixed_noise)]), name=name, **kwargs)
        self.mapping, self.synthesis, self.w_avg, self.fixed_noise = mapping, synthesis, mapping.w_avg, fixed_noise
        self.latent_dim, self.image_shape, self.w_dim = latent_dim, tuple(image_shape), w_dim
        self.mapping_layers, self.width, self.channel_base = mapping_layers, width, channel_base

    @property
    def num_layers(self):
        """Style layers L, i.e. ws the synthesis network reads: 1 + 2·log₂(H/4)."""
        return len(self.fixed_noise)

    def synthesize(self, ws, training=False):
        """synthesis(ws) with the fixed noise images: deterministic in ws [batch, L, w_dim]."""
        return self.synthesis([ws, *(noise(ws) for noise in self.fixed_noise)], training=training)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "latent_dim": self.latent_dim,
                "image_shape": list(self.image_shape), "w_dim": self.w_dim, "mapping_layers": self.mapping_layers,
                "width": self.width, "channel_base": self.channel_base}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build_generator(latent_dim=64, image_shape=(32, 32, 1), w_dim=64, mapping_layers=4, width=64,
                    channel_base=1024, name="generator"):
    """A `StyleGenerator`: z → images in [-1, 1] with the fixed noise of its `ConstantNoise` layers."""
    return StyleGenerator(latent_dim, image_shape, w_dim, mapping_layers, width, channel_base, name=name)


def build_discriminator(image_shape=(32, 32, 1), width=64, channel_base=1024, mbstd_group_size=4,
                        name="discriminator"):
    """images → one logit: fromRGB, residual blocks down to 4×4 (3×3 conv, 2×2 average pooling,
    3×3 conv at the lower resolution, in place of StyleGAN2's blur + stride-2 conv; plus a pooled
    1×1 skip, summed and scaled by 1/√2), minibatch stddev, a 3×3 conv, dense, logit."""
    resolution = image_resolution(image_shape)
    channels = lambda res: channels_at(res, width, channel_base)  # noqa: E731
    images = keras.Input(check_image_shape(image_shape), name="images")
    x = EqualizedConv2D(channels(resolution), 1, activation="lrelu", name=f"from_rgb{resolution}")(images)
    for res in reversed(resolutions(resolution)[1:]):
        pooled = keras.layers.AveragePooling2D(2, name=f"skip_pool{res}")(x)
        skip = EqualizedConv2D(channels(res // 2), 1, use_bias=False, name=f"skip{res}")(pooled)
        y = EqualizedConv2D(channels(res), 3, activation="lrelu", name=f"conv{res}a")(x)
        y = keras.layers.AveragePooling2D(2, name=f"pool{res}")(y)
        y = EqualizedConv2D(channels(res // 2), 3, activation="lrelu", name=f"conv{res}b")(y)
        x = keras.layers.Rescaling(1.0 / math.sqrt(2.0), name=f"residual{res}")(keras.layers.Add()([skip, y]))
    x = MinibatchStddev(mbstd_group_size, name="minibatch_stddev")(x)
    x = EqualizedConv2D(channels(4), 3, activation="lrelu", name="conv4")(x)
    x = EqualizedDense(channels(4), activation="lrelu", name="dense4")(keras.layers.Flatten()(x))
    return keras.Model(images, EqualizedDense(1, dtype="float32", name="logit")(x), name=name)


# --- styles ---------------------------------------------------------------------------
def broadcast(w, num_layers):
    """w [batch, w_dim] → ws [batch, num_layers, w_dim] (the same w for every layer)."""
    return tf.tile(tf.convert_to_tensor(w)[:, None], [1, num_layers, 1])


def mix(w_a, w_b, crossover, num_layers):
    """ws[:, i] = w_a if i < crossover else w_b, with one crossover per example ([batch] ints)."""
    take_a = tf.range(num_layers)[None, :] < tf.reshape(tf.cast(crossover, tf.int32), [-1, 1])
    return tf.where(take_a[:, :, None], tf.convert_to_tensor(w_a)[:, None], tf.convert_to_tensor(w_b)[:, None])


def synthesize(generator, ws, training=False):
    """`generator.synthesize(ws)`: a `StyleGenerator`'s synthesis of ws with its fixed noise."""
    return generator.synthesize(ws, training=training)


def mapping_of(generator):
    """`generator.mapping` (the name kept for callers from before the attribute)."""
    return generator.mapping


def synthesis_of(generator):
    """`generator.synthesis` (the name kept for callers from before the attribute)."""
    return generator.synthesis


def w_avg_of(generator):
    """`generator.w_avg`, the `TrackedMean` layer holding w̄ (`.mean`)."""
    return generator.w_avg
