"""Building blocks shared by the recipes' networks (DCGAN-style up/down-sampling stacks)."""
import keras

NORMS = ("batch", "sync_batch", "layer", "none")


def check_choice(name, value, accepted):
    """Raise a ValueError naming the argument, the value and what is accepted."""
    if value not in accepted:
        raise ValueError(f"`{name}` must be one of {list(accepted)}. Received: {name}={value!r}")


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
    layer norm over (H, W, C), or identity."""
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        return keras.layers.BatchNormalization(name=name)
    if norm == "sync_batch":
        return keras.layers.BatchNormalization(synchronized=True, name=name)
    if norm == "layer":
        return keras.layers.LayerNormalization(axis=[-3, -2, -1], name=name)
    return keras.layers.Identity(name=name)


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
    LeakyReLU(0.2), norm on all but the first, then flatten."""
    x = images
    for stage in range(num_doublings(image_shape)):
        x = keras.layers.Conv2D(width * 2**stage, 4, 2, padding="same", name=f"down{stage}")(x)
        if stage > 0:
            x = normalization(norm, f"down{stage}_norm")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    return keras.layers.Flatten()(x)
