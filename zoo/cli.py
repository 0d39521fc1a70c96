"""`gan-zoo`: the command line. Thin: parse, call the library, print."""
import argparse
import json
import os
import sys



def parse_setting(text):
    """KEY=VALUE with VALUE parsed as JSON when it is JSON (numbers, true/false/null, lists), else a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def parse_classes(text):
    """Comma-separated class ids or names: '7,9' or 'sneaker,ankle boot'."""
    return [int(part) if part.strip().isdigit() else part.strip() for part in text.split(",") if part.strip()]


def add_train_parser(subparsers):
    from recipes import RECIPES

    parser = subparsers.add_parser("train", help="train a recipe from scratch (rerun the same command to resume)")
    parser.add_argument("recipe", help=f"one of: {', '.join(sorted(RECIPES))}")
    parser.add_argument("--out", required=True, help="run directory: checkpoints, samples, logs")
    parser.add_argument("--dataset", default="fashion_mnist",
                        help="fashion_mnist (offline from the Debian IDX files, or tfds), any tfds image dataset, "
                             "or a folder of images (one subfolder per class for labels)")
    parser.add_argument("--data-dir", help="where the dataset's files are (IDX files, tfds data_dir)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--image-size", type=int, help="resize images to this square size")
    parser.add_argument("--channels", type=int, choices=(1, 3))
    parser.add_argument("--classes", type=parse_classes, help="keep only these classes, e.g. 7,9 or sneaker,bag")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps in total (default 2000)")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", default="auto", choices=("auto", "default", "mirrored", "multi_worker"))
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 on GPU, mixed_bfloat16 on CPU/TPU")
    parser.add_argument("--set", dest="settings", action="append", type=parse_setting, default=[], metavar="KEY=VALUE",
                        help="recipe setting (e.g. width=32, n_critic=5, ema_decay=0.999) or optimizer setting "
                             "(lr, g_lr, d_lr, beta_1, beta_2); repeatable")
    parser.add_argument("--log-every", type=int, default=100, help="steps per progress-bar line and TensorBoard point")
    parser.add_argument("--sample-every", type=int, default=500, help="steps between sample grids")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    parser.add_argument("--quiet", action="store_true",
                        help="a line per --log-every steps instead of a progress bar (the default when not on a terminal)")
    parser.set_defaults(handler=run_train)


def run_train(args):
    from zoo.training import OPTIMIZER_KEYS, TrainConfig, train

    settings = dict(args.settings)
    config = TrainConfig(
        recipe=args.recipe, out=args.out, dataset=args.dataset, data_dir=args.data_dir, split=args.split,
        image_size=args.image_size, channels=args.channels, classes=args.classes, steps=args.steps,
        batch_size=args.batch_size, seed=args.seed, strategy=args.strategy, mixed_precision=args.mixed_precision,
        recipe_args={k: v for k, v in settings.items() if k not in OPTIMIZER_KEYS},
        optimizer_args={k: v for k, v in settings.items() if k in OPTIMIZER_KEYS},
        log_every=args.log_every, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
        verbose=2 if sys.stdout.isatty() and not args.quiet else 1,
    )
    state = train(config)
    logs = ", ".join(f"{k}={v:.4f}" for k, v in state.get("logs", {}).items())
    print(f"{state['status']} at step {state['step']}/{state['total_steps']} {logs}".rstrip())
    samples = os.path.join(args.out, "samples", f"step_{state['step']:06d}.png")
    if os.path.exists(samples):
        print(f"samples: {samples}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="gan-zoo", description="GAN Zoo: train, sample and evaluate GANs")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_train_parser(subparsers)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from zoo.errors import TrainingDiverged, UserError

    try:
        return args.handler(args)
    except UserError as error:
        print(f"gan-zoo: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"gan-zoo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gan-zoo: interrupted; a checkpoint was saved: rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
