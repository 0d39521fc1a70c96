"""The Task object and the task registry: what a generator maps from and to, and everything that depends on it
(preview grid, evaluation rows and baselines, the card's headline and text, export signatures, the demo's handlers).

A recipe names its task (`recipe.task`, e.g. "sampling"); `task_for(recipe)` is the Task that serves it. zoo/
and hub_export/ call the Task instead of switching on a task or capability, so a new task is one module: a Task
subclass under `@register_task` (see zoo/tasks/translation.py for a small one).
"""
import dataclasses
import functools
import types

from zoo.errors import UserError

DISTRIBUTION_METRICS = ("fid", "kid")  # what image-to-image evaluations compute on their outputs' features
_TASKS = {}  # name → Task instance, in registration order
TASKS = types.MappingProxyType(_TASKS)


@dataclasses.dataclass(frozen=True)
class EvaluationRequest:
    """What `gan-zoo evaluate` asks of a task (tasks read the fields they use)."""
    reference: str = "test"
    num_samples: int = 10000
    seeds: int = 3
    batch_size: int = 500
    metrics: tuple = ()
    data_dir: str = None
    gan_train_steps: int = 600
    truncation: tuple = (1.0,)
    untrained_baseline: bool = True
    domains: tuple = (None, None)  # translation: (A, B) given by the user, else the run's
    progress: object = None        # progress(done, total) after each batch


class Task:
    """One kind of generator. Subclasses set the class attributes and override what differs.

    Attributes:
        name: the card's "task" and the recipes' `task` attribute, e.g. "super_resolution".
        takes: "seeds" (z → image: the demo's sampling controls) or "images" (image → image: upload/example).
        method: how a Python user runs it, e.g. "upscale(low_res)" (named in errors that point elsewhere).
        caption: the card's caption under the samples grid.
        usage: the card's one line of Python after `g = zoo.load(name)`.
        intended_use: the card's "Intended use" paragraph.
        demo_title: the demo's heading over the image-to-image panel.
        directions: image → image tasks with two directions: ("a2b", "b2a") (None: one direction).
        columns: {result key: report table label} of the metrics its evaluation adds.
    """
    name = ""
    takes = "images"
    method = ""
    caption = usage = intended_use = ""
    demo_title = "Transform your image"
    progress_verb = "transformed"  # `gan-zoo evaluate`'s progress line: "images <verb>"
    directions = None
    columns = {}  # {result key: table label} its evaluation rows add to the metric registry's columns

    @property
    def label(self):
        """The task's name as text: "super-resolution"."""
        return self.name.replace("_", "-")

    # --- previews and evaluation ---------------------------------------------------------------------
    def preview_inputs(self, recipe, data, seed):
        """The inputs of the recipe's `preview` for a card or `gan-zoo sample` (data: the model's DataRecord)."""
        raise NotImplementedError

    def preview_grid(self, recipe, data, seed=0):
        """uint8 grid: the recipe's own preview of `preview_inputs` (e.g. CycleGAN: a, G(a), F(G(a)), b, ...)."""
        from zoo.images import make_grid, to_uint8

        images, columns = recipe.preview(self.preview_inputs(recipe, data, seed))
        return make_grid(to_uint8(images), columns)

    def evaluate(self, recipe, extractor, data, request):
        """The `gan-zoo evaluate` report {"results": {row: {metric: summary}}, "protocol": {...}} of `recipe`
        against its data (`data`: its zoo.data.record.DataRecord), with the task's baselines as rows beside the
        generator's."""
        raise NotImplementedError

    def headline(self, rows):
        """One cell for the model index: the metric a user compares first, from an evaluation's rows."""
        raise NotImplementedError

    def card_sections(self, card):
        """Extra Markdown lines of the card, after the evaluation (none by default)."""
        return []

    # --- the network and its export ---------------------------------------------------------------------
    def call(self, recipe, inputs, training=False):
        """The Keras-style call of the preset's generator (`g(inputs)`): float images in [-1, 1]."""
        return recipe.sampling_generator(inputs, training=training)

    def call_spec(self, generator):
        """The input structure of `call` (a tf.TensorSpec or a list of them), for SavedModel and TF-Hub."""
        import tensorflow as tf

        return tf.TensorSpec([None, *generator.image_shape], tf.float32)

    def signatures(self, generator):
        """{signature name: tf.function} of the SavedModel, each returning float images in [-1, 1] (the exporter
        adds the uint8 output); "serving_default" among them. Inputs are batched on axis 0 (TF Serving's rows)."""
        import tensorflow as tf

        return {"serving_default": tf.function(lambda images: self.call(generator.recipe, images),
                                               input_signature=[self.images_spec(generator)])}

    def images_spec(self, generator):
        """The signatures' `images` input: `call_spec` named "images"."""
        import tensorflow as tf

        return tf.TensorSpec.from_spec(self.call_spec(generator), name="images")

    # --- the demo page ------------------------------------------------------------------------------
    def demo_details(self, generator):
        """Extra fields of the demo's model description (JSON)."""
        return {"directions": self.directions}

    def example(self, generator, index):
        """A uint8 HWC test image to feed this model on the demo page."""
        raise UserError(f"{generator.name} makes images from seeds: it takes no example input")

    def transform(self, generator, upload, direction):
        """(input, output) uint8 HWC images of an uploaded picture (PNG/JPEG bytes), fitted to the model first."""
        raise UserError(f"{generator.name} makes images from seeds; upload pictures to an image-to-image model")

    def check_direction(self, generator, direction):
        directions = tuple(self.directions or ("a2b",))  # the page sends a2b to one-direction models
        if direction not in directions:
            raise UserError(f"direction must be {' or '.join(directions)} for {generator.name}; received {direction!r}")

    def warm_up(self, model):
        """Call what the demo page calls once (model: a hub_export DemoModel), so no user waits for a trace."""
        for direction in self.directions or ("a2b",):
            model.transform(model.example(0), direction)


@functools.lru_cache(maxsize=4)
def real_inputs(data):
    """The real images (float, at the model's size) and labels of a model's data (its DataRecord) that previews
    and the demo feed image-to-image models: its test split where it has one. Decoded once per data."""
    from zoo.eval.scoring import real_images, reference_split

    return real_images(data.dataset, reference_split(data), **data.load_options())


def register_task(cls):
    """Class decorator: register one instance of the Task subclass `cls` under `cls.name`."""
    if not cls.name or not cls.name.replace("_", "").isalnum() or cls.name != cls.name.lower():
        raise ValueError(f"A task name is lower case letters, digits and underscores. Received: {cls.name!r}")
    registered = _TASKS.get(cls.name)
    if registered is not None and type(registered).__qualname__ != cls.__qualname__:
        raise ValueError(f"Task name {cls.name!r} is taken by {type(registered).__qualname__}")
    from zoo.eval.metric_registry import register_columns

    register_columns(cls.columns)
    _TASKS[cls.name] = cls()
    return cls


def get_task(name):
    """The registered Task called `name`."""
    if name not in _TASKS:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(_TASKS)}")
    return _TASKS[name]


def task_for(model):
    """The Task of a recipe, a preset's Generator, or a card (anything with `task`, or a dict with "task")."""
    return get_task(model["task"] if isinstance(model, dict) else model.task)
