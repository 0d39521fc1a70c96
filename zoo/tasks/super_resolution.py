"""The super-resolution task (low → high resolution, any input size: SRGAN): its preview of real test images,
evaluation (PSNR/SSIM on luma and FID/KID, with bicubic upsampling as the baseline to beat), card text and
headline, the any-size SavedModel signature, and the demo's example and upload handlers."""
import io
import time

import numpy as np

from zoo.errors import UserError
from zoo.eval.metric_registry import compute_metrics
from zoo.eval.scoring import (Progress, extract_features, in_batches, pass_protocol, real_images, reference_features,
                              single_run)
from zoo.metrics import image_quality
from zoo.tasks.base import DISTRIBUTION_METRICS, Task, real_inputs, register_task

BASELINE = "bicubic (baseline)"
MAX_UPLOAD_SIDE = 64  # longer side of an uploaded image to upscale on the demo (larger uploads are shrunk to it)


@register_task
class SuperResolution(Task):
    name, method, progress_verb = "super_resolution", "upscale(low_res)", "upscaled"
    caption = "Test images. Rows: low resolution (nearest-neighbour), bicubic, SRGAN, high resolution."
    usage = "high = g.upscale(low_res)          # uint8 in, uint8 out, 4× larger, any size"
    intended_use = "Research and teaching: 4× super-resolution of small grayscale images like Fashion-MNIST."
    columns = {"psnr": "PSNR dB ↑", "ssim": "SSIM ↑"}
    demo_title = "Upscale your image"

    def preview_inputs(self, recipe, data, seed):
        """The first 8 test images (the recipe's preview downscales them, then shows LR, bicubic, SR, HR)."""
        return real_inputs(data)[0][:8]

    def evaluate(self, recipe, extractor, data, request):
        return evaluate_super_resolution(recipe, extractor, dataset=data.dataset, reference=request.reference,
                                         num_samples=request.num_samples, batch_size=request.batch_size,
                                         data_dir=request.data_dir, progress=request.progress)

    def headline(self, rows):
        model, bicubic = rows["generator"], rows[BASELINE]
        return (f"PSNR {model['psnr']['mean']:.2f} dB (bicubic {bicubic['psnr']['mean']:.2f}), "
                f"SSIM {model['ssim']['mean']:.3f} (bicubic {bicubic['ssim']['mean']:.3f})")

    def call(self, recipe, inputs, training=False):
        return recipe.upscale(inputs, training=training)

    def call_spec(self, generator):
        """Any height and width: the SR network is fully convolutional."""
        import tensorflow as tf

        return tf.TensorSpec([None, None, None, generator.image_shape[-1]], tf.float32)

    # --- the demo page ------------------------------------------------------------------------------
    def example(self, generator, index):
        """A Fashion-MNIST test image downscaled by the model's own scale (the input it learned to upscale)."""
        from recipes.srgan import downscale
        from zoo.images import to_uint8

        images, _ = real_inputs(generator.data)
        return to_uint8(np.asarray(downscale(images[index % len(images)][None], generator.recipe.scale)))[0]

    def transform(self, generator, upload, direction):
        """The upload (shrunk to MAX_UPLOAD_SIDE on its longer side if larger) and its upscaled image."""
        from zoo.images import read_image

        self.check_direction(generator, direction)
        channels = generator.image_shape[-1]
        image = read_image(io.BytesIO(upload), channels, name="the upload")
        longer = max(image.shape[:2])
        if longer > MAX_UPLOAD_SIDE:
            size = tuple(max(1, round(side * MAX_UPLOAD_SIDE / longer)) for side in image.shape[:2])
            image = read_image(io.BytesIO(upload), channels, size, "the upload")
        return image, generator.upscale(image[None])[0]


def evaluate_super_resolution(recipe, extractor, *, dataset="fashion_mnist", reference="test", num_samples=10000,
                              batch_size=500, data_dir=None, cache_dir=None, progress=None):
    """PSNR / SSIM / FID / KID of `recipe.upscale` and of bicubic upsampling on the first
    `num_samples` reference images; `progress(done, total)` after each batch upscaled."""
    from recipes.srgan import downscale

    started = time.time()
    high, _ = real_images(dataset, reference, data_dir, None, batch_size)
    high = high[:num_samples]
    if tuple(high.shape[1:]) != tuple(recipe.image_shape):
        raise UserError(f"{dataset} {reference} images are {high.shape[1:]}, the SR model was trained on "
                        f"{tuple(recipe.image_shape)} high-resolution images")
    outputs = {"generator": [], BASELINE: []}
    quality = {label: ([], []) for label in outputs}
    for batch in Progress(progress, len(high)).over(in_batches(high, batch_size)):
        low = downscale(batch, recipe.scale)
        for label, images in (("generator", recipe.upscale(low)),
                              (BASELINE, image_quality.bicubic_upsample(low, batch.shape[1:3]))):
            images = np.asarray(images)
            outputs[label].append(images)
            psnr, ssim = image_quality.psnr_ssim(images, batch)
            quality[label][0].append(psnr)
            quality[label][1].append(ssim)
    ref, cache = reference_features(extractor, dataset, reference, batch_size, data_dir, None, cache_dir)
    rows = {}
    for label, parts in outputs.items():
        generated = extract_features(extractor, parts)
        results = compute_metrics(generated, ref, DISTRIBUTION_METRICS)
        results["psnr"] = float(np.mean(np.concatenate(quality[label][0])))
        results["ssim"] = float(np.mean(np.concatenate(quality[label][1])))
        rows[label] = single_run(results)
    return {"results": rows,
            "protocol": pass_protocol(dataset, reference, len(high), extractor, cache, started, task="super_resolution",
                                      scale=recipe.scale, downscaling="bicubic, antialiased (recipes.srgan.downscale)",
                                      psnr_ssim="luma (gray images as they are), [0, 1], no border crop",
                                      metrics=["psnr", "ssim", *DISTRIBUTION_METRICS])}
