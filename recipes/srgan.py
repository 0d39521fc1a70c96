"""SRGAN: Ledig et al. 2017, https://arxiv.org/abs/1609.04802 — single-image super-resolution.

SRResNet generator (9×9 conv + PReLU, residual blocks conv-BN-PReLU-conv-BN, a long skip,
sub-pixel upsampling ×2 per stage, 9×9 conv to the image with tanh); VGG-style
discriminator (3×3 convs alternating stride 1 and 2 with BN + LeakyReLU(0.2), dense,
one logit). The generator's loss is a content loss, the MSE between feature maps φ of the
super-resolved and the real high-resolution image, plus 10⁻³ times the non-saturating
adversarial loss. The first `warmup_steps` generator steps train SRResNet alone on pixel
MSE (the paper's initialisation); the discriminator does not move then.

The recipe trains on high-resolution images only: the low-resolution inputs are made in
`train_step` by antialiased bicubic downsampling (`downscale`), as the paper does.
"""
import copy

import keras
import tensorflow as tf

from recipes import losses
from recipes.base import GAN, split_labels
from recipes.capabilities import TRAIN, UPSCALE
from recipes.layers import check_choice, check_image_shape, normalization
from recipes.registry import register_recipe


def downscale(images, factor):
    """HR → LR: antialiased bicubic resize by 1/factor (H and W divisible by factor), clipped to [-1, 1]."""
    height, width = images.shape[1] // factor, images.shape[2] // factor
    small = tf.image.resize(tf.cast(images, tf.float32), [height, width], method="bicubic", antialias=True)
    return tf.clip_by_value(small, -1.0, 1.0)


@keras.saving.register_keras_serializable(package="gan_zoo")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel convolution's rearrangement (Shi et al. 2016, https://arxiv.org/abs/1609.05158):
    [n, h, w, c·r²] → [n, h·r, w·r, c], output[i·r + a, j·r + b, k] = input[i, j, (a·r + b)·c + k]."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        scale = lambda d: None if d is None else d * self.factor
        return n, scale(h), scale(w), c // self.factor**2

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def prelu(name):
    return keras.layers.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.Constant(0.25), name=name)


def upsampling_stages(scale):
    """log₂(scale) for scale in 2, 4, 8, ...; anything else is refused."""
    stages = int(scale).bit_length() - 1
    if int(scale) < 2 or 2**stages != int(scale):
        raise ValueError(f"`scale` must be a power of two ≥ 2 (2, 4, 8). Received: scale={scale!r}")
    return stages


SR_NORMS = ("batch", "sync_batch")  # the paper's batch norm; sync_batch: one normalisation across replicas


def build_srresnet(channels=1, scale=4, width=32, num_blocks=4, name="generator", norm="batch"):
    """LR images [n, h, w, C] in [-1, 1] → SR images [n, scale·h, scale·w, C]; fully convolutional
    (any h, w). `norm`: "batch" or "sync_batch" (the same on one device)."""
    lr = keras.Input((None, None, channels), name="low_resolution")
    head = prelu("head_prelu")(keras.layers.Conv2D(width, 9, padding="same", name="head")(lr))
    x = head
    for block in range(num_blocks):
        y = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"res{block}_a")(x)
        y = prelu(f"res{block}_prelu")(normalization(norm, f"res{block}_a_norm")(y))
        y = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"res{block}_b")(y)
        x = keras.layers.Add()([x, normalization(norm, f"res{block}_b_norm")(y)])
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name="trunk")(x)
    x = keras.layers.Add()([head, normalization(norm, "trunk_norm")(x)])
    for stage in range(upsampling_stages(scale)):
        x = keras.layers.Conv2D(4 * width, 3, padding="same", name=f"up{stage}")(x)
        x = prelu(f"up{stage}_prelu")(PixelShuffle(2, name=f"up{stage}_shuffle")(x))
    x = keras.layers.Conv2D(channels, 9, padding="same", name="to_image")(x)
    return keras.Model(lr, keras.layers.Activation("tanh", dtype="float32", name="tanh")(x), name=name)


def build_vgg_discriminator(image_shape=(28, 28, 1), width=32, num_stages=2, dense_units=256, name="discriminator",
                            norm="batch"):
    """HR images → one logit. Stage i: 3×3 conv (width·2^i, stride 1) and 3×3 conv (stride 2),
    BN + LeakyReLU(0.2) (no BN on the very first conv), then dense + LeakyReLU and a dense logit."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    x = images
    for stage in range(num_stages):
        for stride in (1, 2):
            x = keras.layers.Conv2D(width * 2**stage, 3, stride, padding="same", name=f"conv{stage}_s{stride}")(x)
            if stage or stride == 2:
                x = normalization(norm, f"conv{stage}_s{stride}_norm")(x)
            x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(dense_units, name="dense")(keras.layers.Flatten()(x)))
    return keras.Model(images, keras.layers.Dense(1, dtype="float32", name="logit")(x), name=name)


@register_recipe("srgan", paper="Ledig et al. 2017, https://arxiv.org/abs/1609.04802")
class SRGAN(GAN):
    """4× (`scale`) super-resolution GAN. `image_shape` is the high-resolution training shape.
    `content_network` maps images in [-1, 1] to a feature map φ for the content loss (frozen;
    None: pixel MSE, i.e. SRResNet with an adversarial term); its weights are saved with the
    recipe. `upscale(lr_images)` super-resolves images of any size."""

    loss_names = ("d_loss", "g_loss", "content_loss", "adversarial_loss", "pixel_mse")
    optimizer_defaults = {"learning_rate": 1e-4, "beta_1": 0.9, "beta_2": 0.999}
    capabilities = frozenset({UPSCALE, TRAIN})
    xla_compatible = False  # the antialiased bicubic HR → LR resize (ScaleAndTranslate) has no XLA kernel

    def __init__(self, scale=4, width=32, num_blocks=4, discriminator_width=32, discriminator_stages=2,
                 discriminator_dense=256, content_network=None, content_weight=1.0, adversarial_weight=1e-3,
                 warmup_steps=1000, norm="batch", **kwargs):
        kwargs.pop("latent_dim", None)  # SR takes images, not latents
        upsampling_stages(scale)
        check_choice("norm", norm, SR_NORMS)
        self.norm = norm
        if int(warmup_steps) < 0:
            raise ValueError(f"`warmup_steps` must be ≥ 0. Received: warmup_steps={warmup_steps!r}")
        self.scale, self.width, self.num_blocks = int(scale), int(width), int(num_blocks)
        self.discriminator_width, self.discriminator_stages = int(discriminator_width), int(discriminator_stages)
        self.discriminator_dense = int(discriminator_dense)
        self.content_weight, self.adversarial_weight = float(content_weight), float(adversarial_weight)
        self.warmup_steps = int(warmup_steps)
        super().__init__(latent_dim=1, **kwargs)
        if isinstance(content_network, dict):
            content_network = keras.saving.deserialize_keras_object(copy.deepcopy(content_network))  # it pops keys
        if content_network is not None:
            content_network.trainable = False
        self.content_network = content_network
        height, width_px = self.image_shape[:2]
        if height % self.scale or width_px % self.scale:
            raise ValueError(f"High-resolution height and width must be divisible by scale={self.scale}. "
                             f"Received: image_shape={self.image_shape}")

    def build_generator(self):
        return build_srresnet(self.image_shape[-1], self.scale, self.width, self.num_blocks, norm=self.norm)

    def build_discriminator(self):
        return build_vgg_discriminator(self.image_shape, self.discriminator_width, self.discriminator_stages,
                                       self.discriminator_dense, norm=self.norm)

    def get_config(self):
        config = {key: value for key, value in super().get_config().items() if key != "latent_dim"}
        content = None if self.content_network is None else keras.saving.serialize_keras_object(self.content_network)
        return {**config, "scale": self.scale, "width": self.width, "num_blocks": self.num_blocks,
                "discriminator_width": self.discriminator_width, "discriminator_stages": self.discriminator_stages,
                "discriminator_dense": self.discriminator_dense, "content_network": content,
                "content_weight": self.content_weight, "adversarial_weight": self.adversarial_weight,
                "warmup_steps": self.warmup_steps, "norm": self.norm}

    def step_input_shapes(self, name):
        """The generator sees the low-resolution crops of the high-resolution training images."""
        if name != "generator":
            return super().step_input_shapes(name)
        height, width, channels = self.image_shape
        return [(height // self.scale, width // self.scale, channels)]

    def upscale(self, low_resolution, training=False):
        """LR images in [-1, 1] (any size) → SR images, `scale`× larger."""
        return self.sampling_generator(low_resolution, training=training)

    def preview_inputs(self, seed, real_batch=None):
        """A fixed batch of real HR images (the trainer passes its first batch)."""
        return real_batch[0] if isinstance(real_batch, (tuple, list)) else real_batch

    def preview(self, high_resolution):
        """Rows: LR (nearest-neighbour enlarged), bicubic, SR, HR; one column per image."""
        size = high_resolution.shape[1:3]
        low = downscale(high_resolution, self.scale)
        rows = [tf.image.resize(low, size, method="nearest"),
                tf.clip_by_value(tf.image.resize(low, size, method="bicubic"), -1.0, 1.0),
                self.upscale(low), high_resolution]
        return tf.concat([tf.cast(row, tf.float32) for row in rows], axis=0), high_resolution.shape[0]

    def content_loss(self, sr, hr):
        """Per-example mean (φ(SR) - φ(HR))²; pixel MSE without a content network."""
        if self.content_network is None:
            return squared_error(sr, hr)
        return squared_error(self.content_network(sr, training=False), self.content_network(hr, training=False))

    def train_step(self, data):
        """a = [generator step ≥ warmup_steps] (0 while SRResNet warms up, then 1).
        D: min a·(-log σ(D(HR)) - log(1 - σ(D(G(LR)))));
        G: min (1 - a)·MSE(G(LR), HR) + a·(content_weight·‖φ(G(LR)) - φ(HR)‖² + 10⁻³·(-log σ(D(G(LR)))))."""
        hr, _ = split_labels(data)
        lr = downscale(hr, self.scale)
        G, D = self.generator, self.discriminator
        adversarial = tf.cast(self.g_optimizer.iterations >= self.warmup_steps, tf.float32)
        d = self.update(D, self.d_optimizer, lambda: adversarial * losses.modified_discriminator_loss(
            D(hr, training=True), D(G(lr, training=True), training=True)))

        def generator_terms():
            sr = G(lr, training=True)
            mse = squared_error(sr, hr)
            content = self.content_loss(sr, hr)
            fooling = losses.modified_generator_loss(D(sr, training=True))
            total = (1.0 - adversarial) * mse + adversarial * (self.content_weight * content
                                                               + self.adversarial_weight * fooling)
            return {"loss": total, "content": content, "adversarial": fooling, "mse": mse}

        g = self.update(G, self.g_optimizer, generator_terms)
        return self.finish_step(d_loss=d["loss"], g_loss=g["loss"], content_loss=g["content"],
                                adversarial_loss=g["adversarial"], pixel_mse=g["mse"])


def squared_error(x, y):
    """Per-example mean squared difference."""
    difference = tf.cast(x, tf.float32) - tf.cast(y, tf.float32)
    return tf.reduce_mean(tf.square(difference), axis=list(range(1, difference.shape.rank)))
