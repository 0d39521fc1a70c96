"""CycleGAN: Zhu et al. 2017, https://arxiv.org/abs/1703.10593 — unpaired translation
between domains A and B.

Two ResNet-block generators G: A→B and F: B→A, two PatchGAN discriminators D_A, D_B,
least-squares adversarial losses, cycle consistency λ‖F(G(a)) - a‖₁ + λ‖G(F(b)) - b‖₁
(λ = 10) and identity 0.5λ(‖G(b) - b‖₁ + ‖F(a) - a‖₁); the discriminators see
generated images through a history pool of 50 (Shrivastava et al. 2017). Four
optimizers, Adam(2e-4, β1=0.5). Instance norm is GroupNormalization(groups=-1); padding
is zero ("same"), not the paper's reflection padding.
"""
import keras
import tensorflow as tf

from recipes import losses
from recipes.base import GAN, batch_size
from recipes.capabilities import TRAIN, TRANSLATE
from recipes.layers import check_image_shape
from recipes.registry import register_recipe


def instance_norm(name):
    return keras.layers.GroupNormalization(groups=-1, name=name)


def build_resnet_generator(image_shape=(28, 28, 1), width=32, num_blocks=6, name="generator"):
    """c7s1-w, d2w, d4w, R4w × num_blocks, u2w, uw, c7s1-C (tanh): images → images of the same shape."""
    image_shape = check_image_shape(image_shape)
    if image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(f"The ResNet generator downsamples twice: height and width must be divisible by 4. "
                         f"Received: image_shape={image_shape}")
    images = keras.Input(image_shape, name="images")
    x = keras.layers.ReLU()(instance_norm("c7_norm")(keras.layers.Conv2D(width, 7, padding="same", name="c7")(images)))
    for stage, filters in enumerate((2 * width, 4 * width)):
        x = keras.layers.Conv2D(filters, 3, 2, padding="same", name=f"down{stage}")(x)
        x = keras.layers.ReLU()(instance_norm(f"down{stage}_norm")(x))
    for block in range(num_blocks):
        y = keras.layers.Conv2D(4 * width, 3, padding="same", name=f"res{block}_a")(x)
        y = keras.layers.ReLU()(instance_norm(f"res{block}_a_norm")(y))
        y = instance_norm(f"res{block}_b_norm")(keras.layers.Conv2D(4 * width, 3, padding="same", name=f"res{block}_b")(y))
        x = keras.layers.Add()([x, y])
    for stage, filters in enumerate((2 * width, width)):
        x = keras.layers.Conv2DTranspose(filters, 3, 2, padding="same", name=f"up{stage}")(x)
        x = keras.layers.ReLU()(instance_norm(f"up{stage}_norm")(x))
    x = keras.layers.Conv2D(image_shape[-1], 7, padding="same", name="to_image")(x)
    return keras.Model(images, keras.layers.Activation("tanh", dtype="float32")(x), name=name)


def build_patch_discriminator(image_shape=(28, 28, 1), width=32, num_layers=2, name="discriminator"):
    """PatchGAN (Isola et al. 2017): `num_layers` stride-2 4×4 convs (instance norm after the first),
    a stride-1 conv and a 1-channel stride-1 conv: one logit per overlapping patch."""
    images = keras.Input(check_image_shape(image_shape), name="images")
    x = images
    for layer in range(num_layers + 1):
        stride = 2 if layer < num_layers else 1
        x = keras.layers.Conv2D(width * 2**layer, 4, stride, padding="same", name=f"conv{layer}")(x)
        if layer > 0:
            x = instance_norm(f"conv{layer}_norm")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    patches = keras.layers.Conv2D(1, 4, padding="same", dtype="float32", name="patch_logits")(x)
    return keras.Model(images, patches, name=name)


class ImagePool(keras.layers.Layer):
    """History of generated images (Shrivastava et al. 2017): while filling, images pass through
    and are stored; once full, each image is, with probability ½, swapped for a random stored
    one (which it replaces). Under a distribution strategy all replicas share replica 0's pool."""

    def __init__(self, size, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.size, self.image_shape = int(size), tuple(image_shape)
        self.images = self.add_weight(shape=(self.size, *self.image_shape), initializer="zeros", trainable=False,
                                      aggregation="only_first_replica", name="images")
        self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                     aggregation="only_first_replica", name="count")

    def query(self, images, uniform, indices):
        """Images to show the discriminator. `uniform` [batch] in [0, 1) decides swaps, `indices`
        [batch] in [0, size) picks the stored image (both drawn by the caller)."""
        if self.size == 0:
            return images
        if images.shape[0] is None:
            raise ValueError("CycleGAN's image pool takes batches of a known size: pass fit a tf.data.Dataset "
                             "batched with drop_remainder=True (arrays give batches of unknown size), or set "
                             "pool_size=0. Received a batch of unknown size")
        outputs = []
        for i in range(images.shape[0]):
            image = images[i]
            filling = self.count < self.size
            slot = tf.where(filling, self.count, indices[i])
            swap = tf.logical_and(tf.logical_not(filling), uniform[i] < 0.5)
            stored = self.images[slot]
            outputs.append(tf.where(swap, stored, image))
            keep_new = tf.logical_or(filling, swap)
            self.images.assign(tf.tensor_scatter_nd_update(
                self.images, [[slot]], [tf.where(keep_new, image, stored)]))
            self.count.assign(tf.minimum(self.count + 1, self.size))
        return tf.stack(outputs)


@register_recipe("cyclegan", paper="Zhu et al. 2017, https://arxiv.org/abs/1703.10593")
class CycleGAN(GAN):
    """Unpaired translation A ↔ B. `train_step` takes (images_a, images_b); `generator` is G: A→B,
    `generator_b2a` is F: B→A; `translate(images, direction)` runs either."""

    loss_names = ("g_loss", "f_loss", "d_a_loss", "d_b_loss", "cycle_loss", "identity_loss")
    capabilities = frozenset({TRANSLATE, TRAIN})  # trains on (images_a, images_b) from two domains
    # the step lowers to XLA (tested) but compiling it at the preset's size (width 16, 4 blocks, batch 16) had not
    # finished after 15 minutes on 2 busy CPU cores, and no speed-up was measured: not the default
    xla_by_default = False
    players = {"g_optimizer": ("g", ("generator",)), "f_optimizer": ("g", ("generator_b2a",)),
               "d_optimizer": ("d", ("discriminator",)), "d_a_optimizer": ("d", ("discriminator_a",))}

    def __init__(self, width=32, num_blocks=6, discriminator_width=32, discriminator_layers=2, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, **kwargs):
        kwargs["latent_dim"] = kwargs.get("latent_dim") or 1  # unused: CycleGAN translates, it draws no z
        self.width, self.num_blocks = int(width), int(num_blocks)
        self.discriminator_width, self.discriminator_layers = int(discriminator_width), int(discriminator_layers)
        self.cycle_weight, self.identity_weight, self.pool_size = float(cycle_weight), float(identity_weight), int(pool_size)
        super().__init__(**kwargs)

    def build_networks(self):
        build_g = lambda name: build_resnet_generator(self.image_shape, self.width, self.num_blocks, name)  # noqa: E731
        build_d = lambda name: build_patch_discriminator(  # noqa: E731
            self.image_shape, self.discriminator_width, self.discriminator_layers, name)
        self.generator, self.generator_b2a = build_g("generator_a2b"), build_g("generator_b2a")
        self.discriminator, self.discriminator_a = build_d("discriminator_b"), build_d("discriminator_a")
        self.pool_a = ImagePool(self.pool_size, self.image_shape, name="pool_a")
        self.pool_b = ImagePool(self.pool_size, self.image_shape, name="pool_b")

    def get_config(self):
        return {**super().get_config(), "width": self.width, "num_blocks": self.num_blocks,
                "discriminator_width": self.discriminator_width, "discriminator_layers": self.discriminator_layers,
                "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size}

    def preview_inputs(self, seed, real_batch=None):
        """A fixed batch of real images from each domain (the trainer passes its first batch)."""
        return real_batch

    def preview(self, inputs):
        """Rows: a, G(a), F(G(a)), b, F(b), G(F(b)); one column per input image."""
        a, b = inputs
        a2b, b2a = self.translate(a, "a2b"), self.translate(b, "b2a")
        rows = [a, a2b, self.translate(a2b, "b2a"), b, b2a, self.translate(b2a, "a2b")]
        return tf.concat([tf.cast(row, tf.float32) for row in rows], axis=0), a.shape[0]

    def translate(self, images, direction="a2b", training=False):
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"`direction` must be 'a2b' or 'b2a'. Received: direction={direction!r}")
        return (self.generator if direction == "a2b" else self.generator_b2a)(images, training=training)

    def pooled(self, pool, fakes):
        n = batch_size(fakes)
        indices = tf.cast(self.uniform(n) * self.pool_size, tf.int32)
        return pool.query(fakes, self.uniform(n), tf.minimum(indices, self.pool_size - 1))

    def train_step(self, data):
        """G, F: min L_GAN(G, D_B) + L_GAN(F, D_A) + λ L_cyc + 0.5λ L_id (least squares, L1);
        D_B: min ½(D_B(b) - 1)² + ½ D_B(pool(G(a)))²; D_A likewise with F(b)."""
        a, b = data
        G, F, D_A, D_B = self.generator, self.generator_b2a, self.discriminator_a, self.discriminator

        def generator_terms():
            fake_b, fake_a = G(a, training=True), F(b, training=True)
            cycle = l1(F(fake_b, training=True), a) + l1(G(fake_a, training=True), b)
            identity = l1(G(b, training=True), b) + l1(F(a, training=True), a)
            adversarial_g = losses.least_squares_generator_loss(D_B(fake_b, training=True))
            adversarial_f = losses.least_squares_generator_loss(D_A(fake_a, training=True))
            total = (adversarial_g + adversarial_f + self.cycle_weight * cycle
                     + self.identity_weight * self.cycle_weight * identity)
            terms = {"loss": total, "g": adversarial_g, "f": adversarial_f, "cycle": cycle, "identity": identity}
            return terms, {"b": fake_b, "a": fake_a}

        g, fakes = self.update_jointly(("g_optimizer", "f_optimizer"), generator_terms)
        fake_b, fake_a = self.pooled(self.pool_b, tf.stop_gradient(fakes["b"])), self.pooled(self.pool_a, tf.stop_gradient(fakes["a"]))
        d_b = self.update(D_B, self.d_optimizer, lambda: losses.least_squares_discriminator_loss(
            D_B(b, training=True), D_B(fake_b, training=True)))
        d_a = self.update(D_A, self.d_a_optimizer, lambda: losses.least_squares_discriminator_loss(
            D_A(a, training=True), D_A(fake_a, training=True)))
        return self.finish_step(g_loss=g["g"], f_loss=g["f"], d_a_loss=d_a["loss"], d_b_loss=d_b["loss"],
                                cycle_loss=g["cycle"], identity_loss=g["identity"])


def l1(x, y):
    """Per-example mean absolute error."""
    return tf.reduce_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)), axis=[1, 2, 3])
