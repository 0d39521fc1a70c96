"""Building blocks shared by the recipes' networks (DCGAN-style up/down-sampling stacks, spectral norm)."""
import keras
from keras import ops

NORMS = ("batch", "sync_batch", "layer", "none")
# discriminators may also normalise their weights instead of their activations
DISCRIMINATOR_NORMS = (*NORMS, "spectral")


def check_choice(name, value, accepted):
    """Raise a ValueError naming the argument, the value and what is accepted."""
    if value not in accepted:
        raise ValueError(f"`{name}` must be one of {list(accepted)}. Received: {name}={value!r}")


def check_weight(name, value):
    """A loss weight (λ, γ): a finite number ≥ 0, as a float; a negative one would reward what it penalises."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"`{name}` must be a finite number ≥ 0. Received: {name}={value!r}")
    return float(value)


def check_image_shape(image_shape):
    """Validate (H, W, C) and return it as a tuple of ints."""
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"`image_shape` must be (height, width, channels). Received: image_shape={image_shape!r}")
    return shape


def num_doublings(image_shape):
    """How many stride-2 stages lead from a ≥4-pixel base to (H, W): 28 → 2 (7·2·2), 32 → 3, 64 → 4."""
    height, width = image_shape[:2]
    doublings = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
        height, width, doublings = height // 2, width // 2, doublings + 1
    if doublings < 1:
        raise ValueError(
            "DCGAN-style networks need height and width divisible by 2 with a base of at least 4 pixels "
            f"(e.g. 28, 32, 64). Received: image_shape={tuple(image_shape)}"
        )
    return doublings


def normalization(norm, name):
    """A normalisation layer by name: batch norm, synchronized (cross-replica) batch norm,
    layer norm over (H, W, C), or identity (also for "spectral", which normalises weights instead)."""
    check_choice("norm", norm, DISCRIMINATOR_NORMS)
    if norm == "batch":
        return BatchNormalization(name=name)
    if norm == "sync_batch":
        return keras.layers.BatchNormalization(synchronized=True, name=name)
    if norm == "layer":
        return keras.layers.LayerNormalization(axis=[-3, -2, -1], name=name)
    return keras.layers.Identity(name=name)


# TensorFlow's fused kernel raises a smaller epsilon to this (cuDNN's minimum): below it, the layer is Keras's
_FUSED_MIN_EPSILON = 1.001e-5


@keras.saving.register_keras_serializable(package="gan_zoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose training step runs TensorFlow's fused kernel: the same layer,
    weights and numbers (to float rounding), several times fewer ops.

    Keras 3 normalises a batch with ~10 small ops per layer and as many again for the gradient (`Mean`,
    `SquaredDifference`, `Mul`, `Sum`, `Tile`, ...); under mixed_bfloat16 it also casts the input up to float32
    and the output back. In training (`training=True`, a trainable layer) on the TensorFlow backend, with a
    4-D channels-last input (`axis=-1`) in float32, bfloat16 or float16, this layer computes the batch moments
    and the normalisation with one `FusedBatchNormV3` (oneDNN's on CPU; cuDNN's on GPU) and its gradient with one
    `FusedBatchNormGradV3`, on the input in its own dtype (the kernel accumulates in float32: no casts). The
    moving statistics are updated as Keras does, with the *biased* batch variance
    (`moving = moving · momentum + batch · (1 - momentum)`): the kernel returns the Bessel-corrected variance
    n/(n-1)·σ², which is scaled back by (n-1)/n. Inference and every other case (masks, synchronized, renorm,
    other ranks or axes, epsilon below the kernel's 1.001e-5, other backends) is Keras's own `call`, unchanged.

    Named `BatchNormalization` on purpose: Keras addresses a layer's weights in `.weights.h5` files by its class
    name (`layers/batch_normalization_1/vars/0`), so weights saved from Keras's layer load into this one.
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        scale = ops.cast(self.gamma, "float32") if self.scale else tf.ones([channels], "float32")
        offset = ops.cast(self.beta, "float32") if self.center else tf.zeros([channels], "float32")
        outputs, mean, corrected_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True)
        count = tf.cast(tf.size(inputs, out_type=tf.int64) // channels, "float32")  # n: examples × pixels
        variance = corrected_variance * ((count - 1.0) / count)  # n = 1: both 0
        moving_mean = ops.cast(self.moving_mean, "float32")
        moving_variance = ops.cast(self.moving_variance, "float32")
        self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)

    def _fusable(self, inputs, mask):
        return (keras.backend.backend() == "tensorflow" and mask is None and not self.synchronized
                and not self.renorm and len(inputs.shape) == 4 and self.axis in (-1, 3)
                and self.epsilon >= _FUSED_MIN_EPSILON
                and keras.backend.standardize_dtype(inputs.dtype) in ("float32", "bfloat16", "float16"))


def upsampling_stack(x, image_shape, width, norm):
    """DCGAN generator trunk (Radford et al. 2015, https://arxiv.org/abs/1511.06434):
    dense → (h₀, w₀, width·2^(k-1)) → k stride-2 transposed convs with norm + ReLU,
    the last to the image channels with tanh (in float32 under mixed precision)."""
    doublings = num_doublings(image_shape)
    height, width_px, channels = image_shape
    base_h, base_w = height >> doublings, width_px >> doublings
    filters = width * 2 ** (doublings - 1)
    x = keras.layers.Dense(base_h * base_w * filters, use_bias=norm == "none", name="project")(x)
    x = keras.layers.Reshape((base_h, base_w, filters))(x)
    x = keras.layers.ReLU()(normalization(norm, "project_norm")(x))
    for stage in range(doublings - 1):
        filters //= 2
        x = keras.layers.Conv2DTranspose(filters, 4, 2, padding="same", use_bias=norm == "none", name=f"up{stage}")(x)
        x = keras.layers.ReLU()(normalization(norm, f"up{stage}_norm")(x))
    x = keras.layers.Conv2DTranspose(channels, 4, 2, padding="same", name="to_image")(x)
    return keras.layers.Activation("tanh", dtype="float32", name="tanh")(x)


def downsampling_stack(images, image_shape, width, norm):
    """DCGAN discriminator trunk: k stride-2 4×4 convs (width·2^i filters) with
    LeakyReLU(0.2), norm on all but the first (`spectral`: every conv spectrally normalised), then flatten."""
    conv = SpectralConv2D if norm == "spectral" else keras.layers.Conv2D
    x = images
    for stage in range(num_doublings(image_shape)):
        x = conv(width * 2**stage, 4, 2, padding="same", name=f"down{stage}")(x)
        if stage > 0:
            x = normalization(norm, f"down{stage}_norm")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    return keras.layers.Flatten()(x)


def logit_layer(norm, name="logit", units=1):
    """The discriminator's final Dense(units) (one logit, or one per class) in float32, spectrally normalised
    with a `spectral` trunk."""
    return (SpectralDense if norm == "spectral" else keras.layers.Dense)(units, dtype="float32", name=name)


MINIBATCH_KERNEL_DIM = 5  # C of minibatch discrimination: Salimans et al.'s code uses 5 (with B = 100 kernels)


@keras.saving.register_keras_serializable(package="gan_zoo")
class MinibatchDiscrimination(keras.layers.Layer):
    """Minibatch discrimination (Salimans et al. 2016, https://arxiv.org/abs/1606.03498, section 3.2): features
    f(x_i) ∈ R^A times a learned tensor T ∈ R^{A×B×C} give M_i ∈ R^{B×C}; c_b(x_i, x_j) = exp(-‖M_{i,b} - M_{j,b}‖_L1)
    and o(x_i)_b = Σ_j c_b(x_i, x_j) over the batch (j = i included: c_b = 1); the output is [f(x_i), o(x_i)]
    ([batch, A + B]). B = `num_kernels`, C = `kernel_dim`; T starts N(0, 0.05²).

    The batch is the one the layer is called on: under MirroredStrategy each replica's own examples (per-replica
    batch, as batch norm's statistics), so a step on two replicas differs from one device's at the same global
    batch."""

    def __init__(self, num_kernels, kernel_dim=MINIBATCH_KERNEL_DIM, **kwargs):
        super().__init__(**kwargs)
        self.num_kernels, self.kernel_dim = int(num_kernels), int(kernel_dim)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.num_kernels, self.kernel_dim), name="kernel",
                                      initializer=keras.initializers.RandomNormal(stddev=0.05))

    def call(self, features):
        kernel = ops.reshape(ops.cast(self.kernel, features.dtype), (features.shape[-1], -1))
        m = ops.reshape(ops.matmul(features, kernel), (-1, self.num_kernels, self.kernel_dim))  # [n, B, C]
        distances = ops.sum(ops.abs(m[:, None] - m[None, :]), axis=-1)  # [n, n, B]: ‖M_{i,b} - M_{j,b}‖_L1
        return ops.concatenate([features, ops.sum(ops.exp(-distances), axis=1)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_kernels)

    def get_config(self):
        return {**super().get_config(), "num_kernels": self.num_kernels, "kernel_dim": self.kernel_dim}


def spectral_normalize(kernel, singular_vector):
    """(W / σ(W), u'): one power iteration (Miyato et al. 2018, https://arxiv.org/abs/1802.05957, Alg. 1)
    on W reshaped to [fan_in, units]:  v = Wu / ‖Wu‖,  u' = Wᵀv / ‖Wᵀv‖,  σ(W) ≈ vᵀWu'.
    u' and v are constants for the gradient; W receives the gradient through σ as in the paper."""
    matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))
    v = ops.stop_gradient(_unit(ops.matmul(matrix, singular_vector)))
    u = ops.stop_gradient(_unit(ops.matmul(ops.transpose(matrix), v)))
    sigma = ops.sum(v * ops.matmul(matrix, u))
    return kernel / sigma, u


def normalized_weight(kernel, singular_vector, training, dtype):
    """W/σ(W) in `dtype`, the power iteration in float32 from the stored u (`spectral_normalize`), which a
    `training` call advances (inference keeps it)."""
    kernel, u = spectral_normalize(ops.cast(kernel, "float32"), singular_vector)
    if training:
        singular_vector.assign(u)
    return ops.cast(kernel, dtype)


def _unit(x, epsilon=1e-12):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


class SpectralNormalized:
    """Mixin for layers with a `kernel`: the layer computes with W / σ(W), σ the largest singular
    value by power iteration. The vector u is a non-trainable weight advanced one power iteration per
    training call (identically on every replica, so the first replica's copy is kept); inference uses
    the stored u without advancing it. Unlike `keras.layers.SpectralNormalization`, the stored kernel
    is never overwritten: the optimizer updates W and σ(W) is part of the differentiated function."""

    def build(self, input_shape):
        super().build(input_shape)
        self.singular_vector = self.add_weight(
            shape=(self._kernel.shape[-1], 1), initializer=keras.initializers.RandomNormal(seed=0), trainable=False,
            name="singular_vector", aggregation="only_first_replica")

    # every variable in order (kernel, bias, singular vector): Dense/Conv's own savers only know kernel and bias
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    def normalized_kernel(self, training):
        return normalized_weight(self._kernel, self.singular_vector, training, self.compute_dtype)


    def bias_and_activation(self, outputs):
        if self.use_bias:
            outputs = ops.add(outputs, ops.cast(self.bias, outputs.dtype))
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="gan_zoo")
class SpectralConv2D(SpectralNormalized, keras.layers.Conv2D):
    """Conv2D with a spectrally normalised kernel (Miyato et al. 2018)."""

    def call(self, inputs, training=False):
        return self.bias_and_activation(self.convolution_op(inputs, self.normalized_kernel(training)))


@keras.saving.register_keras_serializable(package="gan_zoo")
class SpectralDense(SpectralNormalized, keras.layers.Dense):
    """Dense with a spectrally normalised kernel (Miyato et al. 2018)."""

    def call(self, inputs, training=False):
        return self.bias_and_activation(ops.matmul(inputs, self.normalized_kernel(training)))


# --- residual networks of SNGAN (Miyato et al. 2018, https://arxiv.org/abs/1802.05957, Appendix B.4) -------------
# The block convolutions start as the authors' code does (Glorot uniform with gain √2; shortcuts and the rest gain 1)
RESIDUAL_INITIALIZER = {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform"}


def class_conditional_normalization(x, labels, num_classes, norm, name):
    """`normalization(norm, name)` of x; with `labels`, conditional batch norm (de Vries et al. 2017,
    https://arxiv.org/abs/1707.00683, the projection-discriminator paper's generator: Miyato & Koyama 2018,
    https://arxiv.org/abs/1802.05637): γ_y ⊙ x̂ + β_y, x̂ the normalised x without its own scale and offset,
    γ_y, β_y row y of two [num_classes, C] embeddings started at 1 and 0 (every class starts as plain batch norm)."""
    layer = normalization(norm, name)
    if labels is None:
        return layer(x)
    check_choice("norm", norm, NORMS)
    layer.center = layer.scale = False  # before it is built: the class's γ_y, β_y are its scale and offset
    channels = x.shape[-1]
    gamma, beta = (keras.layers.Reshape((1, 1, channels))(keras.layers.Embedding(
        num_classes, channels, embeddings_initializer=init, name=f"{name}_{role}")(labels))
        for role, init in (("gamma", "ones"), ("beta", "zeros")))
    return keras.layers.Add()([keras.layers.Multiply()([layer(x), gamma]), beta])


def linear_conditional_normalization(x, condition, norm, name):
    """BigGAN's conditional batch norm (Brock et al. 2018, https://arxiv.org/abs/1809.11096, section 3 and
    Appendix B): x̂ ⊙ (1 + W_γ c) + W_β c, x̂ the normalised x without its own scale and offset, c [batch, D] the
    condition (the shared class embedding concatenated with a chunk of z), W_γ, W_β spectrally normalised linear maps
    D → C without bias (the authors' code), so a zero condition gives plain normalisation."""
    check_choice("norm", norm, NORMS)
    layer = normalization(norm, name)
    layer.center = layer.scale = False  # before it is built: the condition's gain and bias replace them
    channels = x.shape[-1]
    gain, bias = (keras.layers.Reshape((1, 1, channels))(SpectralDense(channels, use_bias=False, name=f"{name}_{role}")(
        condition)) for role in ("gain", "bias"))
    normalized = layer(x)
    return keras.layers.Add()([normalized, keras.layers.Multiply()([normalized, gain]), bias])


@keras.saving.register_keras_serializable(package="gan_zoo")
class NearestUpSampling2D(keras.layers.Layer):
    """×2 nearest-neighbour up-sampling, [batch, H, W, C] → [batch, 2H, 2W, C], each pixel a 2×2 block (the values of
    keras.layers.UpSampling2D(2)) as one resize to the static size 2H × 2W. UpSampling2D repeats along each axis,
    which leaves the height unknown after the first block: TFLite's converter then could not lower the next block's
    convolutions (SNGAN's, SAGAN's and BigGAN's generators at 16×16 and above failed to export). Each pixel is
    broadcast over its 2×2 block by a product with ones, then reshaped to the static size: an image resize would
    export too, but its gradient (ResizeNearestNeighborGrad) has no XLA kernel, and the train step must compile."""

    def call(self, x):
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        blocks = x[:, :, None, :, None, :] * ops.ones((1, 1, 2, 1, 2, 1), dtype=x.dtype)
        return ops.reshape(blocks, (-1, 2 * height, 2 * width, channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[1], 2 * input_shape[2], input_shape[3])


def generator_residual_block(x, filters, norm, name, labels=None, num_classes=None, spectral=False, normalize=None):
    """SNGAN's up-sampling generator block: x ↑ + conv3×3(ReLU(BN(conv3×3(ReLU(BN(x)) ↑)))), ↑ nearest-neighbour
    ×2; the shortcut a 1×1 conv of x ↑ (the channels change). BN: `normalize(x, name)` when given (BigGAN's
    `linear_conditional_normalization`), else `class_conditional_normalization` (conditional with `labels`).
    `spectral`: every conv spectrally normalised (SAGAN's and BigGAN's generators)."""
    if normalize is None:
        normalize = lambda h, norm_name: class_conditional_normalization(  # noqa: E731
            h, labels, num_classes, norm, norm_name)
    residual = keras.initializers.VarianceScaling(**RESIDUAL_INITIALIZER)
    conv = SpectralConv2D if spectral else keras.layers.Conv2D
    h = keras.layers.ReLU()(normalize(x, f"{name}_norm1"))
    h = conv(filters, 3, padding="same", kernel_initializer=residual, name=f"{name}_conv1")(NearestUpSampling2D()(h))
    h = keras.layers.ReLU()(normalize(h, f"{name}_norm2"))
    h = conv(filters, 3, padding="same", kernel_initializer=residual, name=f"{name}_conv2")(h)
    shortcut = conv(filters, 1, name=f"{name}_shortcut")(NearestUpSampling2D()(x))
    return keras.layers.Add()([h, shortcut])


def discriminator_residual_block(x, filters, name, downsample, first=False):
    """SNGAN's discriminator block, every conv spectrally normalised: conv3×3(ReLU(conv3×3(ReLU(x)))) [avg-pooled
    ×½] + shortcut, the shortcut x itself when neither size nor channels change, else pool(conv1×1(x)).
    `first`: the "optimized" block on the image (no ReLU before the first conv; shortcut conv1×1(pool(x)))."""
    residual = keras.initializers.VarianceScaling(**RESIDUAL_INITIALIZER)
    pool = keras.layers.AveragePooling2D(2) if downsample else keras.layers.Identity()
    h = x if first else keras.layers.ReLU()(x)
    h = SpectralConv2D(filters, 3, padding="same", kernel_initializer=residual, name=f"{name}_conv1")(h)
    h = SpectralConv2D(filters, 3, padding="same", kernel_initializer=residual, name=f"{name}_conv2")(
        keras.layers.ReLU()(h))
    h = pool(h)
    if first:
        shortcut = SpectralConv2D(filters, 1, name=f"{name}_shortcut")(keras.layers.AveragePooling2D(2)(x))
    elif downsample or x.shape[-1] != filters:
        shortcut = pool(SpectralConv2D(filters, 1, name=f"{name}_shortcut")(x))
    else:
        shortcut = x
    return keras.layers.Add()([h, shortcut])


def projection_logit(features, labels, num_classes, name="projection"):
    """The projection discriminator's output (Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637, eq. 3):
    ψ(φ(x)) + embed(y)ᵀφ(x), ψ the spectral `logit_layer` and embed(y) = onehot(y)ᵀV with V [num_classes, C]
    spectrally normalised too (the authors' SNEmbedID); `labels` None: ψ(φ(x)) alone. In float32."""
    logit = logit_layer("spectral")(features)
    if labels is None:
        return logit
    one_hot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name=f"{name}_one_hot")(labels)
    embedded = SpectralDense(features.shape[-1], use_bias=False, name=f"{name}_embedding")(one_hot)
    projection = keras.layers.Dot(axes=1, dtype="float32", name=name)([embedded, features])
    return keras.layers.Add(dtype="float32")([logit, projection])


@keras.saving.register_keras_serializable(package="gan_zoo")
class GlobalSumPooling2D(keras.layers.Layer):
    """[batch, H, W, C] → [batch, C], the sum over the pixels (SNGAN's, SAGAN's and BigGAN's discriminators)."""

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="gan_zoo")
class SelfAttention(keras.layers.Layer):
    """SAGAN's self-attention layer (Zhang et al. 2018, https://arxiv.org/abs/1805.08318, eq. 1–3) over the N = H·W
    positions of x [batch, H, W, C]: f(x) = W_f x, g(x) = W_g x (C/8 channels), h(x) = W_h x (C/2 channels);
    s_ij = f(x_i)ᵀg(x_j), β_j,i = exp(s_ij) / Σ_i exp(s_ij) (how much position j attends to position i),
    o_j = W_v Σ_i β_j,i h(x_i) (W_v: C/2 → C channels), y = γ·o + x with γ a learned scalar started at 0 (the
    network first relies on local features). The W are the paper's 1×1 convolutions, held as [C_in, C_out]
    matrices (`{name}_kernel`), without bias, spectrally normalised (one power iteration per training call).

    h keeps C/2 channels and W_v brings them back to C as the authors' code does (the paper's text takes C/8 for h
    too); unlike that code, the keys and values are not max-pooled (the paper's formula: all N positions). At
    least one channel each. The softmax is taken in float32 under mixed precision."""

    def build(self, input_shape):
        channels = input_shape[-1]
        narrow, half = max(1, channels // 8), max(1, channels // 2)
        for name, shape in {"f": (channels, narrow), "g": (channels, narrow), "h": (channels, half),
                            "v": (half, channels)}.items():
            setattr(self, f"{name}_kernel", self.add_weight(shape=shape, initializer="glorot_uniform",
                                                            name=f"{name}_kernel"))
            setattr(self, f"{name}_singular_vector", self.add_weight(
                shape=(shape[1], 1), initializer=keras.initializers.RandomNormal(seed=0), trainable=False,
                name=f"{name}_singular_vector", aggregation="only_first_replica"))
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def normalized(self, name, training):
        """W_name / σ(W_name) in the compute dtype."""
        return normalized_weight(getattr(self, f"{name}_kernel"), getattr(self, f"{name}_singular_vector"),
                                 training, self.compute_dtype)

    def attention_map(self, x, training=False):
        """β [batch, N, N] for features x [batch, H, W, C]: row j holds the weights position j gives every position
        i (positions in row-major order, i = row·W + column); each row sums to 1."""
        return self.attend(x, training)[0]

    def attend(self, x, training):
        """(β [batch, N, N], h(x) [batch, N, C/2])."""
        positions = ops.reshape(x, (-1, x.shape[1] * x.shape[2], x.shape[3]))  # row i: x_i
        f, g, h = (ops.matmul(positions, self.normalized(name, training)) for name in "fgh")
        # [batch, j, i]: s_ij = f(x_i)ᵀg(x_j); not matmul(g, transpose(f)), whose transpose tf2onnx turned into a
        # wrong reshape when f has one channel (ONNX files then failed in onnxruntime)
        scores = ops.einsum("bjc,bic->bji", g, f)
        return ops.cast(ops.softmax(ops.cast(scores, "float32"), axis=-1), x.dtype), h

    def call(self, x, training=False):
        beta, h = self.attend(x, training)
        o = ops.matmul(ops.matmul(beta, h), self.normalized("v", training))  # row j: W_v Σ_i β_j,i h(x_i)
        return x + ops.cast(self.gamma, x.dtype) * ops.reshape(o, (-1, *x.shape[1:]))

    def compute_output_shape(self, input_shape):
        return input_shape


def orthogonal_penalty(kernel):
    """‖WᵀW ⊙ (1 − I)‖²_F, BigGAN's "off-diagonal" orthogonal regularisation without its β (Brock et al. 2018,
    https://arxiv.org/abs/1809.11096, eq. 3): W the kernel as a [fan_in, units] matrix (a conv's [kh, kw, in, out]
    reshaped), so WᵀW holds the dot products of the units' filters and the penalty is their squared off-diagonal
    sum; the filters' norms are free. In float32."""
    matrix = ops.reshape(ops.cast(kernel, "float32"), (-1, kernel.shape[-1]))
    gram = ops.matmul(ops.transpose(matrix), matrix)
    return ops.sum(ops.square(gram * (1.0 - ops.eye(kernel.shape[-1], dtype="float32"))))
