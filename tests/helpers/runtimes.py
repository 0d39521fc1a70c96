"""Run exported files in their own runtimes (TFLite interpreter, ONNX Runtime) the way users would."""
import warnings


def run_tflite(model_bytes, inputs):
    """{output name: array} of a TFLite flatbuffer's `serving_default` signature for {input name: array}."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice (LiteRT)
        interpreter = tf.lite.Interpreter(model_content=model_bytes)
    runner = interpreter.get_signature_runner("serving_default")
    return runner(**inputs)


def run_onnx(path, inputs):
    """{output name: array} of an ONNX file for {input name: array}, on ONNX Runtime's CPU provider."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert sorted(i.name for i in session.get_inputs()) == sorted(inputs)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))
