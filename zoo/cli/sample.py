"""gan-zoo's verbs that draw from a generator: sample, interpolate, style-mix, attention (SAGAN's maps) and project
(GAN inversion)."""
import os

from zoo.cli.options import parse_ints, refuse_sampling_options
from zoo.errors import UserError

MODEL_HELP = "a preset name (`gan-zoo list`), a preset directory or a training run"


def add_sample(subparsers):
    parser = subparsers.add_parser("sample", help="sample a pretrained model (or a run) into a PNG grid")
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", type=parse_ints, help="conditional models: class ids, one column each")
    parser.add_argument("--truncation", type=float, default=1.0, help="StyleGAN-lite, BigGAN-lite: truncation ψ")
    parser.add_argument("--format", default="grid", choices=("grid", "folder"),
                        help="one grid PNG, or a folder of one PNG per sample (written in chunks)")
    parser.add_argument("--out", required=True, help="PNG file (grid) or directory (folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file (a folder: whole)")
    parser.set_defaults(handler=run_sample)


def run_sample(args):
    from zoo import files
    from zoo.images import MAX_GRID_IMAGES, save_png
    from zoo.presets.packaging import preview_grid, sample_grid
    from zoo.presets.pretrained import load_generator
    from zoo.progress import progress_reporter
    from zoo.sampling import save_png_folder
    from zoo.tasks import task_for

    output = files.check_output(args.out, args.overwrite, "dir" if args.format == "folder" else "file")
    generator, description = load_generator(args.model)
    recipe = generator.recipe
    refuse_sampling_options(recipe, args.model, args.labels, [args.truncation])
    task = task_for(recipe)
    if task.takes != "seeds":  # image-to-image: its task's preview of real test inputs
        if args.format == "folder":
            raise UserError(f"--format folder samples z → image models; {args.model} does {task.label}: use the "
                            f"Python API (g.{task.method})")
        print(f"samples: {files.write_output(output, save_png, preview_grid(recipe, generator.data, args.seed))}")
        return 0
    if args.format == "folder":
        with files.atomic_output(output) as directory:
            count = save_png_folder(directory, generator.sample_chunks(args.num, args.seed, args.labels,
                                                                       args.truncation),
                                    args.num, progress_reporter("PNG files written"))
        print(f"samples: {count} PNG files in {args.out}")
        return 0
    if isinstance(args.num, int) and args.num > MAX_GRID_IMAGES:
        raise UserError(f"--num {args.num}: a grid holds at most {MAX_GRID_IMAGES} images; "
                        "pass --format folder for more (one PNG each, written in chunks)")
    grid = sample_grid(generator, args.num, args.seed, args.labels, args.truncation)
    print(f"samples: {files.write_output(output, save_png, grid)}")
    return 0


def add_interpolate(subparsers):
    parser = subparsers.add_parser("interpolate", help="walk between seeds' images: a PNG strip (one row per class for "
                                                       "conditional models) or a GIF animation")
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("--seeds", type=parse_ints, required=True, help="two or more seeds, e.g. 3,7,12 (a path)")
    parser.add_argument("--steps", type=int, default=8, help="frames per pair of seeds, both ends included")
    parser.add_argument("--labels", type=parse_ints, help="conditional models: classes, one row each (default: all)")
    parser.add_argument("--truncation", type=float, default=1.0, help="StyleGAN-lite, BigGAN-lite: truncation ψ")
    parser.add_argument("--out", required=True, help="a .png (strip or grid) or .gif (animation) file")
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(handler=run_interpolate)


def run_interpolate(args):
    from zoo import files
    from zoo.images import MAX_GRID_IMAGES, save_gif, save_png
    from zoo.presets.pretrained import load_generator
    from zoo.sampling import interpolation_animation, interpolation_grid, interpolation_path

    if os.path.splitext(args.out)[1].lower() not in (".png", ".gif"):
        raise UserError(f"--out {args.out}: accepted: a .png file (frames in rows) or a .gif file (an animation)")
    if len(args.seeds) < 2:
        raise UserError(f"--seeds needs two or more seeds to walk between; received {args.seeds}")
    output = files.check_output(args.out, args.overwrite)
    generator, _ = load_generator(args.model)
    labels = args.labels or (list(range(generator.num_classes)) if generator.conditional else [None])
    frames = (len(args.seeds) - 1) * (args.steps - 1) + 1
    if isinstance(args.steps, int) and frames * len(labels) > MAX_GRID_IMAGES:
        raise UserError(f"{frames} frames × {len(labels)} rows is more than {MAX_GRID_IMAGES} images; "
                        "pass fewer --seeds, --steps or --labels")
    rows = [interpolation_path(generator, args.seeds, args.steps, label, args.truncation) for label in labels]
    if args.out.lower().endswith(".gif"):
        path = files.write_output(output, save_gif, interpolation_animation(rows))
    else:
        path = files.write_output(output, save_png, interpolation_grid(rows))
    print(f"interpolation: {path} ({frames} frames × {len(rows)} row(s))")
    return 0


def add_style_mix(subparsers):
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
    from zoo import files, sampling
    from zoo.images import save_png

    output = files.check_output(args.out, args.overwrite)
    recipe, _ = sampling.load_target(args.target)
    grid = sampling.style_mixing_grid(recipe, args.rows, args.columns, args.crossover, args.truncation)
    print(f"style-mixing grid: {files.write_output(output, save_png, grid)}")
    return 0


def add_attention(subparsers):
    parser = subparsers.add_parser("attention", help="what a self-attention generator (sagan) looks at: for query "
                                                     "pixels of its images, their attention weights over the image (PNG)")
    parser.add_argument("model", help=MODEL_HELP)
    parser.add_argument("--seeds", type=parse_ints, default=[0], help="one row per seed (the image `sample_seeds` gives)")
    parser.add_argument("--query", dest="queries", action="append", type=parse_ints, metavar="ROW,COLUMN",
                        help="a query pixel of the generated image (repeatable; a padded model's canvas, e.g. 32×32; "
                             "default: the centre, above and below it, left of it)")
    parser.add_argument("--label", type=int, help="conditional models: the class of every image (default 0)")
    parser.add_argument("--scale", type=int, default=4, help="each panel enlarged this many times (nearest)")
    parser.add_argument("--out", required=True, help="PNG file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.set_defaults(handler=run_attention)


def run_attention(args):
    from zoo import files, sampling
    from zoo.images import save_png
    from zoo.presets.pretrained import load_generator

    if not args.out.lower().endswith(".png"):
        raise UserError(f"--out {args.out}: accepted: a .png file")
    output = files.check_output(args.out, args.overwrite)
    generator, _ = load_generator(args.model)
    height, width = generator.image_shape[:2]
    queries = args.queries or [[height // 2, width // 2], [height // 4, width // 2], [3 * height // 4, width // 2],
                               [height // 2, width // 4]]
    grid = sampling.attention_grid(generator.recipe, args.seeds, queries, args.label, args.scale)
    print(f"attention: {files.write_output(output, save_png, grid)} ({len(args.seeds)} seed(s) × the image and "
          f"{len(queries)} query map(s); query pixels outlined in cyan)")
    return 0


def add_project(subparsers):
    parser = subparsers.add_parser("project", help="find the latent codes whose images match your pictures (GAN "
                                                   "inversion): target, reconstruction and the search's steps")
    parser.add_argument("model", help=MODEL_HELP)
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


def run_project(args):
    import numpy as np

    from recipes.capabilities import SAMPLE
    from zoo import files
    from zoo.images import read_image, to_uint8
    from zoo.presets.pretrained import load_generator
    from zoo.progress import progress_reporter
    from zoo.projection import picture_stem, write_projection
    from zoo.provenance import command_line
    from zoo.sampling import padded_frame

    output = files.check_output(args.out, args.overwrite, "dir")
    if args.frames < 2:
        raise UserError(f"--frames must be at least 2 (the start and the result); received {args.frames}")
    generator, description = load_generator(args.model)
    generator.require(SAMPLE, "project")
    frame = padded_frame(generator.recipe, generator.data) or generator.image_shape[:2]
    stems = [picture_stem(path) for path in args.images]
    if len(set(stems)) != len(stems):
        raise UserError(f"the pictures' names must differ (their outputs are named after them); received {args.images}")
    targets = np.stack([read_image(path, generator.image_shape[2], frame) for path in args.images])
    result = generator.project(targets, steps=args.steps, labels=args.labels, space=args.space,
                               restarts=args.restarts, frames=args.frames, seed=args.seed,
                               progress=progress_reporter("search steps"))
    padded_targets = to_uint8(generator.in_canvas(targets))  # as the generator sees them
    with files.atomic_output(output) as directory:
        rows = write_projection(directory, result, args.images, padded_targets, target=description,
                                command=command_line(args.argv),
                                search={"steps": args.steps, "restarts": args.restarts, "seed": args.seed})
    for row, stem in zip(rows, stems):
        print(f"{stem}: PSNR {row['psnr_db']:.2f} dB, feature distance {row['feature_distance']:.3f}"
              + ("" if row["label"] is None else f", class {row['label']}"))
    print(f"outputs: {args.out} (NAME_target.png, NAME_projection.png, NAME_steps.png/.gif, projection.json, codes.npz)")
    return 0
