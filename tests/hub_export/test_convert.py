"""TFLite and ONNX files of every preset kind run in their own runtimes and match the Keras
generator (float32 to 1e-4; quantized TFLite within stated bounds)."""
import numpy as np
import pytest

from hub_export import convert
from runtimes import run_onnx, run_tflite
from zoo.errors import UserError


def example_inputs(generator, rng, n=3):
    """{input name: array} for serving_default, and the Keras generator's float output for them."""
    if generator.task == "sampling":
        z = rng.standard_normal((n, generator.latent_dim)).astype(np.float32)
        inputs = {"z": z, "labels": np.arange(n, dtype=np.int32) % generator.num_classes} if generator.conditional \
            else {"z": z}
        given = [z, inputs["labels"]] if generator.conditional else z
        if hasattr(generator.recipe, "generate_truncated"):
            psi = np.linspace(0.5, 1.0, n).astype(np.float32)
            return {**inputs, "truncation": psi}, np.asarray(generator.recipe.generate_truncated(given, psi))
        return inputs, np.asarray(generator(given))
    shape = (n, 5, 6, 1) if generator.task == "super_resolution" else (n, *generator.image_shape)
    images = rng.uniform(-1, 1, shape).astype(np.float32)
    return {"images": images}, np.asarray(generator(images))


def test_tflite_matches_keras(kind, generators, tmp_path):
    generator = generators[kind]
    inputs, expected = example_inputs(generator, np.random.default_rng(1))
    path = convert.convert(generator, str(tmp_path / f"{kind}.tflite"), "tflite")
    outputs = run_tflite(open(path, "rb").read(), inputs)
    assert outputs["images_float"].shape == expected.shape and outputs["images"].dtype == np.uint8
    assert np.abs(outputs["images_float"] - expected).max() <= 1e-4


def test_tflite_quantization_shrinks_the_shipped_dcgan_with_bounded_error(tmp_path):
    """Measured here: 3.05 / 1.53 / 0.84 MB, max |error| 1.3e-6 / 0.0016 / 0.25 (none / float16 / dynamic)."""
    import zoo

    generator = zoo.load("dcgan_fashion_mnist_28")
    inputs, expected = example_inputs(generator, np.random.default_rng(2))
    sizes, errors = {}, {}
    for quantization in convert.QUANTIZATIONS:
        path = convert.convert(generator, str(tmp_path / f"{quantization}.tflite"), "tflite", quantization)
        model_bytes = open(path, "rb").read()
        sizes[quantization] = len(model_bytes)
        errors[quantization] = np.abs(run_tflite(model_bytes, inputs)["images_float"] - expected).max()
    assert sizes["dynamic"] < sizes["float16"] < sizes["none"]
    assert errors["none"] <= 1e-4 and errors["float16"] <= 0.01  # float16 weights: ~3 decimal digits
    assert errors["dynamic"] <= 0.5  # int8 weights: coarse (tens of gray levels at worst)
    with pytest.raises(UserError, match="quantization must be one of"):
        convert.tflite_bytes(str(tmp_path), "int4")


def test_onnx_matches_keras(kind, generators, tmp_path):
    pytest.importorskip("onnxruntime")
    generator = generators[kind]
    inputs, expected = example_inputs(generator, np.random.default_rng(3))
    path = convert.convert(generator, str(tmp_path / f"{kind}.onnx"), "onnx")
    inputs = {convert.onnx_input_name(name, ("images", "images_float")): value for name, value in inputs.items()}
    outputs = run_onnx(path, inputs)
    assert outputs["images"].dtype == np.uint8
    assert np.abs(outputs["images_float"] - expected).max() <= 1e-4


@pytest.mark.parametrize("runtime", ["onnx", "tflite"])
def test_onnx_and_tflite_run_self_attention_with_one_channel_keys(runtime, tmp_path):
    """SAGAN's attention (recipes.layers.SelfAttention) with C/8 = 1 key channel (width 4: 8 channels at the
    generator's 4×4 map), γ ≠ 0 (at γ = 0 the layer's output is its input): tf2onnx once turned its transpose of
    the keys into a wrong reshape, and onnxruntime refused the file; the scores are an einsum now. TFLite runs the
    same generator (the sampling kinds' other runtime)."""
    if runtime == "onnx":
        pytest.importorskip("onnxruntime")
    import recipes
    from zoo.presets.pretrained import Generator

    recipe = recipes.SAGAN(latent_dim=8, width=4, image_shape=(8, 8, 1), seed=3)
    recipe.generator.get_layer("attention").gamma.assign(0.5)
    generator = Generator(recipe, {"name": "tiny_sagan", "recipe": "SAGAN"})
    inputs, expected = example_inputs(generator, np.random.default_rng(4))
    path = convert.convert(generator, str(tmp_path / f"sagan.{runtime}"), runtime)
    outputs = run_onnx(path, inputs) if runtime == "onnx" else run_tflite(open(path, "rb").read(), inputs)
    assert np.abs(outputs["images_float"] - expected).max() <= 1e-4


@pytest.mark.parametrize("runtime", ["tflite", "onnx"])
def test_a_residual_generator_exports_past_its_first_up_sampling_block(runtime, tmp_path):
    """SNGAN's generator at 16×16 has two up-sampling residual blocks (SAGAN's and BigGAN-lite's are the same blocks;
    the kinds above, at 8×8, have one): with keras.layers.UpSampling2D the second block's height was unknown and
    TFLite's converter failed on its convolutions (the presets' 32×32 generators did not export)."""
    if runtime == "onnx":
        pytest.importorskip("onnxruntime")
    import recipes
    from zoo.presets.pretrained import Generator

    generator = Generator(recipes.SNGAN(latent_dim=8, width=4, image_shape=(16, 16, 1), seed=3),
                          {"name": "tiny_sngan", "recipe": "SNGAN"})
    inputs, expected = example_inputs(generator, np.random.default_rng(5))
    path = convert.convert(generator, str(tmp_path / f"sngan.{runtime}"), runtime)
    outputs = run_onnx(path, inputs) if runtime == "onnx" else run_tflite(open(path, "rb").read(), inputs)
    assert outputs["images_float"].shape == expected.shape == (3, 16, 16, 1)
    assert np.abs(outputs["images_float"] - expected).max() <= 1e-4
