"""What a training run accepts: `TrainConfig` and the checks of its values."""
import dataclasses
import math

from zoo import checks
from zoo.errors import UserError
from zoo.files import check_output


STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
OPTIMIZER_KEYS = ("lr", "g_lr", "d_lr", "beta_1", "beta_2")


DEFAULT_DOMAINS = {"fashion_mnist": ["sneaker", "ankle boot"]}


def domains_of(dataset, domains=None):
    """An unpaired run's two domains: those given, else the dataset's default pair (None if it has none)."""
    return domains or DEFAULT_DOMAINS.get(dataset)


@dataclasses.dataclass
class TrainConfig:
    """Everything `gan-zoo train` accepts. `recipe_args` go to the recipe's constructor;
    `optimizer_args` (keys in OPTIMIZER_KEYS) override the recipe's Adam defaults."""

    recipe: str
    out: str
    dataset: str = "fashion_mnist"
    data_dir: str = None
    split: str = "train"
    image_size: int = None
    crop: str = "none"  # how images reach image_size: resize ("none"), "center", "random" crops, or "pad"
    channels: int = None
    classes: list = None
    domains: list = None  # unpaired recipes (CycleGAN): [domain A, domain B], each a class of `dataset` or a folder
    steps: int = 2000
    batch_size: int = 64
    seed: int = 0
    strategy: str = "auto"
    mixed_precision: bool = None  # mixed bfloat16 (CPU) / float16 (GPU); None: measured where eligible, else float32
    jit_compile: bool = None  # XLA-compile each replica's train step; None: the faster path, measured (autotune)
    recipe_args: dict = dataclasses.field(default_factory=dict)
    optimizer_args: dict = dataclasses.field(default_factory=dict)
    log_every: int = 100
    eval_every: int = 0  # 0: off; else FID/KID (Fashion-MNIST evaluator features) every N steps
    eval_samples: int = 2000
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    verbose: int = 1  # 0 silent, 1 a line per log_every steps, 2 a progress bar
    command: str = None  # the command line that asked for this run (provenance in train_state.json)
    init_from: str = None  # a preset (name or directory): start from its networks and architecture (fine-tuning)

    @classmethod
    def with_settings(cls, settings, **fields):
        """A config whose settings ({name: value}, as `--set name=value` gives them) go to the optimizers
        (names in OPTIMIZER_KEYS) or else to the recipe's constructor."""
        settings = dict(settings)
        return cls(recipe_args={key: value for key, value in settings.items() if key not in OPTIMIZER_KEYS},
                   optimizer_args={key: value for key, value in settings.items() if key in OPTIMIZER_KEYS}, **fields)


def check_counts(config, positive):
    """--eval-every is 0 (off) or positive; the options named in `positive` are positive integers."""
    if not isinstance(config.eval_every, int) or config.eval_every < 0:
        raise UserError(f"--eval-every must be 0 (off) or a positive integer; received {config.eval_every!r}")
    for name in positive:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be a positive integer; received {value!r}")


PERIODIC_EVAL_SAMPLES = 2  # the periodic FID and KID need a covariance and a pair

MAX_IMAGE_SIZE = 256  # pixels a side: the recipes are small convnets for small images (the presets: 28 and 32 px);
# DCGAN's first dense layer maps z onto a (side/4)² × 128 map: 52 M weights at 256 px (0.8 GB with its gradient and
# Adam's two moments), 839 M at 1024 px
MAX_STEP_BYTES = 16 * 2**30  # activations of one step: two thirds of this project's 23 GiB machine


def check_image_size(height, width, what):
    """Images of at most MAX_IMAGE_SIZE a side (checked before a pipeline resizes to them or a network is built)."""
    if max(height, width) > MAX_IMAGE_SIZE:
        raise UserError(f"{what} of {height}x{width} pixels: the recipes take at most {MAX_IMAGE_SIZE} pixels a side "
                        f"(small convnets; larger images need an architecture made for them); pass --image-size "
                        f"{MAX_IMAGE_SIZE} or less")


def activations(network, input_shapes=None):
    """Floats one example leaves in `network`'s layer outputs when its inputs have the per-example shapes
    `input_shapes` (default: the network's own; SRGAN's any-size generator is counted at its training crops).
    Nested models (fixed-size in every recipe) are counted layer by layer."""
    import keras

    layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    outputs = [layer.output for layer in layers]
    if input_shapes and [tuple(shape) for shape in input_shapes] != [tuple(x.shape[1:]) for x in network.inputs]:
        probe = keras.Model(network.inputs, [output for layer, output in zip(layers, outputs)
                                             if not isinstance(layer, keras.Model)])
        concrete = iter(probe.compute_output_spec([keras.KerasTensor((1, *shape)) for shape in input_shapes]))
        outputs = [output if isinstance(layer, keras.Model) else next(concrete) for layer, output in zip(layers, outputs)]
    return sum(activations(layer) if isinstance(layer, keras.Model)
               else sum(math.prod(tensor.shape[1:]) for tensor in keras.tree.flatten(output))
               for layer, output in zip(layers, outputs))


def check_step_fits(recipe, batch_size):
    """Refuse a step that would take more than MAX_STEP_BYTES before TensorFlow tries to allocate it: the real
    images it consumes (n_critic batches for WGAN-GP) and every network's layer outputs for each example of the
    batch, float32, twice (backpropagation keeps each activation and its gradient; the discriminator also sees
    the fakes)."""
    networks = {**recipe.networks("g"), **recipe.networks("d")}
    floats = sum(activations(network, recipe.step_input_shapes(name)) for name, network in networks.items()) * 2
    floats += recipe.real_batches_per_step * math.prod(recipe.image_shape)
    size = batch_size * floats * 4
    if size > MAX_STEP_BYTES:
        raise UserError(f"--batch-size {batch_size}: one step's activations ({', '.join(networks)} at "
                        f"{tuple(recipe.image_shape)}) would take at least {size / 2**30:.1f} GiB (at most "
                        f"{MAX_STEP_BYTES / 2**30:.0f} GiB); pass a smaller --batch-size")


def check_optimizer_settings(settings):
    """Learning rates finite and ≥ 0 (0 freezes a player); Adam's β₁, β₂ in [0, 1) (β ≥ 1 makes its
    moment estimates diverge)."""
    for key, value in settings.items():
        rate = key.endswith("lr")
        number = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        if not number or not (value >= 0 if rate else 0 <= value < 1):
            accepted = "a finite number ≥ 0" if rate else "a number in [0, 1)"
            raise UserError(f"Optimizer setting {key}={value!r} must be {accepted}")


def validate(config):
    check_counts(config, ("steps", "batch_size", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
                          "eval_samples"))
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed < 2**32:
        raise UserError(f"--seed must be an integer in [0, 2**32) (numpy's global seed); received {config.seed!r}")
    if config.eval_every and config.eval_samples < PERIODIC_EVAL_SAMPLES:
        raise UserError(f"--eval-samples must be at least {PERIODIC_EVAL_SAMPLES} (FID needs a covariance); received "
                        f"{config.eval_samples}")
    if config.image_size is not None:
        check_image_size(*checks.image_size(config.image_size), "--image-size")
    check_output(config.out, kind="base")
