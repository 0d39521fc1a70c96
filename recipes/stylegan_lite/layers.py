"""StyleGAN-lite's custom layers: equalized learning rate (Karras et al. 2018, https://arxiv.org/abs/1710.10196),
StyleGAN2's modulated convolution, per-pixel noise, the learned constant input, the fixed sampling noise, the
tracked mean w̄ and minibatch standard deviation. Every layer is Keras-serializable as "gan_zoo>ClassName"."""
import math

import keras
import tensorflow as tf

from recipes.layers import check_choice

ACTIVATIONS = ("linear", "lrelu")


def activate(x, activation):
    """'lrelu': √2·LeakyReLU(0.2)(x), StyleGAN's activation with the gain that keeps unit-variance
    inputs at unit second moment; 'linear': x."""
    if activation == "lrelu":
        return tf.nn.leaky_relu(x, 0.2) * tf.cast(math.sqrt(2.0), x.dtype)
    return x


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

