"""Self-contained SavedModels of a generator: no discriminator, no optimizer, no Python of this
project needed to load or run them (TF Serving, `tf.saved_model.load`, `hub.load`).

Signatures (every input batched on axis 0, so TF Serving's row format works):

- sampling models
  `serving_default`: `z` float32 [batch, latent_dim] (+ `labels` int32 [batch] for conditional
  models, + `truncation` float32 [batch] ψ for StyleGAN-lite) → `images` uint8 NHWC and
  `images_float` float32 in [-1, 1];
  `sample`: `seed` int64 [batch] (+ the same extra inputs) → the same outputs, with
  z = `recipes.latents.first_latents(seed)`: stateless Philox normals, the same image for the same seed
  on every server and device, and as `zoo.load(name).sample_seeds(seed)`; seeds are in [0, 2**63) as
  there (a negative one fails with InvalidArgument).
- translation (CycleGAN): `serving_default`: `images` float32 [batch, H, W, C] in [-1, 1], A→B;
  `translate_b2a`: the same for B→A.
- super-resolution (SRGAN): `serving_default`: `images` float32 [batch, h, w, C] in [-1, 1] of
  any size → `scale`× larger.

The root object is also a TF-Hub Reusable SavedModel (https://www.tensorflow.org/hub/reusable_saved_models):
`__call__(inputs, training=False)` is the Keras generator's call (float output), with
`variables`, `trainable_variables` and `regularization_losses`, so `hub.KerasLayer(path,
trainable=True)` fine-tunes it.

Layout for TF Serving: `<base>/<name>/<version>/` with `saved_model.pb`, `variables/` and
`assets.extra/card.json` (the preset's card plus the export's signature description).
"""
import os

import tensorflow as tf

from zoo.errors import UserError
from zoo.files import check_output, discard, replace_directory, sibling, write_json
from zoo.tasks import task_for

UINT8_OUTPUT, FLOAT_OUTPUT = "images", "images_float"


def to_uint8(images):
    """[-1, 1] floats → uint8 (rounded half to even, clipped): zoo.images.to_uint8 in TensorFlow."""
    return tf.cast(tf.clip_by_value(tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def outputs(images):
    return {UINT8_OUTPUT: to_uint8(images), FLOAT_OUTPUT: tf.cast(images, tf.float32)}


class GeneratorExport(tf.Module):
    """The exported object: the generator networks and one tf.function per signature of its task (zoo.tasks),
    each with the uint8 and the float output."""

    def __init__(self, generator):
        super().__init__(name="gan_zoo_generator")
        self.generator = generator  # zoo.presets.pretrained.Generator: tracks its networks' variables
        self.task = task_for(generator)

    def signatures(self):
        """{name: concrete function} of the task's signatures, each returning `outputs` of its images."""
        def with_outputs(function):
            return tf.function(lambda *args: outputs(function(*args)), input_signature=function.input_signature)

        return {name: with_outputs(function).get_concrete_function()
                for name, function in self.task.signatures(self.generator).items()}

    def call_specs(self):
        """Input structure of `__call__`, the Keras generator's own call."""
        return self.task.call_spec(self.generator)


def tf_variables(network, trainable_only=False):
    """The tf.Variables under a Keras 3 network's variables (what a SavedModel tracks)."""
    variables = network.trainable_variables if trainable_only else network.variables
    return [getattr(variable, "value", variable) for variable in variables]


def attach_reusable_interface(root, module):
    """TF-Hub's Reusable SavedModel interface on `root`: `__call__(inputs, training=False)` = the
    Keras generator's call, traced for both values of `training`, and its variable lists."""
    network = module.generator.network

    @tf.function
    def call(inputs, training=False):
        return network(inputs, training=training)

    for training in (False, True):
        call.get_concrete_function(module.call_specs(), training=training)
    root.__call__ = call
    root.variables = tf_variables(network)
    root.trainable_variables = tf_variables(network, trainable_only=True)
    root.regularization_losses = []


def signature_description(signatures):
    """{signature: {"inputs": {name: [dtype, shape]}, "outputs": {...}}} for the card and server docs."""
    def spec_table(specs):
        return {name: {"dtype": spec.dtype.name, "shape": spec.shape.as_list()} for name, spec in sorted(specs.items())}

    def input_specs(fn):
        args, kwargs = fn.structured_input_signature
        return {**{spec.name: spec for spec in args}, **kwargs}

    return {name: {"inputs": spec_table(input_specs(fn)),
                   "outputs": spec_table(fn.structured_outputs)} for name, fn in sorted(signatures.items())}


def next_version(model_dir):
    """1 + the largest integer version directory under `model_dir` (TF Serving's layout), or 1."""
    versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()] if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def export_card(generator, signatures):
    card = dict(generator.card)
    card.pop("files", None)  # the preset's file hashes do not describe the export
    card.update(task=generator.task, image_shape=list(generator.image_shape),
                latent_dim=generator.latent_dim, num_classes=generator.num_classes,
                signatures=signature_description(signatures))
    return card


def write_saved_model(generator, path):
    """Write the generator's SavedModel (signatures + Reusable SavedModel interface) to `path`."""
    if os.path.exists(path) and os.listdir(path):
        raise UserError(f"{path} exists and is not empty; choose another --out or --version")
    module = GeneratorExport(generator)
    signatures = module.signatures()
    root = tf.train.Checkpoint(model=module)
    attach_reusable_interface(root, module)
    tf.saved_model.save(root, path, signatures=signatures)
    extra = os.path.join(path, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    write_json(os.path.join(extra, "card.json"), export_card(generator, signatures))
    return path


def export_serving(generator, base_dir, name=None, version=None, overwrite=False, version_checked=False):
    """`<base_dir>/<name>/<version>/` (TF Serving layout; version = next free integer by default). Written
    beside, under a hidden name, then renamed in: a server never sees half a version, and the rename claims
    the version (two exports at once get two versions). An existing `version` is replaced only when
    `overwrite` (checked here unless `version_checked`: the CLI checks it before loading the model)."""
    name = name or generator.name
    model_dir = os.path.join(base_dir, name)
    if version is not None and not version_checked:
        check_output(os.path.join(model_dir, str(int(version))), overwrite, "dir", "--version")
    os.makedirs(model_dir, exist_ok=True)
    temporary = sibling(os.path.join(model_dir, "export"))
    try:
        write_saved_model(generator, temporary)
        return claim_version(temporary, model_dir, version, overwrite)
    except BaseException:
        discard(temporary)
        raise


def claim_version(directory, model_dir, version=None, overwrite=False):
    """Rename the finished export `directory` to `model_dir`/<version>: the next free integer (taken by the
    rename itself, which fails on a non-empty directory another export claimed first), or `version`."""
    if version is not None:
        path = os.path.join(model_dir, str(int(version)))
        if overwrite:
            replace_directory(directory, path, "--version")
            return path
        try:
            os.rename(directory, path)
        except OSError:
            raise UserError(f"--version {version}: {path} exists; pass --overwrite to replace it, or another "
                            "--version") from None
        return path
    while True:
        path = os.path.join(model_dir, str(next_version(model_dir)))
        try:
            os.rename(directory, path)
            return path
        except OSError as error:  # ENOTEMPTY / EEXIST: another export took this version meanwhile
            if not os.path.isdir(path):
                raise error
