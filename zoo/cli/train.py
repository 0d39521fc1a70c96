"""gan-zoo's training verbs: train, finetune, launch (multi-worker on this machine) and make-preset."""
import argparse
import os
import sys

from zoo.cli import declared
from zoo.cli.options import parse_classes, parse_figure, parse_setting
from zoo.errors import UserError


def add_train(subparsers):
    parser = subparsers.add_parser("train", help="train a recipe from scratch (rerun the same command to resume)")
    parser.add_argument("recipe", help=f"one of: {', '.join(declared.recipe_names())}")
    parser.add_argument("--out", required=True, help="run directory: checkpoints, samples, logs")
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="fashion_mnist (offline from the Debian IDX files, or tfds), triangles (synthetic), any "
                             "tfds image dataset, or a folder of images (one subfolder per class for labels)")
    parser.add_argument("--data-dir", help="where the dataset's files are (IDX files, tfds data_dir)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--image-size", type=int, help="bring images to this square size (see --crop)")
    parser.add_argument("--crop", default="none", choices=("none", "center", "random", "pad"),
                        help="how images reach --image-size: resize (none), center or random crop, or pad "
                             "with black (e.g. Fashion-MNIST 28 → 32)")
    parser.add_argument("--channels", type=int, choices=(1, 3))
    parser.add_argument("--classes", type=parse_classes, help="keep only these classes, e.g. 7,9 or sneaker,bag")
    parser.add_argument("--domain-a", help="unpaired recipes (cyclegan): domain A, a class of --dataset or a folder "
                                           "(fashion_mnist default: sneaker)")
    parser.add_argument("--domain-b", help="domain B (fashion_mnist default: ankle boot)")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps in total")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", default="auto",
                        help="auto (mirrored when there are several GPUs, else default), default (one device), "
                             "mirrored (all local GPUs or logical CPUs), multi_worker (TF_CONFIG), tpu")
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None,
                        help="mixed_float16 on GPU, mixed_bfloat16 on CPU/TPU (--mixed-precision) or float32 "
                             "(--no-mixed-precision); default: on a CPU with native bfloat16, for recipes whose "
                             "quality was checked in it (README: Training), whichever measured faster; else float32. "
                             "A resumed run keeps its precision")
    parser.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                        help="XLA-compile the train step (--xla) or use TensorFlow's graph (--no-xla); default: the "
                             "faster, measured once per machine and workload (GAN_ZOO_XLA=0: the graph in float32, "
                             "nothing measured, unless --xla / --mixed-precision)")
    parser.add_argument("--set", dest="settings", action="append", type=parse_setting, default=[], metavar="KEY=VALUE",
                        help="recipe setting (e.g. width=32, n_critic=5, ema_decay=0.999) or optimizer setting "
                             "(lr, g_lr, d_lr, beta_1, beta_2); repeatable")
    parser.add_argument("--log-every", type=int, default=100, help="steps per progress-bar line and TensorBoard point")
    parser.add_argument("--sample-every", type=int, default=500, help="steps between sample grids")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    parser.add_argument("--eval-every", type=int, default=0,
                        help="every N steps log FID/KID (Fashion-MNIST evaluator features) to TensorBoard and "
                             "keep the best-FID checkpoint in OUT/best (0: off)")
    parser.add_argument("--eval-samples", type=int, default=2000, help="samples per periodic evaluation")
    parser.add_argument("--init-from", metavar="PRESET",
                        help="start from a preset's networks (name or directory; same recipe and architecture) with "
                             "fresh optimizers: continue a preset's training, or fine-tune it on --dataset")
    parser.add_argument("--quiet", action="store_true",
                        help="a line per --log-every steps instead of a progress bar (the default when not on a terminal)")
    parser.set_defaults(handler=run_train)


def keras_verbosity(quiet):
    """2 (a progress bar) on a terminal unless --quiet, else 1 (a line per log window)."""
    return 2 if sys.stdout.isatty() and not quiet else 1


def run_train(args):
    from zoo.provenance import command_line
    from zoo.train import run_directory
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    config = TrainConfig.with_settings(
        args.settings, recipe=args.recipe, out=args.out, dataset=args.dataset, data_dir=args.data_dir,
        split=args.split, image_size=args.image_size, crop=args.crop, channels=args.channels, classes=args.classes,
        steps=args.steps, domains=[args.domain_a, args.domain_b] if args.domain_a or args.domain_b else None,
        batch_size=args.batch_size, seed=args.seed, strategy=args.strategy, mixed_precision=args.mixed_precision,
        jit_compile=args.xla, log_every=args.log_every, sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every, eval_every=args.eval_every, eval_samples=args.eval_samples,
        verbose=keras_verbosity(args.quiet), command=command_line(args.argv),
        init_from=init_from_preset(args.recipe, args.init_from),
    )
    state = train(config)
    logs = ", ".join(f"{k}={v:.4f}" for k, v in state.get("logs", {}).items())
    print(f"{state['status']} at step {state['step']}/{state['total_steps']} {logs}".rstrip())
    samples = run_directory.sample_grid_path(args.out, state["step"])
    if os.path.exists(samples):
        print(f"samples: {samples}")
    return 0


def init_from_preset(recipe, preset):
    """The absolute directory of `preset` (`--init-from`), whose recipe must be `recipe`; None without one."""
    if preset is None:
        return None
    from zoo.presets import store

    directory = os.path.abspath(store.preset_path(preset))
    preset_recipe = store.card(directory)["recipe"]
    if preset_recipe != recipe:
        raise UserError(f"--init-from {preset} is a {preset_recipe} preset; train {preset_recipe} from it, or pick a "
                        f"{recipe} preset")
    return directory


def add_finetune(subparsers):
    parser = subparsers.add_parser("finetune", help="fine-tune a preset's generator and discriminator on your images")
    parser.add_argument("model", help="a preset name or directory")
    parser.add_argument("--data", required=True, help="a folder of images (one subfolder per class for labels) "
                                                       "or a dataset name")
    parser.add_argument("--classes", type=parse_classes, help="keep only these classes of --data")
    parser.add_argument("--split", default="train")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[], metavar="KEY=VALUE",
                        help="optimizer settings (lr, g_lr, d_lr, beta_1, beta_2) and ema_decay")
    parser.add_argument("--name", help="name of the fine-tuned preset (default: <model>_finetuned)")
    parser.add_argument("--out", required=True, help="run directory; the new preset is written inside it")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(handler=run_finetune)


def run_finetune(args):
    """Train from a preset's weights on the user's data (resized to the preset's resolution and
    channels, center-cropped to its aspect ratio), then package the result as a new preset."""
    import recipes
    from recipes.capabilities import SAMPLE
    from zoo.files import check_plain_name
    from zoo.presets import store
    from zoo.presets.packaging import make_preset
    from zoo.provenance import command_line
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    directory = store.preset_path(args.model)
    card = store.card(directory)
    if SAMPLE not in recipes.get_recipe(card["recipe"]).capabilities:
        raise UserError(f"finetune trains z → image generators; {card['name']} does {card['task'].replace('_', '-')}")
    height, width, channels = card["image_shape"]
    config = TrainConfig.with_settings(
        args.settings, recipe=card["recipe"], out=args.out, dataset=args.data, split=args.split, image_size=height,
        crop="center", channels=channels, classes=args.classes, steps=args.steps, batch_size=args.batch_size,
        seed=args.seed, init_from=os.path.abspath(directory), log_every=max(1, min(100, args.steps // 10)),
        sample_every=max(1, args.steps // 4), checkpoint_every=max(1, min(500, args.steps // 4)),
        verbose=keras_verbosity(args.quiet), command=command_line(args.argv))
    name = check_plain_name(args.name or f"{card['name']}_finetuned", "--name")  # before training
    state = train(config)
    preset = make_preset(args.out, name, args.out, notes=f"Fine-tuned from {card['name']} on {args.data}.",
                         overwrite=True)  # its own preset, inside its run directory: rewritten by each rerun
    print(f"{state['status']} at step {state['step']}; fine-tuned preset: {preset} (zoo.load({preset!r}))")
    return 0


def add_launch(subparsers):
    parser = subparsers.add_parser("launch", help="run N multi-worker training processes on this machine (loopback)",
                                   description="gan-zoo launch --workers 2 -- wgan_gp --steps 100 --out runs/mw")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, help="stop every worker after this many seconds")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the arguments of gan-zoo train")
    parser.set_defaults(handler=run_launch)


def run_launch(args):
    from zoo.train.launch import launch

    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    if not train_args:
        raise UserError("give the training arguments after --, e.g. gan-zoo launch --workers 2 -- wgan_gp --out runs/mw")
    return launch(args.workers, train_args, args.timeout)


def add_make_preset(subparsers):
    parser = subparsers.add_parser("make-preset", help="package a finished run (+ its evaluation) as a preset")
    parser.add_argument("run", help="a completed `gan-zoo train` run directory")
    parser.add_argument("--name", required=True)
    parser.add_argument("--evaluation", help="the run's `gan-zoo evaluate --out` report")
    parser.add_argument("--notes", help="a sentence for the card")
    parser.add_argument("--memorization", help="the run's `gan-zoo memorization --out` directory")
    parser.add_argument("--figure", dest="figures", action="append", default=[], type=parse_figure,
                        metavar="PNG=CAPTION", help="a figure for the card (repeatable)")
    parser.add_argument("--out", help="presets directory (default: the package's zoo/presets, the shipped presets)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing preset of that name (whole)")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="package a run stopped before its --steps (the card records where it stopped)")
    parser.set_defaults(handler=run_make_preset)


def run_make_preset(args):
    from zoo.presets import store
    from zoo.presets.packaging import make_preset

    directory = make_preset(args.run, args.name, args.out or store.PRESETS_DIR, args.evaluation, args.notes,
                            args.figures, args.memorization, overwrite=args.overwrite,
                            allow_incomplete=args.allow_incomplete)
    print(f"preset: {directory}")
    return 0
