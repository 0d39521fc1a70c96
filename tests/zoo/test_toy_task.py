"""A new task is one module (issue 31): a toy task, the photographic negative, and a toy recipe, both registered in
this file, go through training, preview, evaluation, preset and card, SavedModel export and the demo's API
without an edit to zoo/ or hub_export/."""
import asyncio
import base64
import io
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from recipes.base import GAN, split_labels
from recipes.capabilities import TRAIN
from recipes.registry import register_recipe
from zoo.errors import UserError
from zoo.tasks import Task, get_task, register_task, task_for

TASK = "toy_negation"


def stripes(count, size=28):
    """Images in [-1, 1] with vertical stripes whose phase follows the index: the toy's example inputs."""
    columns = (np.arange(size)[None, :] + np.arange(count)[:, None]) % 7 / 3.0 - 1.0
    return np.repeat(columns[:, None, :, None], size, axis=1).astype(np.float32)


def negation_error(outputs, inputs):
    """Mean |G(x) - (-x)|: 0 for a perfect negative."""
    return float(np.mean(np.abs(np.asarray(outputs) + inputs)))


class Negation(Task):
    name, takes, method = TASK, "images", "negate(images)"
    caption = "Rows: x, G(x)."
    usage = "negative = g(images)                # toy: the photographic negative, floats in [-1, 1]"
    intended_use = "Testing that a task is one module."
    columns = {"negation_error": "Negation error ↓"}
    demo_title = "Negate your image"

    def preview_inputs(self, recipe, data, seed):
        return stripes(8)

    def evaluate(self, recipe, extractor, data, request):
        from zoo.eval.scoring import pass_protocol, single_run

        images = stripes(request.num_samples)
        rows = {"generator": single_run({"negation_error": negation_error(recipe.generator(images), images)}),
                "identity (baseline)": single_run({"negation_error": negation_error(images, images)})}
        return {"results": rows, "protocol": pass_protocol("stripes", "test", len(images), extractor, None, 0.0,
                                                           task=TASK)}

    def headline(self, rows):
        return f"negation error {rows['generator']['negation_error']['mean']:.3f}"

    def example(self, generator, index):
        return ((stripes(index + 1)[index] + 1.0) * 127.5).round().astype(np.uint8)

    def transform(self, generator, upload, direction):
        from zoo.images import read_image, to_uint8

        self.check_direction(generator, direction)
        image = read_image(io.BytesIO(upload), 1, generator.image_shape[:2], "the upload")
        return image, to_uint8(generator(image[None].astype(np.float32) / 127.5 - 1.0))[0]


class ToyNegation(GAN):
    """One 1×1 convolution learning x → -x by L1."""
    task = TASK
    capabilities = frozenset({TRAIN})
    loss_names = ("l1",)
    players = {"g_optimizer": ("g", ("generator",))}
    optimizer_defaults = {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.999}

    def build_networks(self):
        self.generator = keras.Sequential([keras.Input(self.image_shape), keras.layers.Conv2D(1, 1, name="pixel")],
                                          name="generator")

    def preview_inputs(self, seed, real_batch=None):
        return split_labels(real_batch)[0]

    def preview(self, images):
        return tf.concat([tf.cast(images, tf.float32), self.generator(images)], axis=0), len(images)

    def train_step(self, data):
        """min ‖G(x) + x‖₁."""
        images, _ = split_labels(data)
        g = self.update(self.generator, self.g_optimizer,
                        lambda: tf.reduce_mean(tf.abs(self.generator(images, training=True) + images), axis=[1, 2, 3]))
        return self.finish_step(l1=g["loss"])


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The toy task and recipe registered for this module's tests only (the registries are global: the other test
    files must see the zoo's own recipes and tasks), as a user's module would register them on import."""
    import keras

    from recipes import registry
    from zoo.eval import metric_registry
    from zoo.tasks import base

    register_task(Negation)
    register_recipe(TASK, paper="none: the toy recipe of tests/zoo/test_toy_task.py")(ToyNegation)
    yield
    base._TASKS.pop(TASK)
    registry._CLASSES.pop(TASK)
    for column in Negation.columns:
        metric_registry.TASK_COLUMNS.pop(column)
    keras.saving.get_custom_objects().pop(keras.saving.get_registered_name(ToyNegation))


class NoFeatures:
    """The toy evaluation computes no features; the protocol still names what it used."""
    num_classes = None

    def describe(self):
        return {"name": "none (pixels)", "sha256": None}


@pytest.fixture(scope="module")
def toy_preset(tmp_path_factory):
    """A trained toy run, its evaluation report and the preset made from both (the real commands' functions)."""
    from zoo.data import record
    from zoo.presets.packaging import make_preset
    from zoo.tasks import EvaluationRequest
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train
    from zoo.train.run_directory import recipe_from_run

    root = tmp_path_factory.mktemp("toy")
    run = root / "run"
    train(TrainConfig(recipe=TASK, out=str(run), steps=60, batch_size=16, sample_every=1000, verbose=0))
    recipe, description = recipe_from_run(str(run))
    data = record.from_description(description, recipe.image_shape)
    report = task_for(recipe).evaluate(recipe, NoFeatures(), data, EvaluationRequest(num_samples=32))
    report["command"] = "tests/zoo/test_toy_task.py"
    (root / "report.json").write_text(json.dumps(report))
    return make_preset(str(run), "toy_negation_28", out_dir=str(root / "presets"), evaluation=str(root / "report.json"))


def test_the_toy_task_registers_and_the_recipe_names_it():
    assert isinstance(get_task(TASK), Negation) and task_for(ToyNegation) is get_task(TASK)
    with pytest.raises(UserError, match="unknown task 'no_such_task'; known tasks: sampling, .*toy_negation"):
        get_task("no_such_task")


def test_preview_evaluation_card_and_loading_go_through_the_task(toy_preset):
    import zoo
    from zoo.presets.packaging import card_markdown, headline

    g = zoo.load(toy_preset)
    assert g.task == TASK
    card = card_markdown(g.card)
    assert "*Rows: x, G(x).*" in card and Negation.usage in card and "Testing that a task is one module." in card
    assert "Negation error ↓" in card and "identity (baseline)" in card  # its rows and column in the table
    error = g.card["evaluation"]["results"]["generator"]["negation_error"]["mean"]
    assert error < 0.5 * g.card["evaluation"]["results"]["identity (baseline)"]["negation_error"]["mean"]
    assert headline(g.card) == f"negation error {error:.3f}"
    samples = np.asarray(Image.open(f"{toy_preset}/samples.png"))
    assert samples.shape[:2] == (2 + 2 * 30, 2 + 8 * 30)  # the task's preview: 8 inputs, 8 outputs
    with pytest.raises(UserError, match=f"sample needs a sampling model; toy_negation_28 does toy-negation: use "
                                        r"negate\(images\)"):
        g.sample(2)


def test_export_writes_the_tasks_signature(toy_preset, tmp_path):
    import zoo
    from hub_export.saved_model import export_serving

    g = zoo.load(toy_preset)
    path = export_serving(g, str(tmp_path))
    serving = tf.saved_model.load(path).signatures["serving_default"]
    images = stripes(3)
    out = serving(images=tf.constant(images))
    np.testing.assert_allclose(out["images_float"].numpy(), g(images).numpy(), atol=1e-6)
    assert out["images"].dtype == tf.uint8
    card = json.load(open(f"{path}/assets.extra/card.json"))
    assert card["task"] == TASK and list(card["signatures"]) == ["serving_default"]
    served = serve_once(str(tmp_path), g.name, {"instances": images[:2].tolist()})
    np.testing.assert_array_equal(np.asarray([row["images"] for row in served["predictions"]]),
                                  out["images"].numpy()[:2])  # the REST server decodes and encodes it as exported


def serve_once(base_dir, name, body):
    """One :predict request to the TF-Serving-compatible server of the exports under `base_dir`."""
    from aiohttp.test_utils import TestClient, TestServer

    from hub_export.server import make_app

    async def scenario():
        async with TestClient(TestServer(make_app(base_dir))) as client:
            response = await client.post(f"/v1/models/{name}:predict", json=body)
            assert response.status == 200, await response.text()
            return await response.json()

    return asyncio.run(scenario())


def test_the_demo_serves_the_tasks_example_and_transform(toy_preset, monkeypatch):
    from aiohttp.test_utils import TestClient, TestServer

    from hub_export.demo import make_app

    monkeypatch.chdir(os.path.dirname(toy_preset))  # the preset by its name: a directory here
    name = os.path.basename(toy_preset)

    async def scenario():
        async with TestClient(TestServer(make_app([name]))) as client:
            listing = (await (await client.get("/api/models")).json())[0]
            assert (listing["task"], listing["takes"], listing["title"]) == (TASK, "images", "Negate your image")
            example = await client.get(f"/api/{name}/example?index=2")
            assert example.status == 200
            picture = np.asarray(Image.open(io.BytesIO(await example.read())))
            np.testing.assert_array_equal(picture, Negation().example(None, 2)[..., 0])
            upload = io.BytesIO()
            Image.fromarray(picture).save(upload, "PNG")
            answer = await (await client.post(f"/api/{name}/transform", data=upload.getvalue())).json()
            output = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["output"]))), np.float32)
            assert np.mean(np.abs(output + picture.astype(np.float32) - 255.0)) < 0.5 * np.mean(
                np.abs(picture.astype(np.float32) - 127.5))  # closer to the negative than the input is
            refused = await client.post(f"/api/{name}/transform?direction=b2a", data=upload.getvalue())
            assert refused.status == 400 and "direction must be a2b" in (await refused.json())["error"]

    asyncio.run(scenario())
