"""How closely can each sampling preset reproduce images it never saw? Project the first N images of the
Fashion-MNIST *test* split (the presets train on the train split) into every z → image preset with
`g.project` (zoo.projection: Adam on the codes, pixel MSE + evaluator-feature loss) and print, per preset,
the mean ± std over images of PSNR (dB, in the dataset's 28×28 frame) and of the evaluator feature
distance, with the wall time per image.

    python benchmarks/projection_quality.py --num 100 --steps 500 [--restarts 1] [--figure docs/images/projection.png]

`--figure` writes a picture: per preset, a row of test images and the row of their projections.
Asserts nothing.
"""
import argparse
import time

import numpy as np

import zoo
from recipes.capabilities import SAMPLE
from zoo.eval.scoring import real_images
from zoo.images import make_grid, save_png
from zoo.sampling import padded_frame

FIGURE_COLUMNS = 8


def in_dataset_frame(images, generator):
    """uint8 images of the generator's canvas → the dataset's frame (the centre of a padded canvas)."""
    frame = padded_frame(generator.recipe, generator.data)
    if frame is None:
        return images
    top, left = (images.shape[1] - frame[0]) // 2, (images.shape[2] - frame[1]) // 2
    return images[:, top:top + frame[0], left:left + frame[1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", help="comma-separated (default: every sampling preset)")
    parser.add_argument("--num", type=int, default=100, help="test images projected per preset")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--restarts", type=int, default=1)
    parser.add_argument("--figure", help="PNG: per preset, test images above their projections")
    args = parser.parse_args()
    test, _ = real_images("fashion_mnist", "test")
    targets = np.clip(np.rint((test[:args.num] + 1) * 127.5), 0, 255).astype(np.uint8)
    rows, figure = [], []
    for name in args.presets.split(",") if args.presets else zoo.list_models():
        generator = zoo.load(name)
        if SAMPLE not in generator.capabilities:
            continue
        started = time.time()
        found = generator.project(targets, steps=args.steps, restarts=args.restarts)
        seconds = (time.time() - started) / args.num
        space = next(code for code in ("z", "w", "w+") if code in found.codes)
        rows.append((name, space, found.psnr, found.feature_distance, seconds))
        print(f"{name}: PSNR {found.psnr.mean():.2f} dB, feature distance {found.feature_distance.mean():.3f}, "
              f"{seconds:.2f} s/image", flush=True)
        figure += [targets[:FIGURE_COLUMNS], in_dataset_frame(found.images[:FIGURE_COLUMNS], generator)]
    print(f"\nProjection of the first {args.num} Fashion-MNIST test images, {args.steps} Adam steps, "
          f"{args.restarts} start(s) per image (benchmarks/projection_quality.py)\n")
    print("| preset | codes | PSNR (dB) | feature distance | s / image |\n|---|---|---|---|---|")
    for name, space, psnr, distance, seconds in rows:
        print(f"| {name} | {space} | {psnr.mean():.2f} ± {psnr.std():.2f} | {distance.mean():.3f} ± "
              f"{distance.std():.3f} | {seconds:.2f} |")
    if args.figure:
        print(f"figure: {save_png(args.figure, make_grid(np.concatenate(figure), columns=FIGURE_COLUMNS))}")


if __name__ == "__main__":
    main()
