"""DiffAugment: differentiable augmentations applied to every image the discriminator sees.

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(https://arxiv.org/abs/2006.10738): the same random transformation family T is applied to real
and generated images, in the discriminator's step (D(T(x)), D(T(G(z)))) and in the generator's
step (D(T(G(z)))), so D cannot memorise the few real images and G still receives gradients
through T. Each image of a batch gets its own draw. Policies (images in [-1, 1], NHWC), always
applied in this order whatever order they are named in:

- ``color``: brightness x + (b - ½), saturation m_c + (x - m_c)·2s, contrast m + (x - m)·(c + ½),
  with b, s, c ~ U(0, 1), m_c the mean over channels and m the mean over (H, W, C) (on one channel,
  as Fashion-MNIST, saturation changes nothing: color is brightness and contrast);
- ``translation``: shift by integers (t_y, t_x) ~ U{-r·H … r·H} × U{-r·W … r·W}, r = 1/8,
  filling with zeros (written as two one-hot matrix products, so it is differentiable in x);
- ``cutout``: zero an (H/2 × W/2) square centred at a uniformly drawn pixel (clipped at the border).

Random numbers come from a `uniform(*shape)` callable that returns U(0, 1) of shape
[local batch, *shape] (the recipe's replica-consistent stream), so a MirroredStrategy step
augments example i exactly as a single device does.
"""
import tensorflow as tf

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def parse_policies(augment):
    """'translation,cutout' (or a list of names) → the policies in application order; None or '' → ()."""
    if augment is None:
        return ()
    names = augment.split(",") if isinstance(augment, str) else augment
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names) or \
            set(name.strip() for name in names if name.strip()) - set(POLICIES):
        raise ValueError(f"`augment` takes a comma-separated subset of {list(POLICIES)}. Received: augment={augment!r}")
    return tuple(name for name in POLICIES if name in {name.strip() for name in names})


def diff_augment(images, policies, uniform):
    """T(images) for the given policies (see the module docstring); float32 in and out."""
    images = tf.cast(images, tf.float32)
    for policy in policies:
        images = AUGMENTATIONS[policy](images, uniform)
    return images


def color(images, uniform):
    b, s, c = (tf.reshape(uniform(1), [-1, 1, 1, 1]) for _ in range(3))
    images = images + (b - 0.5)
    channel_mean = tf.reduce_mean(images, axis=-1, keepdims=True)
    images = channel_mean + (images - channel_mean) * (2.0 * s)
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return mean + (images - mean) * (c + 0.5)


def shift_matrices(uniform, size, ratio):
    """[batch, size, size] one-hot matrices M with (M·v)_i = v_{i-t}: a shift by t ~ U{-r·size … r·size}."""
    reach = int(size * ratio + 0.5)
    shifts = tf.floor(uniform(1) * (2 * reach + 1)) - reach  # [batch, 1]
    rows = tf.range(size, dtype=tf.float32)
    source = rows[None, :, None] - shifts[:, :, None]  # [batch, size, 1]: output row i reads row i - t
    return tf.cast(tf.equal(source, rows[None, None, :]), tf.float32)


def translation(images, uniform):
    height, width = images.shape[1], images.shape[2]
    rows = shift_matrices(uniform, height, TRANSLATION_RATIO)
    columns = shift_matrices(uniform, width, TRANSLATION_RATIO)
    return tf.einsum("bik,bklc,bjl->bijc", rows, images, columns)


def cutout(images, uniform):
    height, width = images.shape[1], images.shape[2]
    centre = tf.floor(uniform(2) * tf.constant([height, width], tf.float32))  # [batch, 2]
    rows = tf.range(height, dtype=tf.float32)[None, :, None] - centre[:, 0, None, None]
    columns = tf.range(width, dtype=tf.float32)[None, None, :] - centre[:, 1, None, None]
    inside = within_half(rows, int(height * CUTOUT_RATIO + 0.5)) & within_half(columns, int(width * CUTOUT_RATIO + 0.5))
    return images * tf.cast(~inside, images.dtype)[..., None]


def within_half(offsets, size):
    """Offsets from a centre that fall in a window of `size` pixels: [-size/2, size/2)."""
    return (offsets >= -(size // 2)) & (offsets < size - size // 2)


AUGMENTATIONS = {"color": color, "translation": translation, "cutout": cutout}
