"""Full-reference image quality for super-resolution: PSNR and SSIM (Wang et al. 2004,
https://doi.org/10.1109/TIP.2003.819861) via `tf.image`, on the luma channel (Y of
ITU-R BT.601, as SR papers report) or on gray images, with images in [-1, 1] mapped to [0, 1].
Reported beside the bicubic-upsampling baseline."""
import numpy as np
import tensorflow as tf


def luma(images):
    """[-1, 1] NHWC → Y in [0, 1] (N, H, W, 1); gray images pass through."""
    images = (tf.convert_to_tensor(images, tf.float32) + 1.0) / 2.0
    if images.shape[-1] == 1:
        return images
    weights = tf.constant([65.481, 128.553, 24.966]) / 255.0
    return (16.0 / 255.0 + tf.reduce_sum(images * weights, axis=-1, keepdims=True))


def psnr_ssim(predicted, target, crop=0):
    """Per-image (PSNR dB, SSIM) on luma, optionally ignoring `crop` border pixels."""
    predicted, target = luma(predicted), luma(target)
    if crop:
        predicted, target = predicted[:, crop:-crop, crop:-crop], target[:, crop:-crop, crop:-crop]
    return (np.asarray(tf.image.psnr(predicted, target, max_val=1.0)),
            np.asarray(tf.image.ssim(predicted, target, max_val=1.0)))


def bicubic_upsample(low_resolution, size):
    """The baseline every SR model must beat: bicubic interpolation to `size` (h, w), clipped to [-1, 1]."""
    return tf.clip_by_value(tf.image.resize(low_resolution, size, method="bicubic"), -1.0, 1.0)
