"""StyleGAN-lite: a small StyleGAN2. Karras et al. 2019, https://arxiv.org/abs/1812.04948 (StyleGAN)
and 2020, https://arxiv.org/abs/1912.04958 (StyleGAN2).

Generator G(z) = synthesis(mapping(z)):
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

Training: the non-saturating logistic loss, lazy R1 on reals, style-mixing regularization, an EMA
generator and Adam(2e-3, β₁=0, β₂=0.99, ε=1e-8) for both players (StyleGAN2's settings).
Simpler than StyleGAN2: no path-length regularization, bilinear resizing and average pooling
instead of FIR-filtered resampling, no activation clamping, and Adam's hyper-parameters are not
rescaled for the lazy R1 steps.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from recipes import losses
from recipes.base import GAN, batch_size, split_labels
from recipes.capabilities import MIX_STYLES, SAMPLE, TRAIN, TRUNCATE
from recipes.latents import seed_latents, stream_latents
from recipes.layers import check_choice, check_image_shape, check_weight
from recipes.registry import register_recipe

ACTIVATIONS = ("linear", "lrelu")
MAPPING_LR_MULTIPLIER = 0.01


def activate(x, activation):
    """'lrelu': √2·LeakyReLU(0.2)(x), StyleGAN's activation with the gain that keeps unit-variance
    inputs at unit second moment; 'linear': x."""
    if activation == "lrelu":
        return tf.nn.leaky_relu(x, 0.2) * tf.cast(math.sqrt(2.0), x.dtype)
    return x


# --- layers ---------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="gan_zoo")
class PixelNorm(keras.layers.Layer):
    """x / √(mean(x², last axis) + 1e-8): each latent on the sphere of radius √dim."""

    def call(self, x):
        return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + 1e-8)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="gan_zoo")
class EqualizedDense(keras.layers.Layer):
    """y = act(x·(c·W) + m·b): equalized learning rate (Karras et al. 2018,
    https://arxiv.org/abs/1710.10196). W is stored ~ N(0, 1/m²) and scaled at run time by
    c = m/√fan_in (`weight_scale`), m the learning-rate multiplier, so the effective weight is
    N(0, 1/fan_in) and Adam moves it by ≈ lr·m/√fan_in per step. b is stored as bias_init/m."""

    def __init__(self, units, lr_multiplier=1.0, bias_init=0.0, activation="linear", **kwargs):
        super().__init__(**kwargs)
        check_choice("activation", activation, ACTIVATIONS)
        self.units, self.lr_multiplier, self.bias_init = int(units), float(lr_multiplier), float(bias_init)
        self.activation = activation

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.weight_scale = self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(fan_in, self.units), name="kernel",
                                      initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier))
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier))

    def call(self, x):
        y = tf.matmul(x, self.kernel * self.weight_scale) + self.bias * self.lr_multiplier
        return activate(y, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init, "activation": self.activation}


@keras.saving.register_keras_serializable(package="gan_zoo")
class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 'same' convolution with equalized learning rate: W ~ N(0, 1) stored, scaled at run
    time by c = 1/√(k²·in) (`weight_scale`); y = act(conv(x, c·W) + b)."""

    def __init__(self, filters, kernel_size=3, use_bias=True, activation="linear", **kwargs):
        super().__init__(**kwargs)
        check_choice("activation", activation, ACTIVATIONS)
        self.filters, self.kernel_size, self.use_bias = int(filters), int(kernel_size), bool(use_bias)
        self.activation = activation

    def build(self, input_shape):
        fan_in = self.kernel_size**2 * int(input_shape[-1])
        self.weight_scale = 1.0 / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0), name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, x):
        y = tf.nn.conv2d(x, self.kernel * self.weight_scale, strides=1, padding="SAME")
        if self.use_bias:
            y = y + self.bias
        return activate(y, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "use_bias": self.use_bias, "activation": self.activation}


@keras.saving.register_keras_serializable(package="gan_zoo")
class ModulatedConv2D(keras.layers.Layer):
    """StyleGAN2's modulated convolution: inputs [x, w] with w [batch, w_dim], or ws
    [batch, num_ws, w_dim] and `w_index` choosing the layer's w.

    style s = A·w + 1 (equalized-LR affine, bias initialised to 1), weight w'ᵢⱼₖ = c·sᵢ·Wᵢⱼₖ
    (i input channel, j output channel, k tap, c = 1/√(k²·in)); demodulation divides by
    σⱼ = √(Σᵢₖ w'ᵢⱼₖ² + ε), so unit-variance inputs give unit-variance outputs. Computed without
    per-example weights: conv(x·s, c·W) / σ (the equivalent "non-fused" form of the paper)."""

    def __init__(self, filters, kernel_size=3, demodulate=True, use_bias=False, w_index=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.demodulate, self.use_bias = bool(demodulate), bool(use_bias)
        self.w_index = None if w_index is None else int(w_index)

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        channels, w_dim = int(x_shape[-1]), int(w_shape[-1])
        self.weight_scale = 1.0 / math.sqrt(self.kernel_size**2 * channels)
        self.style_scale = 1.0 / math.sqrt(w_dim)
        normal = keras.initializers.RandomNormal(stddev=1.0)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=normal, name="kernel")
        self.style_kernel = self.add_weight(shape=(w_dim, channels), initializer=normal, name="style_kernel")
        self.style_bias = self.add_weight(shape=(channels,), initializer="ones", name="style_bias")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None

    def styles(self, w):
        """s = A·w + 1 in float32, [batch, in channels]."""
        if self.w_index is not None:
            w = w[:, self.w_index]
        kernel = tf.cast(self.style_kernel, tf.float32) * self.style_scale
        return tf.matmul(tf.cast(w, tf.float32), kernel) + tf.cast(self.style_bias, tf.float32)

    def demodulation(self, styles):
        """1/σⱼ = 1/√(Σᵢₖ (c·sᵢ·Wᵢⱼₖ)² + 1e-8), [batch, out channels], float32."""
        squared = tf.reduce_sum(tf.square(tf.cast(self.kernel, tf.float32) * self.weight_scale), axis=[0, 1])
        return tf.math.rsqrt(tf.matmul(tf.square(styles), squared) + 1e-8)

    def call(self, inputs):
        x, w = inputs
        styles = self.styles(w)
        y = tf.nn.conv2d(x * tf.cast(styles[:, None, None, :], x.dtype), self.kernel * self.weight_scale,
                         strides=1, padding="SAME")
        if self.demodulate:
            y = y * tf.cast(self.demodulation(styles)[:, None, None, :], y.dtype)
        if self.use_bias:
            y = y + self.bias
        return y

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "use_bias": self.use_bias, "w_index": self.w_index}


@keras.saving.register_keras_serializable(package="gan_zoo")
class AddNoise(keras.layers.Layer):
    """Inputs [x, noise [batch, H, W, 1]] → √2·LeakyReLU(0.2)(x + strength·noise + bias), with a
    learned per-channel noise strength (StyleGAN's B) and bias, both initialised to 0."""

    def build(self, input_shape):
        channels = int(input_shape[0][-1])
        self.strength = self.add_weight(shape=(channels,), initializer="zeros", name="strength")
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")

    def call(self, inputs):
        x, noise = inputs
        return activate(x + tf.cast(noise, x.dtype) * self.strength + self.bias, "lrelu")

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="gan_zoo")
class LearnedConstant(keras.layers.Layer):
    """The synthesis input: a learned [size, size, channels] tensor (N(0, 1) init), repeated for
    each example of the batch its input carries."""

    def __init__(self, channels, size=4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.size = int(channels), int(size)
        self.constant = self.add_weight(shape=(self.size, self.size, self.channels), name="constant",
                                        initializer=keras.initializers.RandomNormal(stddev=1.0))

    def call(self, batch_like):
        return tf.tile(self.constant[None], [tf.shape(batch_like)[0], 1, 1, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package="gan_zoo")
class ConstantNoise(keras.layers.Layer):
    """A fixed noise image [size, size, 1] (N(0, 1), non-trainable) repeated over the batch: the
    noise the generator uses at sampling time, so G(z) is a deterministic function of z."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.noise = self.add_weight(shape=(self.size, self.size, 1), trainable=False, name="noise",
                                     initializer=keras.initializers.RandomNormal(stddev=1.0),
                                     aggregation="only_first_replica")

    def call(self, batch_like):
        return tf.tile(self.noise[None], [tf.shape(batch_like)[0], 1, 1, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, 1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="gan_zoo")
class TrackedMean(keras.layers.Layer):
    """Identity on w that owns w̄ (`mean`, non-trainable, initialised to 0), updated by `track`
    as w̄ ← lerp(mean of the batch's w, w̄, β) = mean + β(w̄ - mean); `truncate` is the truncation
    trick w' = w̄ + ψ(w - w̄). `mean` aggregates by mean across replicas: each replica's update
    uses its local batch mean, and the mean of those is the update with the global batch mean."""

    def __init__(self, beta=0.995, **kwargs):
        super().__init__(**kwargs)
        self.beta = float(beta)

    def build(self, input_shape):
        self.mean = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", trainable=False,
                                    aggregation="mean", name="mean")

    def call(self, w):
        return w

    def track(self, w):
        batch_mean = tf.reduce_mean(tf.cast(w, tf.float32), axis=0)
        self.mean.assign(batch_mean + self.beta * (self.mean - batch_mean))

    def truncate(self, w, psi):
        """w̄ + ψ (w - w̄); ψ a number or one value per example ([batch])."""
        mean = tf.convert_to_tensor(self.mean)
        psi = tf.convert_to_tensor(psi, tf.float32)
        if psi.shape.rank == 1:
            psi = psi[:, None]
        return mean + psi * (tf.cast(w, tf.float32) - mean)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


@keras.saving.register_keras_serializable(package="gan_zoo")
class MinibatchStddev(keras.layers.Layer):
    """Appends one feature map: the standard deviation over a group of examples, averaged over
    features and positions (Karras et al. 2018, https://arxiv.org/abs/1710.10196).

    Groups are CONSECUTIVE examples (reshape to [-1, group, ...]) and the group size is the
    largest divisor of the local batch that is ≤ `group_size`. StyleGAN2 instead groups strided
    examples (i, i + n/G, ...); with consecutive groups that divide the per-replica batch, no group
    straddles two replicas, so a MirroredStrategy step sees the same groups as one device at the
    same global batch (when `group_size` divides the per-replica batch)."""

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def group(self, batch):
        """The largest divisor of `batch` that is ≤ group_size: a Python int when the batch size is static
        (XLA needs the reshape's shape at compile time), else computed in the graph."""
        if isinstance(batch, int):
            return next(size for size in range(self.group_size, 0, -1) if batch % size == 0)
        candidates = tf.range(self.group_size, 0, -1)
        return candidates[tf.argmax(tf.cast(tf.equal(batch % candidates, 0), tf.int32))]

    def call(self, x):
        shape = [static if static is not None else dynamic for static, dynamic in zip(x.shape, tf.unstack(tf.shape(x)))]
        group = self.group(shape[0])
        grouped = tf.reshape(tf.cast(x, tf.float32), [-1, group, shape[1], shape[2], shape[3]])
        variance = tf.reduce_mean(tf.square(grouped - tf.reduce_mean(grouped, axis=1, keepdims=True)), axis=1)
        stddev = tf.reduce_mean(tf.sqrt(variance + 1e-8), axis=[1, 2, 3])  # one value per group
        # each example gets its group's value (broadcast, not tf.repeat: XLA needs the gradient's shapes static)
        feature = tf.reshape(stddev[:, None, None, None, None] * tf.ones([1, group, shape[1], shape[2], 1]),
                             [-1, shape[1], shape[2], 1])
        return tf.concat([x, tf.cast(feature, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


# --- networks ---------------------------------------------------------------------------
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
    """z [batch, latent_dim] → w [batch, w_dim]; the last layer, "w_avg", tracks w̄."""
    z = keras.Input((latent_dim,), name="z")
    x = PixelNorm(name="pixel_norm")(z)
    for layer in range(num_layers):
        x = EqualizedDense(w_dim, lr_multiplier=MAPPING_LR_MULTIPLIER, activation="lrelu", name=f"dense{layer}")(x)
    return keras.Model(z, TrackedMean(w_avg_beta, name="w_avg")(x), name=name)


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


def build_generator(latent_dim=64, image_shape=(32, 32, 1), w_dim=64, mapping_layers=4, width=64,
                    channel_base=1024, name="generator"):
    """z → images in [-1, 1]: mapping, w broadcast to every layer, synthesis with the fixed noise
    images of `ConstantNoise` layers "const_noise{i}"."""
    resolution = image_resolution(image_shape)
    mapping = build_mapping(latent_dim, w_dim, mapping_layers)
    synthesis = build_synthesis(image_shape, w_dim, width, channel_base)
    z = keras.Input((latent_dim,), name="z")
    ws = keras.layers.RepeatVector(num_style_layers(resolution), name="broadcast")(mapping(z))
    noises = [ConstantNoise(size, name=f"const_noise{i}")(ws) for i, size in enumerate(noise_sizes(resolution))]
    return keras.Model(z, synthesis([ws, *noises]), name=name)


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


# --- using a generator's parts ---------------------------------------------------------
def mapping_of(generator):
    return generator.get_layer("mapping")


def synthesis_of(generator):
    return generator.get_layer("synthesis")


def w_avg_of(generator):
    """The `TrackedMean` layer holding w̄ (`.mean`)."""
    return mapping_of(generator).get_layer("w_avg")


def broadcast(w, num_layers):
    """w [batch, w_dim] → ws [batch, num_layers, w_dim] (the same w for every layer)."""
    return tf.tile(tf.convert_to_tensor(w)[:, None], [1, num_layers, 1])


def mix(w_a, w_b, crossover, num_layers):
    """ws[:, i] = w_a if i < crossover else w_b, with one crossover per example ([batch] ints)."""
    take_a = tf.range(num_layers)[None, :] < tf.reshape(tf.cast(crossover, tf.int32), [-1, 1])
    return tf.where(take_a[:, :, None], tf.convert_to_tensor(w_a)[:, None], tf.convert_to_tensor(w_b)[:, None])


def synthesize(generator, ws, training=False):
    """Synthesis of ws with the generator's fixed noise images: deterministic in ws."""
    noises = [generator.get_layer(f"const_noise{i}")(ws) for i in range(ws.shape[1])]
    return synthesis_of(generator)([ws, *noises], training=training)


# --- the recipe -------------------------------------------------------------------------
@register_recipe("stylegan_lite", paper="Karras et al. 2019/2020, https://arxiv.org/abs/1812.04948, https://arxiv.org/abs/1912.04958")
class StyleGANLite(GAN):
    """A small StyleGAN2 (see the module docstring).

    Arguments: `w_dim` (64), `mapping_layers` (4), `width` (64: the most feature maps of any
    layer) and `channel_base` (1024: a resolution r gets min(width, channel_base / r) maps, so
    64 up to 16×16 and 32 at 32×32), `style_mixing_prob` (0.9), `r1_gamma` γ (0.01, StyleGAN2-ADA's
    CIFAR-10 value), `r1_interval` (16), `mbstd_group_size` (4), and the base class's `latent_dim`
    (64), `image_shape` ((32, 32, 1): square, side a power of two ≥ 8), `ema_decay` (0.999), `seed`.

    `generator` is z → images with fixed noise (what `sampling_generator` and the rest of the zoo
    sample); `mapping`, `synthesis` and `num_layers` expose its parts, and `sample` / `mix_styles`
    use the EMA generator's parts when there is one. Logs: `d_loss` (the logistic part),
    `g_loss`, and `r1_penalty` = E‖∇ₓD(x)‖² averaged over the R1 steps of the epoch."""

    capabilities = frozenset({SAMPLE, TRUNCATE, MIX_STYLES, TRAIN})

    loss_names = ("d_loss", "g_loss", "r1_penalty")
    optimizer_defaults = {"learning_rate": 2e-3, "beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8}
    w_avg_beta = 0.995
    # XLA compiles the step but ran it at 0.84× the graph's speed on 2 CPU cores (3983 vs 3365 ms/step at
    # 32×32, batch 64; 122 s to compile): not the default, `--xla` still asks for it
    xla_by_default = False

    @classmethod
    def fitted_data(cls, image_shape):
        """Pad to the smallest power-of-two square ≥ 8 around the images (28×28 Fashion-MNIST → 32×32
        on black): the synthesis network doubles its resolution from 4×4."""
        height, width = image_shape[:2]
        if height is None or width is None:
            return None
        side = max(8, 1 << (max(height, width) - 1).bit_length())
        return None if (height, width) == (side, side) else {"image_size": side, "crop": "pad"}

    def __init__(self, w_dim=64, mapping_layers=4, width=64, channel_base=1024, style_mixing_prob=0.9,
                 r1_gamma=0.01, r1_interval=16, mbstd_group_size=4, latent_dim=64, image_shape=(32, 32, 1),
                 ema_decay=0.999, **kwargs):
        image_resolution(image_shape)
        for arg, value in (("w_dim", w_dim), ("mapping_layers", mapping_layers), ("width", width),
                           ("channel_base", channel_base), ("r1_interval", r1_interval),
                           ("mbstd_group_size", mbstd_group_size)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}")
        if not 0.0 <= float(style_mixing_prob) <= 1.0:
            raise ValueError(f"`style_mixing_prob` must be in [0, 1]. Received: style_mixing_prob={style_mixing_prob!r}")
        check_weight("r1_gamma", r1_gamma)
        self.w_dim, self.mapping_layers = int(w_dim), int(mapping_layers)
        self.width, self.channel_base = int(width), int(channel_base)
        self.style_mixing_prob, self.r1_gamma = float(style_mixing_prob), float(r1_gamma)
        self.r1_interval, self.mbstd_group_size = int(r1_interval), int(mbstd_group_size)
        super().__init__(latent_dim=latent_dim, image_shape=image_shape, ema_decay=ema_decay, **kwargs)

    def build_generator(self):
        return build_generator(self.latent_dim, self.image_shape, self.w_dim, self.mapping_layers, self.width,
                               self.channel_base)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.width, self.channel_base, self.mbstd_group_size)

    def get_config(self):
        return {**super().get_config(), "w_dim": self.w_dim, "mapping_layers": self.mapping_layers,
                "width": self.width, "channel_base": self.channel_base, "style_mixing_prob": self.style_mixing_prob,
                "r1_gamma": self.r1_gamma, "r1_interval": self.r1_interval, "mbstd_group_size": self.mbstd_group_size}

    # --- parts ----------------------------------------------------------------------------
    @property
    def num_layers(self):
        """Style layers, i.e. ws the synthesis network reads: 1 + 2·log₂(H/4)."""
        return num_style_layers(self.image_shape[0])

    @property
    def mapping(self):
        return mapping_of(self.generator)

    @property
    def synthesis(self):
        return synthesis_of(self.generator)

    @property
    def w_avg(self):
        """w̄ of the training generator (the EMA generator holds a copy)."""
        return w_avg_of(self.generator).mean

    # --- training -------------------------------------------------------------------------
    def noise(self, local_batch):
        """Fresh N(0, 1) noise images for every style layer."""
        return [self.replica_random(tf.random.stateless_normal, local_batch, size, size, 1)
                for size in noise_sizes(self.image_shape[0])]

    def mixed_styles(self, local_batch):
        """(ws, w): ws for fresh z₁, z₂ where, with probability `style_mixing_prob` per example,
        layers ≥ crossover ~ U{1, ..., L-1} take w₂ = mapping(z₂) instead of w = mapping(z₁)."""
        w = self.mapping(self.latent(local_batch), training=True)
        w_other = self.mapping(self.latent(local_batch), training=True)
        mixing = self.uniform(local_batch) < self.style_mixing_prob
        crossover = 1 + tf.cast(tf.floor(self.uniform(local_batch) * (self.num_layers - 1)), tf.int32)
        crossover = tf.minimum(crossover, self.num_layers - 1)
        return mix(w, w_other, tf.where(mixing, crossover, self.num_layers), self.num_layers), w

    def generate(self, local_batch):
        """(G(z) with style mixing and fresh noise, the unmixed w) in training mode."""
        ws, w = self.mixed_styles(local_batch)
        return self.synthesis([ws, *self.noise(local_batch)], training=True), w

    def fake(self, local_batch, labels=None):
        return self.generate(local_batch)[0]

    def discriminator_terms(self, real, fake, r1_step):
        """L_D = softplus(D(T(G(z)))) + softplus(-D(T(x))) + [r1_step]·interval·(γ/2)·‖∇ₓD(T(x))‖²; T the
        DiffAugment policies (identity by default; R1 differentiates through T with respect to the real
        images, as StyleGAN2-ADA does); the R1 term is only computed on R1 steps (a tf.cond inside the tape)."""
        D = lambda images: self.discriminator(self.augmented(images), training=True)  # noqa: E731
        adversarial = losses.modified_discriminator_loss(D(real), D(fake))
        r1 = tf.cond(r1_step, lambda: losses.r1_penalty(D, real), lambda: tf.zeros_like(adversarial))
        loss = adversarial + (0.5 * self.r1_gamma * self.r1_interval) * r1
        return {"loss": loss, "adversarial": adversarial, "r1": r1}

    def train_step(self, data):
        """D: min E[softplus(D(G(z)))] + E[softplus(-D(x))] + [k mod interval = 0]·interval·(γ/2)·E‖∇ₓD(x)‖²
        (k counts D steps: lazy R1); G: min E[softplus(-D(G(z)))] with style mixing; then
        w̄ ← lerp(batch mean of w, w̄, 0.995) and the EMA generator."""
        real, _ = split_labels(data)
        n = batch_size(real)
        r1_step = tf.equal(self.d_optimizer.iterations % self.r1_interval, 0)
        fake = self.fake(n)
        d = self.update(self.discriminator, self.d_optimizer, lambda: self.discriminator_terms(real, fake, r1_step))
        generated = {}

        def generator_loss():
            images, generated["w"] = self.generate(n)
            return losses.modified_generator_loss(self.discriminator(self.augmented(images), training=True))

        g = self.update(self.generator, self.g_optimizer, generator_loss)
        w_avg_of(self.generator).track(generated["w"])
        self.track("r1_penalty", d["r1"], weight=tf.cast(r1_step, tf.float32))  # R1 steps only
        return self.finish_step(d_loss=d["adversarial"], g_loss=g["loss"])

    # --- sampling -------------------------------------------------------------------------
    def truncated_w(self, z, truncation=1.0):
        """w' = w̄ + ψ(mapping(z) - w̄) with the sampling generator's mapping and w̄."""
        generator = self.sampling_generator
        return w_avg_of(generator).truncate(mapping_of(generator)(z, training=False), truncation)

    def sample(self, n, seed, truncation=1.0):
        """n images in [-1, 1] (numpy, float32) from the sampling generator (EMA when kept):
        z = `stream_latents(seed, 0, n)` (recipes.latents, as `GAN.preview_inputs`), truncation
        ψ = `truncation`, the generator's fixed noise. Same seed → same images; ψ = 1 gives
        `sampling_generator(z)`, ψ = 0 gives synthesis(w̄) for every z."""
        return np.asarray(self.generate_truncated(stream_latents(seed, 0, n, self.latent_dim), truncation))

    def generate_truncated(self, z, truncation=1.0):
        """Images (tensor) of latents `z` with truncation ψ = `truncation`, from the sampling generator."""
        w = self.truncated_w(z, truncation)
        return synthesize(self.sampling_generator, broadcast(w, self.num_layers))

    def interpolate(self, z_a, z_b, fractions, labels=None, truncation=1.0):
        """Images in [-1, 1] (numpy) along the path from z_a to z_b at `fractions` in [0, 1]: linear in W after
        truncation, w = (1-t)·w'_a + t·w'_b (the path StyleGAN's perceptual path length measures, Karras
        et al. 2019 §4.2: W is learned to be flat, z is not)."""
        w_a, w_b = np.asarray(self.truncated_w(np.stack([z_a, z_b]).astype(np.float32), truncation))
        t = np.asarray(fractions, np.float32)[:, None]
        return np.asarray(synthesize(self.sampling_generator, broadcast((1 - t) * w_a + t * w_b, self.num_layers)))

    def mix_styles(self, seed_a, seed_b, crossover, truncation=1.0):
        """Style mixing: style layers i < `crossover` take w of seed_a, the others w of seed_b.

        A seed is an int or a list of ints; seed s stands for `seed_latents([s])`, the z of `sample(1, s)`. Returns
        numpy images [len(a)·len(b), H, W, C], row-major: image i·len(b) + j mixes seed_a[i]
        (coarse layers) with seed_b[j] (fine layers), a grid with len(b) columns. crossover = 0
        gives seed_b's images, crossover = `num_layers` seed_a's."""
        if isinstance(crossover, bool) or int(crossover) != crossover or not 0 <= crossover <= self.num_layers:
            raise ValueError(f"`crossover` must be an integer in [0, {self.num_layers}]. Received: crossover={crossover!r}")
        seeds_a, seeds_b = np.atleast_1d(seed_a).tolist(), np.atleast_1d(seed_b).tolist()
        w_a = tf.repeat(self.truncated_w(seed_latents(seeds_a, self.latent_dim), truncation), len(seeds_b), axis=0)
        w_b = tf.tile(self.truncated_w(seed_latents(seeds_b, self.latent_dim), truncation), [len(seeds_a), 1])
        ws = mix(w_a, w_b, tf.fill([w_a.shape[0]], int(crossover)), self.num_layers)
        return np.asarray(synthesize(self.sampling_generator, ws))
