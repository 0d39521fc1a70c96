"""TFLite and ONNX files of a generator's `serving_default` signature (see hub_export.saved_model).

Both convert the exported SavedModel, so their inputs and outputs carry the signature's names
(`z` [, `labels`, `truncation`] or `images` → `images` uint8, `images_float` float32).
The `sample` signature (stateless random ops) stays SavedModel-only. In ONNX, image-to-image
models take `input_images` (ONNX names are unique across inputs and outputs).
"""
import os
import tempfile

from zoo.errors import UserError
from zoo.files import atomic_output

QUANTIZATIONS = ("none", "float16", "dynamic")
ONNX_OPSET = 17


def tflite_bytes(saved_model_dir, quantization="none"):
    """A TFLite flatbuffer of `serving_default`: float32 weights ("none"), float16 weights
    ("float16") or int8 weights with float activations ("dynamic", dynamic-range quantization)."""
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise UserError(f"quantization must be one of {', '.join(QUANTIZATIONS)}; received {quantization!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=["serving_default"])
    if quantization != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def onnx_input_name(name, outputs):
    """ONNX names must be unique: an input named like an output (image-to-image `images`) becomes
    `input_images`."""
    return f"input_{name}" if name in outputs else name


def onnx_model(saved_model_dir, output_path, opset=ONNX_OPSET):
    """Convert `serving_default` with tf2onnx; onnxruntime runs the result."""
    import tensorflow as tf

    try:
        import tf2onnx
    except ImportError as error:
        raise UserError("ONNX export needs tf2onnx: pip install tf2onnx onnxruntime") from error
    loaded = tf.saved_model.load(saved_model_dir)  # stays alive while converting: it owns the variables
    function = loaded.signatures["serving_default"]
    names = list(function.structured_input_signature[1])
    specs = [tf.TensorSpec(spec.shape, spec.dtype, name=onnx_input_name(name, function.structured_outputs))
             for name, spec in function.structured_input_signature[1].items()]
    tf2onnx.convert.from_function(tf.function(lambda *args: function(**dict(zip(names, args)))),
                                  input_signature=specs, opset=opset, output_path=output_path)
    del loaded
    return output_path


def convert(generator, output_path, fmt, quantization="none", overwrite=False):
    """Write `generator` as a TFLite or ONNX file at `output_path` (a path, or the `Output` that
    zoo.files.check_output returned for it: not checked again): converted into a file beside it and
    renamed in when done (a kill mid-conversion leaves the old file whole); an existing file is replaced
    only when `overwrite`, a device or FIFO never (zoo.files.atomic_output). Returns the path."""
    from hub_export.saved_model import write_saved_model

    with atomic_output(output_path, overwrite) as temporary, tempfile.TemporaryDirectory() as scratch:
        saved_model_dir = write_saved_model(generator, os.path.join(scratch, "saved_model"))
        if fmt == "onnx":
            onnx_model(saved_model_dir, temporary)
        else:
            with open(temporary, "wb") as file:
                file.write(tflite_bytes(saved_model_dir, quantization))
    return os.fspath(output_path)
