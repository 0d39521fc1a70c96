"""SavedModel exports of every preset kind: TF Serving layout with auto-incremented versions, the
documented signatures (checked with TensorFlow's own saved_model_cli), self-contained (loaded by a
`python -I -S` process that cannot import this project), outputs equal to the Keras generator's,
`sample(seed)` identical across loads; and the TF-Hub Reusable SavedModel interface."""
import json
import os
import shutil
import site
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from recipes.latents import seed_latents
from zoo.errors import UserError
from zoo.images import to_uint8
from hub_export import saved_model

CHILD = r"""
import json, sys
sys.path += json.loads(sys.argv[1])  # site-packages only: no PYTHONPATH, no project, no .pth files
try:
    import zoo
except ImportError:
    pass
else:
    raise SystemExit("the project is importable in the child process")
import numpy as np, tensorflow as tf
for job in json.loads(sys.argv[2]):
    inputs = np.load(job["inputs"])
    results = {}
    for load in ("first", "second"):
        model = tf.saved_model.load(job["path"])
        for name, function in model.signatures.items():
            kwargs = {key.split("/")[1]: tf.constant(inputs[key]) for key in inputs.files if key.split("/")[0] == name}
            for key, value in function(**kwargs).items():
                results[f"{load}/{name}/{key}"] = value.numpy()
    np.savez(job["out"], **results)
"""


def signature_inputs(generator, rng):
    """Inputs of every signature of the kind's export, as {"signature/input": array}."""
    if generator.task == "sampling":
        n = 5
        extra = {}
        if generator.conditional:
            extra["labels"] = rng.integers(0, generator.num_classes, n).astype(np.int32)
        if hasattr(generator.recipe, "generate_truncated"):
            extra["truncation"] = np.array([1.0, 0.7, 0.5, 0.0, 1.0], np.float32)
        z = rng.standard_normal((n, generator.latent_dim)).astype(np.float32)
        seeds = np.array([0, 1, 2, 3, 2**40], np.int64)
        return {"serving_default/z": z, "sample/seed": seeds,
                **{f"{sig}/{k}": v for sig in ("serving_default", "sample") for k, v in extra.items()}}
    if generator.task == "super_resolution":
        return {"serving_default/images": rng.uniform(-1, 1, (3, 5, 6, 1)).astype(np.float32)}
    images = rng.uniform(-1, 1, (3, *generator.image_shape)).astype(np.float32)
    return {"serving_default/images": images, "translate_b2a/images": images}


def keras_outputs(generator, inputs):
    """What the Keras generator gives for the same inputs: {signature: float images}."""
    recipe = generator.recipe
    if generator.task == "translation":
        return {"serving_default": recipe.translate(inputs["serving_default/images"], "a2b"),
                "translate_b2a": recipe.translate(inputs["translate_b2a/images"], "b2a")}
    if generator.task == "super_resolution":
        return {"serving_default": generator(inputs["serving_default/images"])}
    outputs = {}
    for signature in ("serving_default", "sample"):
        z = inputs["serving_default/z"] if signature == "serving_default" else \
            seed_latents(inputs["sample/seed"], generator.latent_dim)
        given = [z, inputs[f"{signature}/labels"]] if generator.conditional else z
        if f"{signature}/truncation" in inputs:
            outputs[signature] = recipe.generate_truncated(given, inputs[f"{signature}/truncation"])
        else:
            outputs[signature] = generator(given)
    return outputs


@pytest.fixture(scope="module")
def exports(generators, tmp_path_factory):
    """Every kind exported (TF Serving layout) and run by one child process that cannot import the project."""
    root = tmp_path_factory.mktemp("exports")
    rng = np.random.default_rng(0)
    jobs, inputs = [], {}
    for kind, generator in generators.items():
        path = saved_model.export_serving(generator, str(root / "models"))
        inputs[kind] = signature_inputs(generator, rng)
        np.savez(root / f"{kind}_in.npz", **inputs[kind])
        jobs.append({"path": path, "inputs": str(root / f"{kind}_in.npz"), "out": str(root / f"{kind}_out.npz")})
    site_dirs = [d for d in site.getsitepackages() if not os.path.exists(os.path.join(d, "zoo", "__init__.py"))]
    child = subprocess.run([sys.executable, "-I", "-S", "-c", CHILD, json.dumps(site_dirs), json.dumps(jobs)],
                           capture_output=True, text=True, timeout=600, cwd=str(root))
    assert child.returncode == 0, child.stderr[-3000:]
    results = {kind: dict(np.load(job["out"])) for kind, job in zip(generators, jobs)}
    return {"root": root, "jobs": dict(zip(generators, jobs)), "inputs": inputs, "results": results}


def test_export_outside_the_project_equals_the_keras_generator(kind, generators, exports):
    generator, results = generators[kind], exports["results"][kind]
    expected = keras_outputs(generator, exports["inputs"][kind])
    assert {key.split("/")[1] for key in results} == set(expected)
    for signature, images in expected.items():
        images = np.asarray(images)
        exported = results[f"first/{signature}/images_float"]
        assert exported.shape == images.shape and exported.dtype == np.float32
        np.testing.assert_allclose(exported, images, atol=1e-5)
        uint8 = results[f"first/{signature}/images"]
        assert uint8.dtype == np.uint8
        assert np.abs(uint8.astype(int) - to_uint8(images).astype(int)).max() <= 1  # rounding at .5 only
        np.testing.assert_array_equal(results[f"second/{signature}/images"], uint8)  # a second load agrees


def test_layout_versions_and_card(generators, exports):
    models = exports["root"] / "models"
    assert sorted(os.listdir(models)) == sorted(f"tiny_{kind}" for kind in generators)
    second = saved_model.export_serving(generators["unconditional"], str(models))
    assert second == str(models / "tiny_unconditional" / "2")
    card = json.loads((models / "tiny_conditional" / "1" / "assets.extra" / "card.json").read_text())
    assert card["num_classes"] == 3 and card["latent_dim"] == 8
    assert card["signatures"]["sample"]["inputs"] == {"labels": {"dtype": "int32", "shape": [None]},
                                                      "seed": {"dtype": "int64", "shape": [None]}}
    saved = [name for name, _ in tf.train.list_variables(str(models / "tiny_conditional" / "1" / "variables" / "variables"))]
    assert not [name for name in saved if "discriminator" in name or "optimizer" in name]  # the generator only
    with pytest.raises(UserError, match="tiny_unconditional/2 already holds files; pass --overwrite to replace them"):
        saved_model.export_serving(generators["unconditional"], str(models), version=2)
    shutil.rmtree(models / "tiny_unconditional" / "2")


def test_seeded_samples_are_distinct_per_seed_and_reproducible(exports):
    results = exports["results"]["stylegan"]
    images = results["first/sample/images_float"]
    assert all(np.abs(images[i] - images[j]).max() > 1e-3 for i in range(4) for j in range(i + 1, 4))
    z = seed_latents([3, 2**40], 8)
    np.testing.assert_array_equal(z, seed_latents([3, 2**40], 8))
    assert abs(float(np.std(seed_latents(np.arange(200), 8))) - 1.0) < 0.1


def test_saved_model_cli_lists_the_documented_signatures(exports):
    cli = shutil.which("saved_model_cli")
    assert cli, "TensorFlow's saved_model_cli is not on PATH"
    shown = subprocess.run([cli, "show", "--dir", exports["jobs"]["stylegan"]["path"], "--all"],
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    text = shown.stdout
    for signature in ("serving_default", "sample"):
        assert f"signature_def['{signature}']" in text
    for line in ("inputs['z'] tensor_info:", "inputs['truncation'] tensor_info:", "inputs['seed'] tensor_info:",
                 "outputs['images'] tensor_info:", "outputs['images_float'] tensor_info:", "dtype: DT_UINT8",
                 "dtype: DT_INT64", "shape: (-1, 8)", "shape: (-1, 8, 8, 1)"):
        assert line in text, line


def test_tf_hub_load_and_keras_layer_fine_tune(generators, tmp_path):
    hub = pytest.importorskip("tensorflow_hub")
    tf_keras = pytest.importorskip("tf_keras")
    generator = generators["unconditional"]
    path = saved_model.write_saved_model(generator, str(tmp_path / "hub"))
    z = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float32)
    loaded = hub.load(path)
    np.testing.assert_allclose(loaded(z).numpy(), np.asarray(generator(z)), atol=1e-5)
    assert len(loaded.trainable_variables) == len(generator.network.trainable_weights) > 0

    layer = hub.KerasLayer(path, trainable=True)
    model = tf_keras.Sequential([tf_keras.Input((8,)), layer])
    np.testing.assert_allclose(model(z).numpy(), np.asarray(generator(z)), atol=1e-5)
    assert len(model.trainable_variables) == len(generator.network.trainable_weights)
    model.compile(optimizer=tf_keras.optimizers.SGD(0.1), loss="mse")
    before = model(z).numpy()
    model.fit(z, np.zeros_like(before), epochs=1, verbose=0)
    assert np.abs(model(z, training=False).numpy() - before).max() > 1e-4  # its weights train


def test_keras3_tfsm_layer_runs_an_export_inside_a_keras_model(generators, exports):
    """Keras 3's layer for a SavedModel (hub.KerasLayer is a tf-keras layer: a Keras 3 model refuses it)."""
    import keras

    generator, path = generators["unconditional"], exports["jobs"]["unconditional"]["path"]
    z_in = keras.Input((8,), name="z")
    model = keras.Model(z_in, keras.layers.TFSMLayer(path, call_endpoint="serving_default")(z_in)["images_float"])
    z = np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(z)), np.asarray(generator(z)), atol=1e-5)
    by_seed = keras.layers.TFSMLayer(path, call_endpoint="sample")(np.array([3, 7]))["images_float"]
    np.testing.assert_allclose(np.asarray(by_seed), np.asarray(generator(seed_latents([3, 7], 8))), atol=1e-5)


def test_cli_exports_a_shipped_preset_in_the_serving_layout(tmp_path, capsys):
    from hub_export import cli

    assert cli.main(["export", "dcgan_fashion_mnist_28", "--out", str(tmp_path)]) == 0
    path = tmp_path / "dcgan_fashion_mnist_28" / "1"
    assert f"exported: {path}" in capsys.readouterr().out
    card = json.loads((path / "assets.extra" / "card.json").read_text())
    assert card["name"] == "dcgan_fashion_mnist_28" and "files" not in card and card["training"]["commands"]
    import zoo

    z = seed_latents([0, 1], 100)
    exported = tf.saved_model.load(str(path)).signatures["sample"](seed=tf.constant([0, 1], tf.int64))
    np.testing.assert_allclose(exported["images_float"], zoo.load("dcgan_fashion_mnist_28")(z), atol=1e-5)
    assert cli.main(["export", "dcgan_fashion_mnist_28", "--format", "onnx", "--quantization", "float16",
                     "--out", str(tmp_path / "x.onnx")]) == 2
    assert "--quantization applies to --format tflite" in capsys.readouterr().err
