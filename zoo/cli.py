"""`gan-zoo`: the command line. Thin: parse, call the library, print."""
import argparse
import copy
import json
import os
import sys

from zoo.errors import UserError
from zoo.files import atomic_output, check_output, check_plain_name, write_output
from zoo.images import MAX_GRID_IMAGES


def parse_setting(text):
    """KEY=VALUE with VALUE parsed as JSON when it is JSON (numbers, true/false/null, lists), else a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def comma_separated(convert, what, example):
    """An argparse type: "a,b" → [convert("a"), convert("b")]; a part `convert` refuses, or no part at all
    ("", ","), is an error saying what is accepted."""
    def parse(text):
        try:
            values = [convert(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError:
            values = None
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, e.g. {example}; received {text!r}")
        return values

    return parse


parse_floats = comma_separated(float, "numbers", "0.5,0.7,1.0")
parse_ints = comma_separated(int, "integers", "0,1,2")


def parse_figure(text):
    path, _, caption = text.partition("=")
    if not path.endswith(".png") or not os.path.isfile(path) or not caption:
        raise argparse.ArgumentTypeError(f"expected PNG=CAPTION with an existing .png file; received {text!r}")
    return path, caption


def parse_classes(text):
    """Comma-separated class ids or names: '7,9' or 'sneaker,ankle boot'."""
    return [int(part) if part.strip().isdigit() else part.strip() for part in text.split(",") if part.strip()]


def add_train_parser(subparsers):
    from recipes import RECIPES

    parser = subparsers.add_parser("train", help="train a recipe from scratch (rerun the same command to resume)")
    parser.add_argument("recipe", help=f"one of: {', '.join(sorted(RECIPES))}")
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
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 on GPU, mixed_bfloat16 on CPU/TPU")
    parser.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                        help="XLA-compile the train step (jit_compile); the default wherever it can run (one replica), "
                             "--no-xla turns it off (GAN_ZOO_XLA=0 in the environment: off unless --xla)")
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
        verbose=2 if sys.stdout.isatty() and not args.quiet else 1, command=command_line(args.argv),
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


def add_train_evaluator_parser(subparsers):
    parser = subparsers.add_parser("train-evaluator",
                                   help="train the Fashion-MNIST evaluator network behind the metrics")
    parser.add_argument("--out", required=True, help="directory for model.weights.h5 and evaluator.json")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out directory whole")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="where the Fashion-MNIST IDX files are")
    parser.set_defaults(handler=run_train_evaluator)


def run_train_evaluator(args):
    from zoo.eval.classifier import CARD_FILE, train_evaluator
    from zoo.files import write_json
    from zoo.provenance import command_line, machine

    with atomic_output(args.out, args.overwrite, "dir") as directory:
        card = train_evaluator(directory, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                               data_dir=args.data_dir, verbose=2)
        card["training"].update(command=command_line(args.argv), machine=machine())
        write_json(os.path.join(directory, CARD_FILE), card)
    print(f"test accuracy {card['test_accuracy']:.4f}; weights sha256 {card['sha256']}; written to {args.out}")
    return 0


def add_evaluate_parser(subparsers):
    from zoo.eval.metric_registry import DEFAULT_METRICS, METRICS

    parser = subparsers.add_parser("evaluate", help="metrics of a generator with real-data baselines and protocol")
    parser.add_argument("target", help="a preset name or directory, a `gan-zoo train` run directory, a SavedModel "
                                       "directory (serving_default: z [, labels] → images) or a .keras file")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--seeds", type=int, default=3, help="sampling seeds; results are mean ± std over them")
    parser.add_argument("--reference", default="test", choices=("train", "test"), help="real split to compare with")
    parser.add_argument("--metrics", type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
                        default=list(DEFAULT_METRICS), help=f"comma-separated, from: {', '.join(METRICS)}")
    parser.add_argument("--features", default="fashion_mnist_evaluator",
                        choices=("fashion_mnist_evaluator", "inception_tfhub", "inception_keras"))
    parser.add_argument("--inception", help="TF-Hub Inception directory (inception_tfhub) or .h5 weights (inception_keras)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--gan-train-steps", type=int, default=600,
                        help="training steps (batch 128) of each GAN-train classifier and its real-data baseline")
    parser.add_argument("--data-dir", help="where the dataset's files are")
    parser.add_argument("--domain-a", help="translation recipes: domain A class (default: the training run's)")
    parser.add_argument("--domain-b", help="translation recipes: domain B class (default: the training run's)")
    parser.add_argument("--truncation", type=parse_floats, default=[1.0],
                        help="truncation ψ values, e.g. 0.5,0.6,0.7,0.8,0.9,1.0 (recipes with a mapping network): "
                             "one row each and an FID-vs-ψ plot")
    parser.add_argument("--plot", help="where the FID-vs-truncation plot goes (default: beside --out, else "
                                       "./fid_vs_truncation.png)")
    parser.add_argument("--no-untrained-baseline", action="store_true",
                        help="skip the untrained-generator row")
    parser.add_argument("--out", help="write the report (results + protocol) as JSON here")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out (and --plot) file")
    parser.set_defaults(handler=run_evaluate)


def refuse_sampling_options(recipe, target, labels, truncations):
    """--labels and --truncation choose what a z → image model draws: for other models they are refused, not ignored."""
    from recipes.capabilities import SAMPLE

    if SAMPLE not in recipe.capabilities and (labels is not None or any(psi != 1.0 for psi in truncations)):
        raise UserError(f"--labels and --truncation apply to z → image models; {target} does "
                        f"{recipe.task.replace('_', '-')}")


def feature_extractor(name, weights):
    from zoo.metrics import features

    if name == "inception_tfhub":
        return features.inception_tfhub(weights)
    if name == "inception_keras":
        if not weights:
            raise UserError("--features inception_keras needs --inception PATH to local ImageNet weights (.h5)")
        return features.inception_keras(weights)
    return features.fashion_mnist_evaluator()


def run_evaluate(args):
    from recipes.capabilities import SAMPLE, UPSCALE
    from zoo import sampling
    from zoo.eval import scoring, tasks
    from zoo.provenance import command_line

    plot = evaluation_plot(args)
    plot_flag = "--plot" if args.plot else "the default --plot (beside --out)"
    outputs = {key: check_output(path, args.overwrite, "file", flag) for key, path, flag in
               (("--out", args.out, "--out"), ("--plot", plot, plot_flag)) if path}
    recipe, description = sampling.load_target(args.target)
    refuse_sampling_options(recipe, args.target, None, args.truncation)
    extractor = feature_extractor(args.features, args.inception)
    if SAMPLE in recipe.capabilities:
        report = evaluate_sampling(args, recipe, extractor, description)
    elif UPSCALE in recipe.capabilities:
        report = tasks.evaluate_super_resolution(
            recipe, extractor, reference=args.reference, num_samples=args.num_samples, batch_size=args.batch_size,
            data_dir=args.data_dir, progress=progress_reporter("images upscaled"))
    else:
        report = tasks.evaluate_translation(
            recipe, extractor, evaluation_domains(args, description), reference=args.reference,
            batch_size=args.batch_size, data_dir=args.data_dir, progress=progress_reporter("images translated"))
    report["target"] = description
    report["command"] = command_line(args.argv)
    print(scoring.markdown_table(report))
    if args.out:
        write_output(outputs["--out"], lambda path: scoring.write_report(report, path))
        print(f"report: {args.out}")
    if plot:
        from zoo.plots import truncation_curve

        print(f"plot: {write_output(outputs['--plot'], lambda path: truncation_curve(report, args.truncation, path))}")
    return 0


def evaluation_plot(args):
    """Where evaluate's FID-vs-truncation plot goes (None: one ψ, no plot): --plot, else beside --out."""
    if len(args.truncation) <= 1:
        return None
    if args.plot:
        return args.plot
    return os.path.join(os.path.dirname(os.path.abspath(args.out)), "fid_vs_truncation.png") if args.out \
        else "fid_vs_truncation.png"


def evaluation_domains(args, description):
    """Translation domains: --domain-a/--domain-b, else the training run's, else the dataset default."""
    from zoo.train.config import domains_of

    data = description.get("data", {})
    domains = domains_of(data.get("dataset", "fashion_mnist"), data.get("domains"))
    return [args.domain_a or domains[0], args.domain_b or domains[1]]


def evaluate_sampling(args, recipe, extractor, description):
    from recipes.capabilities import TRAIN
    from zoo import sampling
    from zoo.eval import scoring
    from zoo.plots import truncation_label

    if args.truncation == [1.0]:
        sample_fns = {"generator": sampling.sampler(recipe)}
    else:
        sample_fns = {truncation_label(psi): sampling.sampler(recipe, psi) for psi in args.truncation}
    if not args.no_untrained_baseline and TRAIN in recipe.capabilities:  # a SavedModel has no initialisation
        sample_fns["untrained generator (baseline)"] = sampling.sampler(sampling.untrained_like(recipe))
    frame, image_size = dataset_frame(recipe, description, args.reference, args.data_dir)
    sample_fns = {label: frame(fn) for label, fn in sample_fns.items()}
    return scoring.evaluate(
        sample_fns, extractor, reference=args.reference, num_samples=args.num_samples, seeds=args.seeds,
        batch_size=args.batch_size, metrics=args.metrics, data_dir=args.data_dir, image_size=image_size,
        num_classes=recipe.num_classes if recipe.conditional else None, gan_train_steps=args.gan_train_steps,
        progress=progress_reporter("images sampled and scored"))


def dataset_frame(recipe, description, split, data_dir):
    """(frame, image_size): how a generator's samples meet Fashion-MNIST's images. `frame(sample_fn)` is
    the sample function scored (center-cropped to the dataset's frame for a generator trained on padded
    images); `image_size` the size the real images are resized to (None: their own)."""
    from zoo import sampling
    from zoo.data import datasets

    native = tuple(datasets.load("fashion_mnist", split, data_dir=data_dir).element_spec[0].shape[:2])
    if tuple(recipe.image_shape[:2]) == native:
        return (lambda sample_fn: sample_fn), None
    if description.get("data", {}).get("crop") == "pad":  # trained on padded images: compare the real frame
        return (lambda sample_fn: sampling.center_cropped(sample_fn, native)), None
    return (lambda sample_fn: sample_fn), recipe.image_shape[0]


def add_memorization_parser(subparsers):
    parser = subparsers.add_parser("memorization", help="does a generator copy its training images? The data-copying "
                                                        "statistic C_T and a nearest-training-image grid")
    parser.add_argument("target", help="a preset name or directory, a `gan-zoo train` run or a .keras file")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (the evaluation's seed 0 by default)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--data-dir", help="where the dataset's files are")
    parser.add_argument("--out", required=True, help="directory for memorization.json and nearest_neighbours.png")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out directory whole")
    parser.add_argument("--attach", action="store_true", help="also add the result to the preset's card (a preset "
                                                              "directory target; then run `gan-zoo cards`)")
    parser.set_defaults(handler=run_memorization)


def run_memorization(args):
    from recipes.capabilities import SAMPLE
    from zoo import sampling
    from zoo.eval import memorization
    from zoo.files import write_json
    from zoo.images import save_png
    from zoo.metrics import features
    from zoo.provenance import command_line

    output = check_output(args.out, args.overwrite, "dir")
    recipe, description = sampling.load_target(args.target)
    if args.attach and description["kind"] != "preset":
        raise UserError(f"--attach adds the result to a preset's card; {args.target} is a {description['kind']}")
    if SAMPLE not in recipe.capabilities:
        raise UserError(f"memorization checks z → image generators; {args.target} does "
                        f"{recipe.task.replace('_', '-')}")
    if isinstance(args.num_samples, bool) or args.num_samples < 2 * memorization.memorization.MIN_PER_CELL:
        raise UserError(f"--num-samples must be at least {2 * memorization.memorization.MIN_PER_CELL}; "
                        f"received {args.num_samples}")
    frame, image_size = dataset_frame(recipe, description, "train", args.data_dir)
    sample_fn, extractor = frame(sampling.sampler(recipe)), features.fashion_mnist_evaluator()
    options = {"batch_size": args.batch_size, "data_dir": args.data_dir, "image_size": image_size}
    report = memorization.memorization_report({"generator": sample_fn}, extractor, num_samples=args.num_samples,
                                              seed=args.seed, progress=progress_reporter("samples scored"),
                                              **options)
    report.update(target=description, command=command_line(args.argv))
    grid = memorization.nearest_neighbour_grid(sample_fn, extractor, seed=args.seed, **options)
    with atomic_output(output) as directory:
        write_json(os.path.join(directory, "memorization.json"), report)
        save_png(os.path.join(directory, "nearest_neighbours.png"), grid)
    grid = os.path.join(args.out, "nearest_neighbours.png")
    for row, result in report["results"].items():
        print(f"{row}: C_T = {result['c_t']:.2f} ({result['cells_used']} of {result['cells']} cells)")
    if args.attach:
        from zoo.presets.packaging import attach_memorization

        attach_memorization(description["path"], args.out)
        print(f"attached to {description['path']}/card.json; `gan-zoo cards` regenerates the Markdown")
    print(f"report: {os.path.join(args.out, 'memorization.json')}\ngrid: {grid} (each row: a sample, its "
          f"{memorization.NEIGHBOURS} nearest training images in evaluator features, then in pixels)")
    return 0


def add_style_mix_parser(subparsers):
    parser = subparsers.add_parser("style-mix", help="style-mixing grid of a StyleGAN-lite generator (PNG)")
    parser.add_argument("target", help="a `gan-zoo train` run directory or a .keras file of a stylegan_lite recipe")
    parser.add_argument("--rows", type=parse_ints, default=[0, 1, 2, 3], help="seeds of the coarse styles")
    parser.add_argument("--columns", type=parse_ints, default=[4, 5, 6, 7, 8], help="seeds of the fine styles")
    parser.add_argument("--crossover", type=int, default=2,
                        help="style layers below this index come from the row seed, the rest from the column seed")
    parser.add_argument("--truncation", type=float, default=1.0)
    parser.add_argument("--out", required=True, help="PNG file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.set_defaults(handler=run_style_mix)


def run_style_mix(args):
    from zoo import sampling
    from zoo.images import save_png

    output = check_output(args.out, args.overwrite)
    recipe, _ = sampling.load_target(args.target)
    grid = sampling.style_mixing_grid(recipe, args.rows, args.columns, args.crossover, args.truncation)
    print(f"style-mixing grid: {write_output(output, save_png, grid)}")
    return 0


def add_zoo_parsers(subparsers):
    parser = subparsers.add_parser("list", help="the pretrained models shipped with the package")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. '*fashion*'")
    parser.set_defaults(handler=run_list)

    parser = subparsers.add_parser("sample", help="sample a pretrained model (or a run) into a PNG grid")
    parser.add_argument("model", help="a preset name (`gan-zoo list`), a preset directory or a training run")
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", type=parse_ints, help="conditional models: class ids, one column each")
    parser.add_argument("--truncation", type=float, default=1.0, help="StyleGAN-lite: truncation ψ")
    parser.add_argument("--format", default="grid", choices=("grid", "folder"),
                        help="one grid PNG, or a folder of one PNG per sample (written in chunks)")
    parser.add_argument("--out", required=True, help="PNG file (grid) or directory (folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file (a folder: whole)")
    parser.set_defaults(handler=run_sample)

    parser = subparsers.add_parser("interpolate", help="walk between seeds' images: a PNG strip (one row per class for "
                                                       "conditional models) or a GIF animation")
    parser.add_argument("model", help="a preset name (`gan-zoo list`), a preset directory or a training run")
    parser.add_argument("--seeds", type=parse_ints, required=True, help="two or more seeds, e.g. 3,7,12 (a path)")
    parser.add_argument("--steps", type=int, default=8, help="frames per pair of seeds, both ends included")
    parser.add_argument("--labels", type=parse_ints, help="conditional models: classes, one row each (default: all)")
    parser.add_argument("--truncation", type=float, default=1.0, help="StyleGAN-lite: truncation ψ")
    parser.add_argument("--out", required=True, help="a .png (strip or grid) or .gif (animation) file")
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(handler=run_interpolate)

    parser = subparsers.add_parser("project", help="find the latent codes whose images match your pictures (GAN "
                                                   "inversion): target, reconstruction and the search's steps")
    parser.add_argument("model", help="a preset name (`gan-zoo list`), a preset directory or a training run")
    parser.add_argument("images", nargs="+", help="picture files (PNG, JPEG); resized to the model's frame if needed")
    parser.add_argument("--steps", type=int, default=500, help="Adam steps per image")
    parser.add_argument("--restarts", type=int, default=1, help="starts per image, the best kept (slower, closer)")
    parser.add_argument("--space", choices=("z", "w", "w+"), help="the codes searched: z, or StyleGAN-lite's w "
                                                                  "(default) or w+ (one w per style layer)")
    parser.add_argument("--labels", type=parse_ints, help="conditional models: one class per image (default: the "
                                                          "evaluator's class of each picture)")
    parser.add_argument("--frames", type=int, default=8, help="snapshots of the search in the strip and GIF (≥ 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random starts")
    parser.add_argument("--out", required=True, help="directory for the PNGs, GIFs, projection.json and codes.npz")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out directory whole")
    parser.set_defaults(handler=run_project)

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

    parser = subparsers.add_parser("card", help="print a pretrained model's card (Markdown, or --json)")
    parser.add_argument("model")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_card)

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

    parser = subparsers.add_parser("cards", help="regenerate the Markdown model cards and their index")
    parser.add_argument("--out", default=os.path.join("docs", "model_cards"))
    parser.add_argument("--readme", default="README.md", help="README whose preset table is updated ('' to skip)")
    parser.set_defaults(handler=run_cards)


def run_list(args):
    from zoo.presets import store

    for name in store.list_models(args.pattern):
        card = store.card(name)
        print(f"{name:36s} {card['recipe']:14s} {card['task']:17s} {'x'.join(map(str, card['image_shape']))}")
    return 0


PROGRESS_SECONDS = 10.0  # long CLI jobs print a line at most this often


def progress_reporter(what, print_fn=print):
    """report(done, total): a line "done/total what (s, ETA)" to stderr at most every PROGRESS_SECONDS (none
    once done reaches total): what `sample --format folder`, `evaluate`, `memorization` and `project` show."""
    import time

    started = last = time.monotonic()

    def report(done, total):
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_SECONDS or done >= total:
            return
        last = now
        left = (now - started) / done * (total - done)
        print_fn(f"{done}/{total} {what} ({now - started:.0f} s, about {left:.0f} s left)", file=sys.stderr, flush=True)

    return report


def run_sample(args):
    from recipes.capabilities import SAMPLE
    from zoo.images import save_png
    from zoo.presets.packaging import preview_grid, sample_grid
    from zoo.presets.pretrained import load_generator

    output = check_output(args.out, args.overwrite, "dir" if args.format == "folder" else "file")
    generator, description = load_generator(args.model)
    recipe = generator.recipe
    refuse_sampling_options(recipe, args.model, args.labels, [args.truncation])
    if SAMPLE not in recipe.capabilities:  # image-to-image: its own preview of real test inputs
        if args.format == "folder":
            raise UserError(f"--format folder samples z → image models; {args.model} does "
                            f"{recipe.task.replace('_', '-')}: use the Python API (translate / upscale)")
        print(f"samples: {write_output(output, save_png, preview_grid(recipe, description, args.seed))}")
        return 0
    if args.format == "folder":
        with atomic_output(output) as directory:
            index, report = 0, progress_reporter("PNG files written")
            for chunk in generator.sample_chunks(args.num, args.seed, args.labels, args.truncation):
                for image in chunk:
                    save_png(os.path.join(directory, f"{index:06d}.png"), image)
                    index += 1
                report(index, args.num)
        print(f"samples: {index} PNG files in {args.out}")
        return 0
    if isinstance(args.num, int) and args.num > MAX_GRID_IMAGES:
        raise UserError(f"--num {args.num}: a grid holds at most {MAX_GRID_IMAGES} images; "
                        "pass --format folder for more (one PNG each, written in chunks)")
    grid = sample_grid(generator, args.num, args.seed, args.labels, args.truncation)
    print(f"samples: {write_output(output, save_png, grid)}")
    return 0


def run_interpolate(args):
    import numpy as np

    from zoo.images import make_grid, save_gif, save_png
    from zoo.presets.pretrained import load_generator

    if os.path.splitext(args.out)[1].lower() not in (".png", ".gif"):
        raise UserError(f"--out {args.out}: accepted: a .png file (frames in rows) or a .gif file (an animation)")
    if len(args.seeds) < 2:
        raise UserError(f"--seeds needs two or more seeds to walk between; received {args.seeds}")
    output = check_output(args.out, args.overwrite)
    generator, _ = load_generator(args.model)
    labels = args.labels or (list(range(generator.num_classes)) if generator.conditional else [None])
    frames = (len(args.seeds) - 1) * (args.steps - 1) + 1
    if isinstance(args.steps, int) and frames * len(labels) > MAX_GRID_IMAGES:
        raise UserError(f"{frames} frames × {len(labels)} rows is more than {MAX_GRID_IMAGES} images; "
                        "pass fewer --seeds, --steps or --labels")
    rows = []  # one path per label: the pairs' frames, each pair's first frame dropped after the first pair
    for label in labels:
        pairs = [generator.interpolate(a, b, args.steps, label, args.truncation)
                 for a, b in zip(args.seeds, args.seeds[1:])]
        rows.append(np.concatenate([pairs[0], *[pair[1:] for pair in pairs[1:]]]))
    if args.out.lower().endswith(".gif"):
        path = write_output(output, save_gif, [make_grid(np.stack([row[i] for row in rows]), columns=len(rows))
                                               for i in range(frames)])
    else:
        path = write_output(output, save_png, make_grid(np.concatenate(rows), columns=frames))
    print(f"interpolation: {path} ({frames} frames × {len(rows)} row(s))")
    return 0


def run_project(args):
    import numpy as np

    from recipes.capabilities import SAMPLE
    from zoo.files import write_json
    from zoo.images import make_grid, read_image, save_gif, save_png, to_uint8
    from zoo.presets.pretrained import load_generator
    from zoo.provenance import command_line
    from zoo.sampling import padded_frame

    output = check_output(args.out, args.overwrite, "dir")
    if args.frames < 2:
        raise UserError(f"--frames must be at least 2 (the start and the result); received {args.frames}")
    generator, description = load_generator(args.model)
    generator.require(SAMPLE, "project")
    frame = padded_frame(generator.recipe, generator.data) or generator.image_shape[:2]
    stems = [os.path.splitext(os.path.basename(path))[0] for path in args.images]
    if len(set(stems)) != len(stems):
        raise UserError(f"the pictures' names must differ (their outputs are named after them); received {args.images}")
    targets = np.stack([read_image(path, generator.image_shape[2], frame) for path in args.images])
    result = generator.project(targets, steps=args.steps, labels=args.labels, space=args.space,
                               restarts=args.restarts, frames=args.frames, seed=args.seed,
                               progress=progress_reporter("search steps"))
    padded_targets = to_uint8(generator.in_canvas(targets))  # as the generator sees them
    with atomic_output(output) as directory:
        rows = []
        for index, stem in enumerate(stems):
            save_png(os.path.join(directory, f"{stem}_target.png"), padded_targets[index])
            save_png(os.path.join(directory, f"{stem}_projection.png"), result.images[index])
            steps = np.concatenate([padded_targets[index:index + 1], result.frames[:, index]])
            save_png(os.path.join(directory, f"{stem}_steps.png"), make_grid(steps, columns=len(steps)))
            save_gif(os.path.join(directory, f"{stem}_steps.gif"), result.frames[:, index], milliseconds=150)
            rows.append({"picture": os.path.abspath(args.images[index]), "psnr_db": round(float(result.psnr[index]), 3),
                         "feature_distance": round(float(result.feature_distance[index]), 4),
                         "loss": round(float(result.loss[index]), 5),
                         "label": None if result.labels is None else int(result.labels[index])})
        np.savez(os.path.join(directory, "codes.npz"), **result.codes)
        write_json(os.path.join(directory, "projection.json"), {
            "target": description, "command": command_line(args.argv), "images": rows,
            "search": {"steps": args.steps, "restarts": args.restarts, "space": next(name for name in ("z", "w", "w+") if name in result.codes),
                       "seed": args.seed, "loss": "pixel MSE + evaluator feature distance (zoo.projection)"}})
    for row, stem in zip(rows, stems):
        print(f"{stem}: PSNR {row['psnr_db']:.2f} dB, feature distance {row['feature_distance']:.3f}"
              + ("" if row["label"] is None else f", class {row['label']}"))
    print(f"outputs: {args.out} (NAME_target.png, NAME_projection.png, NAME_steps.png/.gif, projection.json, codes.npz)")
    return 0


def run_finetune(args):
    """Train from a preset's weights on the user's data (resized to the preset's resolution and
    channels, center-cropped to its aspect ratio), then package the result as a new preset."""
    import recipes
    from recipes.capabilities import SAMPLE
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
        sample_every=max(1, args.steps // 4), checkpoint_every=max(1, min(500, args.steps // 4)), verbose=2 if sys.stdout.isatty() and not args.quiet else 1,
        command=command_line(args.argv))
    name = check_plain_name(args.name or f"{card['name']}_finetuned", "--name")  # before training
    state = train(config)
    preset = make_preset(args.out, name, args.out, notes=f"Fine-tuned from {card['name']} on {args.data}.",
                         overwrite=True)  # its own preset, inside its run directory: rewritten by each rerun
    print(f"{state['status']} at step {state['step']}; fine-tuned preset: {preset} (zoo.load({preset!r}))")
    return 0


def run_card(args):
    from zoo.presets import store
    from zoo.presets.packaging import card_markdown

    card = store.card(args.model)
    print(json.dumps(card, indent=2, sort_keys=True) if args.json else card_markdown(card))
    return 0


def run_make_preset(args):
    from zoo.presets import store
    from zoo.presets.packaging import make_preset

    directory = make_preset(args.run, args.name, args.out or store.PRESETS_DIR, args.evaluation, args.notes,
                            args.figures, args.memorization, overwrite=args.overwrite,
                            allow_incomplete=args.allow_incomplete)
    print(f"preset: {directory}")
    return 0


def run_cards(args):
    from zoo.presets.packaging import write_all_cards

    print(f"model cards: {write_all_cards(args.out, args.readme or None)}")
    return 0


def add_launch_parser(subparsers):
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


def add_study_parser(subparsers):
    parser = subparsers.add_parser(
        "study", help="compare GAN losses fairly: same architecture, random hyper-parameter trials × seeds, report",
        description="gan-zoo study --losses non_saturating,hinge --seeds 3 --trials 2 --steps 2000 --out studies/fm "
                    "(rerun the same command to resume: finished runs are skipped)")
    parser.add_argument("--losses", required=True, type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
                        help="comma-separated names of recipes/losses.py LOSSES")
    parser.add_argument("--out", required=True, help="study directory: runs, results.jsonl, report.md")
    parser.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist or triangles (28x28 grayscale)")
    parser.add_argument("--data-dir")
    parser.add_argument("--architecture", default="dcgan")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per trial")
    parser.add_argument("--trials", type=int, default=2, help="random hyper-parameter settings per loss")
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--set", dest="settings", action="append", type=parse_setting, default=[], metavar="KEY=VALUE",
                        help="a recipe setting shared by every run, e.g. width=32 (repeatable)")
    parser.add_argument("--eval-every", type=int, default=500, help="periodic FID of each run every N steps (0: off)")
    parser.add_argument("--eval-samples", type=int, default=2000, help="samples per periodic FID")
    parser.add_argument("--final-samples", type=int, default=5000, help="samples of each run's final evaluation")
    parser.add_argument("--search-seed", type=int, default=0, help="seed of the hyper-parameter draws")
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time (the cores are split between them)")
    parser.add_argument("--xla", action="store_true", help="XLA-compile every run's train step")
    parser.set_defaults(handler=run_study)


def run_study(args):
    from zoo.files import locked_directory
    from zoo.study.design import StudyConfig
    from zoo.study.runner import study

    config = StudyConfig(losses=args.losses, out=args.out, dataset=args.dataset, data_dir=args.data_dir,
                         architecture=args.architecture, seeds=args.seeds, trials=args.trials, steps=args.steps,
                         batch_size=args.batch_size, settings=dict(args.settings), eval_every=args.eval_every,
                         eval_samples=args.eval_samples, final_samples=args.final_samples,
                         search_seed=args.search_seed, parallel=args.parallel, xla=args.xla)
    check_output(args.out, kind="base")
    with locked_directory(args.out):  # one study at a time in a study directory (each run locks its own)
        report, failed = study(config, progress=lambda line: print(line, flush=True))
    print(f"report: {report}")
    if failed:
        print(f"gan-zoo study: {len(failed)} run(s) failed (see their study_run.log); rerun the same command to "
              "resume them", file=sys.stderr)
        return 1
    return 0


def default_note(action):
    """"(default: 64)" for an option whose default says something (not None, False or []), else ""."""
    default = action.default
    if default is None or default is False or default == [] or default is argparse.SUPPRESS \
            or not (action.option_strings or action.nargs == "?"):
        return ""
    shown = ", ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
    return f"(default: {shown.replace('%', '%%')})"


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """--help that ends each option's line with its default, unless its help already says it in words."""

    def _get_help_string(self, action):
        note = default_note(action)
        return action.help if not note or "(default" in (action.help or "") else f"{action.help} {note}"

    def _format_action(self, action):
        if action.help is None and default_note(action):  # argparse prints no line for an option without help
            action = copy.copy(action)
            action.help = default_note(action)
        return super()._format_action(action)


def build_parser(extra_parsers=()):
    """The `gan-zoo` parser; `extra_parsers` add subcommands of packages that import zoo
    (hub_export's export and serve: imports go hub_export → zoo, never back)."""
    parser = argparse.ArgumentParser(prog="gan-zoo", description="GAN Zoo: train, sample and evaluate GANs",
                                     formatter_class=DefaultsHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in (add_train_parser, add_train_evaluator_parser, add_evaluate_parser, add_memorization_parser,
                       add_style_mix_parser, add_zoo_parsers, add_launch_parser, add_study_parser, *extra_parsers):
        add_parser(subparsers)
    for subcommand in subparsers.choices.values():
        subcommand.formatter_class = DefaultsHelpFormatter
    return parser


CHECKPOINTING_COMMANDS = ("train", "finetune", "launch", "study")  # the commands that save a checkpoint on Ctrl-C


def interrupted_message(command):
    """What Ctrl-C left behind: training commands saved a checkpoint; the others stopped without finishing."""
    if command in CHECKPOINTING_COMMANDS:
        return "interrupted; a checkpoint was saved: rerun the same command to resume"
    return f"{command} interrupted before it finished; rerun the command to start it again"


def main(argv=None, extra_parsers=()):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(extra_parsers).parse_args(argv)
    args.argv = argv  # for provenance: the command as typed
    from zoo.errors import Terminated, TrainingDiverged

    try:
        return args.handler(args)
    except UserError as error:
        print(f"gan-zoo: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"gan-zoo: {error}", file=sys.stderr)
        return 1
    except Terminated:
        print("gan-zoo: stopped by SIGTERM (exit status 143); a training run keeps its last checkpoint: rerun the "
              "same command to resume", file=sys.stderr)
        return Terminated.exit_status
    except KeyboardInterrupt:
        print(f"gan-zoo: {interrupted_message(args.command)}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
