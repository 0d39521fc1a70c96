"""gan-zoo's verbs that measure: evaluate, memorization, train-evaluator and study (a fair comparison of losses)."""
import os
import sys

from zoo.cli import declared
from zoo.cli.options import parse_floats, parse_names, parse_setting, refuse_sampling_options
from zoo.errors import UserError


def add_evaluate(subparsers):
    metrics = declared.metrics()
    parser = subparsers.add_parser("evaluate", help="metrics of a generator with real-data baselines and protocol")
    parser.add_argument("target", help="a preset name or directory, a `gan-zoo train` run directory, a SavedModel "
                                       "directory (serving_default: z [, labels] → images) or a .keras file")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--seeds", type=int, default=3, help="sampling seeds; results are mean ± std over them")
    parser.add_argument("--reference", choices=("train", "test"),
                        help="real split to compare with (default: test; a folder without a test/ subfolder: train)")
    parser.add_argument("--metrics", type=parse_names, default=[name for name, default in metrics.items() if default],
                        help=f"comma-separated, from: {', '.join(metrics)}")
    parser.add_argument("--features", metavar="{" + ",".join(FEATURES) + "} or PATH",
                        help="the network whose features the metrics compare: fashion_mnist_evaluator (28x28 "
                             "grayscale Fashion-MNIST only; the default for images), inception (Keras InceptionV3, "
                             "ImageNet weights: any images), inception_tfhub, inception_keras, PATH to a .keras "
                             "classifier you trust (its penultimate layer), or points (the 2-D mixtures ring8 and "
                             "grid25: the coordinates themselves; their default)")
    parser.add_argument("--inception", help="TF-Hub Inception directory (inception_tfhub) or .h5 weights (inception, "
                                            "inception_keras)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--gan-train-steps", type=int, default=600,
                        help="training steps (batch 128) of each GAN-train classifier and its real-data baseline")
    parser.add_argument("--data-dir", help="where the dataset's files are")
    parser.add_argument("--domain-a", help="translation recipes: domain A class (default: the training run's)")
    parser.add_argument("--domain-b", help="translation recipes: domain B class (default: the training run's)")
    parser.add_argument("--truncation", type=parse_floats, default=[1.0],
                        help="truncation ψ values, e.g. 0.5,0.6,0.7,0.8,0.9,1.0 (recipes with a truncation trick: stylegan_lite, biggan_lite): "
                             "one row each and an FID-vs-ψ plot")
    parser.add_argument("--plot", help="where the FID-vs-truncation plot goes (default: beside --out, else "
                                       "./fid_vs_truncation.png)")
    parser.add_argument("--no-untrained-baseline", action="store_true",
                        help="skip the untrained-generator row")
    parser.add_argument("--out", help="write the report (results + protocol) as JSON here")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out (and --plot) file")
    parser.set_defaults(handler=run_evaluate)


FEATURES = ("fashion_mnist_evaluator", "inception", "inception_tfhub", "inception_keras", "points")
OTHER_FEATURES = ": pass --features inception (Keras InceptionV3, ImageNet weights) or --features PATH (a .keras " \
                 "classifier you trust, taking the data's images)"


def feature_extractor(name, weights, dataset):
    """The extractor --features names (FEATURES), else the .keras classifier at that path; None: the default for
    `dataset` (points for a 2-D mixture, else the Fashion-MNIST evaluator)."""
    from zoo.data import points
    from zoo.metrics import features

    if name is None:
        name = "points" if dataset in points.MIXTURES else "fashion_mnist_evaluator"
    if name == "points":
        if dataset not in points.MIXTURES:
            images = ", ".join(other for other in FEATURES if other != "points")
            raise UserError(f"--features points compares 2-D points ({', '.join(points.MIXTURES)}); this generator "
                            f"was trained on {dataset}: pass image features ({images}, or a .keras classifier file) "
                            f"or leave --features out")
        mixture = points.mixture(dataset)
        return features.points(mixture.centres, mixture.sigma, mixture.name)
    if name == "inception":
        return features.inception(weights)
    if name == "inception_tfhub":
        return features.inception_tfhub(weights)
    if name == "inception_keras":
        if not weights:
            raise UserError("--features inception_keras needs --inception PATH to local ImageNet weights (.h5)")
        return features.inception_keras(weights)
    if name == "fashion_mnist_evaluator":
        return features.fashion_mnist_evaluator()
    return features.keras_classifier(name)


def run_evaluate(args):
    from zoo import files, sampling
    from zoo.data import record
    from zoo.eval import scoring
    from zoo.progress import progress_reporter
    from zoo.provenance import command_line
    from zoo.tasks import EvaluationRequest, task_for

    plot = evaluation_plot(args)
    plot_flag = "--plot" if args.plot else "the default --plot (beside --out)"
    outputs = {key: files.check_output(path, args.overwrite, "file", flag) for key, path, flag in
               (("--out", args.out, "--out"), ("--plot", plot, plot_flag)) if path}
    recipe, description = sampling.load_target(args.target)
    refuse_sampling_options(recipe, args.target, None, args.truncation)
    data, task = record.from_description(description, recipe.image_shape), task_for(recipe)
    extractor = feature_extractor(args.features, args.inception, data.dataset)
    scoring.check_fits(extractor, data, args.target, OTHER_FEATURES)  # before anything is sampled
    request = EvaluationRequest(
        reference=scoring.reference_split(data, args.reference), num_samples=args.num_samples, seeds=args.seeds,
        batch_size=args.batch_size, metrics=tuple(args.metrics), data_dir=args.data_dir,
        gan_train_steps=args.gan_train_steps, truncation=tuple(args.truncation),
        untrained_baseline=not args.no_untrained_baseline, domains=(args.domain_a, args.domain_b),
        progress=progress_reporter(f"images {task.progress_verb}"))
    report = task.evaluate(recipe, extractor, data, request)
    report["target"] = description
    report["command"] = command_line(args.argv)
    print(scoring.markdown_table(report))
    if args.out:
        files.write_output(outputs["--out"], lambda path: scoring.write_report(report, path))
        print(f"report: {args.out}")
    if plot:
        from zoo.plots import truncation_curve

        print(f"plot: {files.write_output(outputs['--plot'], lambda path: truncation_curve(report, args.truncation, path))}")
    return 0


def evaluation_plot(args):
    """Where evaluate's FID-vs-truncation plot goes (None: one ψ, no plot): --plot, else beside --out."""
    if len(args.truncation) <= 1:
        return None
    if args.plot:
        return args.plot
    return os.path.join(os.path.dirname(os.path.abspath(args.out)), "fid_vs_truncation.png") if args.out \
        else "fid_vs_truncation.png"


def add_memorization(subparsers):
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
    from zoo import files, sampling
    from zoo.data import record
    from zoo.eval import memorization
    from zoo.eval.scoring import check_fits, real_frame
    from zoo.images import save_png
    from zoo.metrics import features
    from zoo.progress import progress_reporter
    from zoo.provenance import command_line

    output = files.check_output(args.out, args.overwrite, "dir")
    recipe, description = sampling.load_target(args.target)
    if args.attach and description["kind"] != "preset":
        raise UserError(f"--attach adds the result to a preset's card; {args.target} is a {description['kind']}")
    if SAMPLE not in recipe.capabilities:
        raise UserError(f"memorization checks z → image generators; {args.target} does "
                        f"{recipe.task.replace('_', '-')}")
    if isinstance(args.num_samples, bool) or args.num_samples < 2 * memorization.memorization.MIN_PER_CELL:
        raise UserError(f"--num-samples must be at least {2 * memorization.memorization.MIN_PER_CELL}; "
                        f"received {args.num_samples}")
    data, extractor = record.from_description(description, recipe.image_shape), features.fashion_mnist_evaluator()
    check_fits(extractor, data, args.target, " (memorization compares in its features)")  # before any sampling
    frame, load = real_frame(data)
    sample_fn = frame(sampling.sampler(recipe))
    options = {"batch_size": args.batch_size, "data_dir": args.data_dir, "dataset": data.dataset, **load}
    report = memorization.memorization_report({"generator": sample_fn}, extractor, num_samples=args.num_samples,
                                              seed=args.seed, progress=progress_reporter("samples scored"),
                                              **options)
    report.update(target=description, command=command_line(args.argv))
    grid = memorization.nearest_neighbour_grid(sample_fn, extractor, seed=args.seed, **options)
    with files.atomic_output(output) as directory:
        files.write_json(os.path.join(directory, "memorization.json"), report)
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


def add_train_evaluator(subparsers):
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
    from zoo import files
    from zoo.eval.classifier import CARD_FILE, train_evaluator
    from zoo.provenance import command_line, machine

    with files.atomic_output(args.out, args.overwrite, "dir") as directory:
        card = train_evaluator(directory, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                               data_dir=args.data_dir, verbose=2)
        card["training"].update(command=command_line(args.argv), machine=machine())
        files.write_json(os.path.join(directory, CARD_FILE), card)
    print(f"test accuracy {card['test_accuracy']:.4f}; weights sha256 {card['sha256']}; written to {args.out}")
    return 0


def add_study(subparsers):
    parser = subparsers.add_parser(
        "study", help="compare GAN losses fairly: same architecture, random hyper-parameter trials × seeds, report",
        description="gan-zoo study --losses non_saturating,hinge --seeds 3 --trials 2 --steps 2000 --out studies/fm "
                    "(rerun the same command to resume: finished runs are skipped)")
    parser.add_argument("--losses", required=True, type=parse_names,
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
    from zoo import files
    from zoo.study.design import StudyConfig
    from zoo.study.runner import study

    config = StudyConfig(losses=args.losses, out=args.out, dataset=args.dataset, data_dir=args.data_dir,
                         architecture=args.architecture, seeds=args.seeds, trials=args.trials, steps=args.steps,
                         batch_size=args.batch_size, settings=dict(args.settings), eval_every=args.eval_every,
                         eval_samples=args.eval_samples, final_samples=args.final_samples,
                         search_seed=args.search_seed, parallel=args.parallel, xla=args.xla)
    files.check_output(args.out, kind="base")
    with files.locked_directory(args.out):  # one study at a time in a study directory (each run locks its own)
        report, failed = study(config, progress=lambda line: print(line, flush=True))
    print(f"report: {report}")
    if failed:
        print(f"gan-zoo study: {len(failed)} run(s) failed (see their study_run.log); rerun the same command to "
              "resume them", file=sys.stderr)
        return 1
    return 0
