"""Bad input across the CLI: one line that says what was wrong and what is accepted, exit status 2,
and nothing lost or left behind (issue 17's table; it grows with every defect found)."""
import os
import re

import numpy as np
import pytest

from hub_export import cli
from pictures import png_header

EXISTING = b"the user's file"
STYLEGAN = "stylegan_lite_fashion_mnist_32"


def preset_with_card(directory, card):
    """A preset directory: the DCGAN preset's config.json, and `card` (any JSON) as its card.json."""
    import json
    import shutil

    from zoo.files import sha256_of
    from zoo.presets import store

    os.makedirs(directory)
    shutil.copy(os.path.join(store.PRESETS_DIR, "dcgan_fashion_mnist_28", "config.json"), directory)
    if callable(card):
        card = card(sha256_of(os.path.join(directory, "config.json")))
    with open(os.path.join(directory, "card.json"), "w") as handle:
        json.dump(card, handle)
    return str(directory)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Hostile inputs, made once: pictures (a FIFO, bombs, a 144-megapixel RGBA header, a truncated PNG), training
    folders, broken preset directories and .keras files."""
    import keras
    import numpy as np
    from PIL import Image

    root = tmp_path_factory.mktemp("inputs")
    paths = {"picture": str(root / "picture.png"), "fifo": str(root / "fifo.png"), "empty": str(root / "empty")}
    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(paths["picture"])
    os.mkfifo(paths["fifo"])
    os.mkdir(paths["empty"])
    paths["rgba_144mp"] = png_header(root / "rgba_144mp.png", 12000, 12000)
    paths["bomb"] = png_header(root / "bomb.png", 20000, 20000, colour_type=0)
    paths["mp20"] = png_header(root / "mp20.png", 5000, 4000, colour_type=0)
    paths["truncated_png"] = str(root / "truncated" / "cut.png")
    os.mkdir(root / "truncated")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8)).save(root / "whole.png")
    with open(paths["truncated_png"], "wb") as handle:  # the pixel data cut in half
        handle.write(open(root / "whole.png", "rb").read()[:400])
    paths["truncated_folder"] = str(root / "truncated")
    os.mkdir(root / "endless")  # a PNG whose pixel data is whole but whose end chunk is cut: PIL reads it, TensorFlow not
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(root / "endless" / "a.png")
    with open(root / "endless" / "a.png", "r+b") as handle:
        handle.truncate(60)
    paths["endless_folder"], paths["endless_png"] = str(root / "endless"), str(root / "endless" / "a.png")
    for name, size in (("folder28", 28), ("folder300", 300)):
        os.mkdir(root / name)
        Image.fromarray(np.zeros((size, size), np.uint8)).save(root / name / "a.png")
        paths[name] = str(root / name)
    os.mkdir(root / "bomb_folder")
    png_header(root / "bomb_folder" / "a.png", 20000, 20000, colour_type=0)
    paths["bomb_folder"] = str(root / "bomb_folder")
    paths["list_card"] = preset_with_card(root / "list_card", ["not", "a", "card"])
    paths["files_list_card"] = preset_with_card(root / "files_list_card", lambda sha: {"files": ["config.json"]})
    paths["outside_card"] = preset_with_card(root / "outside_card", lambda sha: {
        "files": {"config.json": sha, "../outside.txt": "0" * 64}})
    (root / "outside.txt").write_text("outside")
    paths["absolute_card"] = preset_with_card(root / "absolute_card", lambda sha: {
        "files": {"config.json": sha, "/etc/hostname": "0" * 64}})
    paths["sparse_card"] = preset_with_card(root / "sparse_card", lambda sha: {
        "files": {"config.json": sha, "huge.bin": "0" * 64}})
    with open(root / "sparse_card" / "huge.bin", "wb") as handle:
        handle.truncate(200 * 2**30)  # 200 GiB, sparse: hashing it would read for minutes
    inputs_ = keras.Input((2,))
    keras.Model(inputs_, keras.layers.Lambda(lambda x: x * 2)(inputs_)).save(root / "lambda.keras")
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(root / "plain.keras")
    (root / "not.keras").write_bytes(b"not a zip")
    paths.update(lambda_keras=str(root / "lambda.keras"), plain_keras=str(root / "plain.keras"),
                 not_keras=str(root / "not.keras"))
    return paths


def workspace(tmp_path):
    """A file the user cares about, a folder with a PNG in it, and paths under them."""
    (tmp_path / "mine.png").write_bytes(EXISTING)
    (tmp_path / "mine.tflite").write_bytes(EXISTING)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "000000.png").write_bytes(EXISTING)
    (tmp_path / "folder" / "fid_vs_truncation.png").write_bytes(EXISTING)  # evaluate's plot beside an --out in it
    (tmp_path / "models" / "m" / "1").mkdir(parents=True)
    (tmp_path / "models" / "m" / "1" / "saved_model.pb").write_bytes(b"\x08\x01\x12 not a SavedModel")
    return {"dir": str(tmp_path), "png": str(tmp_path / "mine.png"), "tflite": str(tmp_path / "mine.tflite"),
            "folder": str(tmp_path / "folder"), "under_file": str(tmp_path / "mine.png" / "x.png"),
            "models": str(tmp_path / "models"), "run": str(tmp_path / "run")}


@pytest.mark.parametrize("argv, message", [
    (["sample", "dcgan_fashion_mnist_28", "--out", "{png}"], "--out {png} exists; pass --overwrite to replace it"),
    (["sample", "dcgan_fashion_mnist_28", "--out", "{folder}"], "--out {folder} is a directory; pass a file path"),
    (["sample", "dcgan_fashion_mnist_28", "--format", "folder", "--out", "{folder}"],
     "--out {folder} already holds PNG files; pass --overwrite to replace them"),
    (["sample", "dcgan_fashion_mnist_28", "--format", "folder", "--out", "{png}"],
     "--out {png} is a file; pass a directory"),
    (["sample", "dcgan_fashion_mnist_28", "--out", "{under_file}"], "cannot write under {png} (permission denied or "
                                                                    "not a directory)"),
    (["export", "dcgan_fashion_mnist_28", "--format", "tflite", "--out", "{tflite}"],
     "--out {tflite} exists; pass --overwrite to replace it"),
    (["export", "dcgan_fashion_mnist_28", "--format", "saved_model", "--out", "{png}"],
     "--out {png} is a file; pass a directory"),
    (["train", "dcgan", "--out", "{png}", "--quiet"], "--out {png} is a file; pass a directory"),
    (["train", "dcgan", "--out", "{under_file}", "--quiet"], "cannot write under {png}"),
    (["train", "dcgan", "--set", "beta_1=2", "--out", "{run}", "--quiet"],
     "Optimizer setting beta_1=2 must be a number in [0, 1)"),
    (["train", "dcgan", "--set", "g_lr=-0.001", "--out", "{run}", "--quiet"],
     "Optimizer setting g_lr=-0.001 must be a finite number ≥ 0"),
    (["train", "dcgan", "--set", "loss=wasserstein_gp", "--set", "discriminator_norm=layer", "--set", "penalty_weight=-1",
      "--out", "{run}", "--quiet"], "`penalty_weight` must be a finite number ≥ 0. Received: penalty_weight=-1"),
    (["train", "wgan_gp", "--set", "gp_weight=-10", "--out", "{run}", "--quiet"], "`gp_weight` must be a finite number ≥ 0"),
    (["train", "dcgan", "--set", "loss=wasserstein", "--set", "clip=0", "--out", "{run}", "--quiet"],
     "Invalid setting for dcgan: `clip` must be a finite number > 0 (the critic's weights are clipped to [-clip, clip]). "
     "Received: clip=0"),
    (["train", "dcgan", "--set", "loss=wasserstein", "--set", "clip=-0.01", "--out", "{run}", "--quiet"],
     "`clip` must be a finite number > 0 (the critic's weights are clipped to [-clip, clip]). Received: clip=-0.01"),
    (["train", "dcgan", "--set", "clip=0.01", "--out", "{run}", "--quiet"],
     "loss 'non_saturating' does not clip the critic's weights: drop `clip` (losses that do: wasserstein)"),
    # the losses on a vector head (issue 33): their settings ({{ }}: braces of the JSON, not of str.format), and
    # recipes whose discriminator gives one value
    (["train", "dcgan", "--set", "loss=realness", "--set", 'loss_settings={{"outcomes": 1}}', "--out", "{run}", "--quiet"],
     "Invalid setting for dcgan: `outcomes` of loss 'realness' must be an integer ≥ 2 (N, the outcomes of the realness "
     "distribution). Received: outcomes=1"),
    (["train", "dcgan", "--set", "loss=realness", "--set", 'loss_settings={{"anchors": [[0.5, 0.6], [0.2, 0.8]]}}',
      "--out", "{run}", "--quiet"], "must be [A0, A1], two different distributions over the same N ≥ 2 outcomes: each "
                                    "must sum to 1 (sums 1.1, 1)"),
    (["train", "wgan_gp", "--set", 'loss_settings={{"features": 4}}', "--out", "{run}", "--quiet"],
     "loss 'wasserstein_gp' takes no settings in `loss_settings` (losses with settings: sphere, realness)"),
    (["train", "cgan", "--set", "loss=sphere", "--out", "{run}", "--quiet"], "Unknown setting(s) ['loss'] for cgan"),
    (["train", "began", "--set", "gamma=0", "--out", "{run}", "--quiet"],
     "Invalid setting for began: `gamma` (BEGAN's diversity ratio) must be in (0, 1]. Received: gamma=0"),
    (["train", "began", "--set", "gamma=1.5", "--out", "{run}", "--quiet"],
     "`gamma` (BEGAN's diversity ratio) must be in (0, 1]. Received: gamma=1.5"),
    (["train", "dcgan", "--set", "unroll_steps=-1", "--out", "{run}", "--quiet"],
     "Invalid setting for dcgan: `unroll_steps` must be an integer ≥ 0 (0: no unrolling). Received: unroll_steps=-1"),
    (["train", "ebgan", "--set", "margin=0", "--out", "{run}", "--quiet"],
     "Invalid setting for ebgan: `margin` (EBGAN's m) must be a finite number > 0. Received: margin=0"),
    (["train", "ebgan", "--set", "pt_weight=-0.1", "--out", "{run}", "--quiet"],
     "`pt_weight` (λ_PT) must be a finite number ≥ 0. Received: pt_weight=-0.1"),
    (["train", "dcgan", "--batch-size", "100000000", "--out", "{run}", "--quiet"],
     "--batch-size 100000000: one step's activations (generator, discriminator at (28, 28, 1)) would take at least "
     "85575.1 GiB (at most 16 GiB)"),
    (["evaluate", "dcgan_fashion_mnist_28", "--num-samples", "3", "--out", "{dir}/e.json"],
     "--num-samples 3 is too few for precision_recall: it needs at least 4 (the k-th nearest neighbour, k = 3)"),
    (["evaluate", "dcgan_fashion_mnist_28", "--seeds", "0", "--out", "{dir}/e.json"], "--seeds must be an integer ≥ 1"),
    (["sample", "dcgan_fashion_mnist_28", "--num", "100000000", "--out", "{dir}/g.png"],
     "--num 100000000: a grid holds at most 10000 images; pass --format folder"),
    (["serve", "{models}", "--port", "1"], "cannot load the SavedModel in {models}/m/1 (Cannot parse file"),
    (["evaluate", "{models}/m/1", "--out", "{dir}/e.json"], "cannot load the SavedModel in {models}/m/1"),
    # issue 30: silently wrong results and tracebacks, now one line each
    *[([command, STYLEGAN, *extra, "--truncation", psi, "--out", "{dir}/t.png"],
       f"truncation ψ must be a number in [0, 2] (1: none, 0: the mean image); received {shown}")
      for command, extra in (("sample", []), ("interpolate", ["--seeds", "1,2"]), ("style-mix", []))
      for psi, shown in (("nan", "nan"), ("inf", "inf"), ("1e38", "1e+38"), ("-0.5", "-0.5"), ("2.5", "2.5"))],
    (["evaluate", STYLEGAN, "--truncation", "0.7,nan", "--out", "{dir}/e.json"], "truncation ψ must be a number in [0, 2]"),
    (["sample", "dcgan_fashion_mnist_28", "--truncation", "nan", "--out", "{dir}/t.png"], "truncation ψ must be a number"),
    (["style-mix", STYLEGAN, "--rows=-1,2", "--out", "{dir}/t.png"], "seeds must be integers in [0, 2**63), one or a "
                                                                    "1-D list; received [-1, 2]"),
    (["style-mix", STYLEGAN, "--crossover", "99", "--out", "{dir}/t.png"], "crossover must be in [0, 7]"),
    (["evaluate", "dcgan_fashion_mnist_28", "--batch-size", "0", "--out", "{dir}/e.json"],
     "--batch-size must be an integer ≥ 1; received 0"),
    (["memorization", "dcgan_fashion_mnist_28", "--batch-size", "0", "--out", "{dir}/m"],
     "--batch-size must be an integer ≥ 1; received 0"),
    (["evaluate", "dcgan_fashion_mnist_28", "--metrics", ",", "--out", "{dir}/e.json"],
     "--metrics names no metric; accepted: fid, kid"),
    (["evaluate", "dcgan_fashion_mnist_28", "--metrics", "fid,nope", "--out", "{dir}/e.json"],
     "Unknown metric(s) ['nope']; accepted: fid, kid"),
    (["project", "dcgan_fashion_mnist_28", "{picture}", "--seed", "-1", "--out", "{dir}/p"],
     "seed must be an integer in [0, 9223372036854775807]; received -1"),
    (["project", "dcgan_fashion_mnist_28", "{picture}", "--steps", "0", "--out", "{dir}/p"],
     "steps must be an integer in [1, "),
    (["project", "dcgan_fashion_mnist_28", "{picture}", "--restarts", "0", "--out", "{dir}/p"],
     "restarts must be an integer in [1, 64]; received 0"),
    (["project", "dcgan_fashion_mnist_28", "{picture}", "--space", "w", "--out", "{dir}/p"],
     "space must be one of z for DCGAN; received 'w'"),
    (["project", "cgan_fashion_mnist_28", "{picture}", "--labels", "10", "--out", "{dir}/p"],
     "labels must be class ids: integers in [0, 10)"),
    (["project", "srgan_fashion_mnist_x4", "{picture}", "--out", "{dir}/p"], "project needs a sampling model"),
    (["project", "dcgan_fashion_mnist_28", "{fifo}", "--out", "{dir}/p"],
     "{fifo} is not a regular file; pass a PNG or JPEG file"),
    (["project", "dcgan_fashion_mnist_28", "{folder}", "--out", "{dir}/p"],
     "{folder} is not a regular file; pass a PNG or JPEG file"),
    (["project", "dcgan_fashion_mnist_28", "{dir}/missing.png", "--out", "{dir}/p"], "{dir}/missing.png: no such file"),
    (["project", "dcgan_fashion_mnist_28", "{png}", "--out", "{dir}/p"],
     "{png} is not an image PIL can read (cannot identify image file"),
    (["project", "dcgan_fashion_mnist_28", "{rgba_144mp}", "--out", "{dir}/p"],
     "{rgba_144mp} is too large to open (Image size (144000000 pixels) exceeds limit of 89478485 pixels); at most "
     "16777216 pixels (4096×4096) are read"),
    (["project", "dcgan_fashion_mnist_28", "{bomb}", "--out", "{dir}/p"],
     "{bomb} is too large to open (Image size (400000000 pixels) exceeds limit of 178956970 pixels)"),
    (["project", "dcgan_fashion_mnist_28", "{mp20}", "--out", "{dir}/p"],
     "{mp20} is too large to open (5000×4000 = 20000000 pixels); at most 16777216 pixels (4096×4096) are read"),
    (["project", "dcgan_fashion_mnist_28", "{truncated_png}", "--out", "{dir}/p"], "{truncated_png} is not an image PIL can read"),
    (["train", "dcgan", "--set", "width=32.5", "--out", "{run}", "--quiet"], "--set width=32.5: width takes an integer"),
    (["train", "dcgan", "--set", "width=true", "--out", "{run}", "--quiet"], "--set width=true: width takes an integer"),
    (["train", "dcgan", "--set", "n_disc=1.5", "--out", "{run}", "--quiet"], "--set n_disc=1.5: n_disc takes an integer"),
    (["train", "dcgan", "--set", "generator_norm=1", "--out", "{run}", "--quiet"],
     '--set generator_norm=1: generator_norm takes a string (default "batch")'),
    (["train", "dcgan", "--set", "ema_decay=abc", "--out", "{run}", "--quiet"], '--set ema_decay="abc": ema_decay takes a finite number'),
    (["train", "dcgan", "--set", "ema_decay=NaN", "--out", "{run}", "--quiet"], "--set ema_decay=NaN: ema_decay takes a finite number"),
    (["train", "stylegan_lite", "--set", "r1_gamma=true", "--out", "{run}", "--quiet"],
     "--set r1_gamma=true: r1_gamma takes a finite number (default 0.01)"),
    (["train", "lsgan", "--set", "a=[0]", "--out", "{run}", "--quiet"], "--set a=[0]: a takes a finite number (default 0.0)"),
    (["train", "dcgan", "--set", "latent_dim=1e3", "--out", "{run}", "--quiet"],
     "--set latent_dim=1000.0: latent_dim takes an integer (default 100)"),
    (["train", "dcgan", "--set", "widht=64", "--out", "{run}", "--quiet"], "Unknown setting(s) ['widht'] for dcgan"),
    (["finetune", "dcgan_fashion_mnist_28", "--data", "{folder28}", "--set", "ema_decay=abc", "--out", "{run}", "--quiet"],
     '--set ema_decay="abc": ema_decay takes a finite number'),
    (["finetune", "dcgan_fashion_mnist_28", "--data", "{folder28}", "--set", "width=32", "--out", "{run}", "--quiet"],
     "fine-tuning keeps the preset's architecture; remove --set width"),
    (["finetune", "srgan_fashion_mnist_x4", "--data", "{folder28}", "--out", "{run}", "--quiet"],
     "finetune trains z → image generators"),
    (["train", "dcgan", "--eval-every", "1", "--eval-samples", "1", "--out", "{run}", "--quiet"],
     "--eval-samples must be at least 2 (FID needs a covariance); received 1"),
    (["train", "dcgan", "--eval-samples", "0", "--out", "{run}", "--quiet"], "--eval-samples must be a positive integer"),
    (["train", "dcgan", "--eval-every", "-1", "--out", "{run}", "--quiet"], "--eval-every must be 0 (off) or a positive"),
    (["train", "dcgan", "--batch-size", "70000", "--out", "{run}", "--quiet"],
     "--batch-size 70000: one step's activations (generator, discriminator at (28, 28, 1)) would take at least 59.9 GiB "
     "(at most 16 GiB)"),
    (["train", "stylegan_lite", "--batch-size", "20000", "--out", "{run}", "--quiet"],
     "--batch-size 20000: one step's activations (generator, discriminator at (32, 32, 1)) would take at least"),
    (["train", "srgan", "--dataset", "{folder300}", "--image-size", "256", "--crop", "center", "--channels", "3",
      "--batch-size", "1024", "--out", "{run}", "--quiet"],  # its any-size generator counted at the 64x64 crops
     "--batch-size 1024: one step's activations (generator, discriminator at (256, 256, 3)) would take at least 168.8 GiB"),
    (["train", "srgan", "--set", "norm=layer", "--out", "{run}", "--quiet"],
     "`norm` must be one of ['batch', 'sync_batch']. Received: norm='layer'"),
    (["train", "dcgan", "--image-size", "100000", "--out", "{run}", "--quiet"],
     "--image-size of 100000x100000 pixels: the recipes take at most 256 pixels a side"),
    (["train", "dcgan", "--dataset", "{folder300}", "--out", "{run}", "--quiet"],
     "images of 300x300 pixels: the recipes take at most 256 pixels a side"),
    (["train", "dcgan", "--batch-size", "0", "--out", "{run}", "--quiet"], "--batch-size must be a positive integer"),
    (["train", "dcgan", "--steps", "0", "--out", "{run}", "--quiet"], "--steps must be a positive integer; received 0"),
    (["train", "dcgan", "--seed", "-1", "--out", "{run}", "--quiet"], "--seed must be an integer in [0, 2**32)"),
    (["train", "dcgan", "--channels", "3", "--crop", "center", "--out", "{run}", "--quiet"], "crop='center' needs image_size"),
    (["train", "nope", "--out", "{run}", "--quiet"], "Unknown recipe"),
    (["train", "dcgan", "--dataset", "{empty}", "--out", "{run}", "--quiet"], "no images found in {empty}"),
    (["train", "dcgan", "--dataset", "{bomb_folder}", "--out", "{run}", "--quiet"], "is too large to open"),
    (["train", "dcgan", "--dataset", "{truncated_folder}", "--out", "{run}", "--quiet"], "cannot read image {truncated_png}"),
    (["train", "dcgan", "--dataset", "{endless_folder}", "--out", "{run}", "--quiet"],
     "cannot read image {endless_png} (Invalid PNG data, size 60); remove it or replace it"),  # was TF's error at step 0
    (["train", "cyclegan", "--domain-a", "sneaker", "--domain-b", "nope", "--out", "{run}", "--quiet"], "nope"),
    (["sample", "{list_card}", "--out", "{dir}/s.png"], "{list_card}/card.json is not a model card (a JSON object"),
    (["card", "{list_card}"], "{list_card}/card.json is not a model card"),
    (["sample", "{files_list_card}", "--out", "{dir}/s.png"], "{files_list_card}/card.json is not a model card"),
    (["sample", "{outside_card}", "--out", "{dir}/s.png"],
     "{outside_card}/card.json lists '../outside.txt': a preset's files are inside its directory"),
    (["sample", "{absolute_card}", "--out", "{dir}/s.png"], "{absolute_card}/card.json lists '/etc/hostname': a preset's files"),
    (["sample", "{sparse_card}", "--out", "{dir}/s.png"],
     "{sparse_card}/huge.bin is 214748364800 bytes, more than any file the card can list (at most 2147483648): not hashed"),
    (["sample", "{lambda_keras}", "--out", "{dir}/s.png"], "cannot load {lambda_keras} (Requested the deserialization of a "),
    (["evaluate", "{lambda_keras}", "--out", "{dir}/e.json"], "cannot load {lambda_keras} (Requested the deserialization"),
    (["sample", "{not_keras}", "--out", "{dir}/s.png"], "cannot load {not_keras} ("),
    (["sample", "{plain_keras}", "--out", "{dir}/s.png"], "{plain_keras} holds a Sequential, not a GAN Zoo recipe"),
    (["sample", "nope_model", "--out", "{dir}/s.png"], "Unknown model 'nope_model'"),
    (["sample", "dcgan_fashion_mnist_28", "--seed", "-1", "--out", "{dir}/s.png"], "seed must be an integer in [0, "),
    (["sample", "dcgan_fashion_mnist_28", "--num", "0", "--out", "{dir}/s.png"], "number of samples must be an integer ≥ 1"),
    (["sample", "dcgan_fashion_mnist_28", "--labels", "1", "--out", "{dir}/s.png"], "is unconditional: it takes no labels"),
    (["sample", "cgan_fashion_mnist_28", "--labels", "10", "--out", "{dir}/s.png"], "labels must be class ids"),
    (["interpolate", "dcgan_fashion_mnist_28", "--seeds", "1", "--out", "{dir}/i.png"], "--seeds needs two or more seeds"),
    (["interpolate", "dcgan_fashion_mnist_28", "--seeds", "1,2", "--out", "{dir}/i.jpg"], "accepted: a .png file"),
    (["interpolate", "dcgan_fashion_mnist_28", "--seeds", "1,2", "--steps", "1", "--out", "{dir}/i.png"],
     "steps must be an integer in [2, 1024]; received 1"),
    (["interpolate", "dcgan_fashion_mnist_28", "--seeds=-3,2", "--out", "{dir}/i.png"], "seeds must be integers in [0, 2**63)"),
    (["interpolate", "cgan_fashion_mnist_28", "--seeds", "1,2", "--labels", "11", "--out", "{dir}/i.png"],
     "labels must be class ids"),
    (["style-mix", "dcgan_fashion_mnist_28", "--out", "{dir}/m.png"], "style mixing needs a recipe with per-layer styles"),
    (["attention", "dcgan_fashion_mnist_28", "--out", "{dir}/a.png"],
     "attention maps need a generator with a self-attention layer (sagan; biggan_lite with --set attention_resolution=…)"),
    (["attention", "dcgan_fashion_mnist_28", "--out", "{dir}/a.jpg"], "accepted: a .png file"),
    (["attention", "dcgan_fashion_mnist_28", "--scale", "0", "--out", "{dir}/a.png"],
     "scale must be an integer in [1, 16]; received 0"),
    (["memorization", "srgan_fashion_mnist_x4", "--out", "{dir}/m"], "memorization checks z → image generators"),
    (["memorization", "dcgan_fashion_mnist_28", "--num-samples", "3", "--out", "{dir}/m"], "--num-samples must be at least"),
    (["memorization", "{plain_keras}", "--out", "{dir}/m"], "{plain_keras} holds a Sequential, not a GAN Zoo recipe"),
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "inception_keras", "--out", "{dir}/e.json"],
     "--features inception_keras needs --inception PATH"),
    (["evaluate", "dcgan_fashion_mnist_28", "--seeds", "-2", "--out", "{dir}/e.json"], "--seeds must be an integer ≥ 1"),
    (["evaluate", "dcgan_fashion_mnist_28", "--truncation", "0.5", "--out", "{dir}/e.json"],
     "truncation needs a recipe with a truncation trick (stylegan_lite, biggan_lite)"),
    (["card", "nope_model"], "Unknown model 'nope_model'"),
    (["card", "{folder}"], "{folder} is not a preset directory: it needs config.json and card.json"),
    (["export", "dcgan_fashion_mnist_28", "--format", "saved_model", "--quantization", "float16", "--out", "{dir}/x"],
     "--quantization applies to --format tflite"),
    (["export", "{list_card}", "--format", "tflite", "--out", "{dir}/x.tflite"], "card.json is not a model card"),
    (["export", "dcgan_fashion_mnist_28", "--name", "../../evil", "--out", "{dir}/m"],
     "--name '../../evil' must be a plain name (no path separators, not '.' or '..')"),
    (["export", "dcgan_fashion_mnist_28", "--version", "-3", "--out", "{dir}/m"],
     "--version must be a positive integer (TF Serving's version directories); received -3"),
    (["make-preset", "{folder}", "--name", "../evil", "--out", "{dir}"], "--name '../evil' must be a plain name"),
    (["make-preset", "{folder}", "--name", "p", "--out", "{dir}/presets"],
     "{folder} is not a training run directory (no run.json)"),
    (["make-preset", "{folder}", "--name", "p", "--figure", "{png}=a", "--figure", "{png}=b", "--out", "{dir}/presets"],
     "--figure files are copied into the preset by file name, which must differ from each other and from samples.png "
     "and memorization.png; rename mine.png"),
    (["finetune", "dcgan_fashion_mnist_28", "--data", "{folder}", "--name", "..", "--out", "{run}"],
     "--name '..' must be a plain name"),
    (["train", "lsgan", "--init-from", "dcgan_fashion_mnist_28", "--out", "{run}", "--quiet"],
     "--init-from dcgan_fashion_mnist_28 is a dcgan preset; train dcgan from it, or pick a lsgan preset"),
    (["train", "dcgan", "--init-from", "nope_model", "--out", "{run}", "--quiet"], "Unknown model 'nope_model'"),
    (["train", "dcgan", "--init-from", "dcgan_fashion_mnist_28", "--set", "ema_rampup=2", "--dataset", "triangles",
      "--out", "{run}", "--quiet"], "ema_decay must be in (0, 1) and ema_rampup in (0, 1]; received ema_decay=0.999, "
                                    "ema_rampup=2"),
    (["sample", "srgan_fashion_mnist_x4", "--labels", "1", "--out", "{dir}/s.png"],
     "--labels and --truncation apply to z → image models; srgan_fashion_mnist_x4 does super-resolution"),
    (["sample", "cyclegan_sneaker_boot_28", "--truncation", "0.5", "--out", "{dir}/s.png"],
     "--labels and --truncation apply to z → image models; cyclegan_sneaker_boot_28 does translation"),
    (["evaluate", "srgan_fashion_mnist_x4", "--truncation", "0.5", "--out", "{dir}/e.json"],
     "--labels and --truncation apply to z → image models; srgan_fashion_mnist_x4 does super-resolution"),
    (["style-mix", STYLEGAN, "--rows", ",".join(map(str, range(200))), "--columns", ",".join(map(str, range(60))),
      "--out", "{dir}/m.png"], "200 rows × 60 columns of seeds make more than 10000 images"),
    (["evaluate", "dcgan_fashion_mnist_28", "--data-dir", "{dir}/nowhere", "--out", "{dir}/e.json"],
     "data_dir {dir}/nowhere is not a directory; pass the directory that holds the dataset's files"),
    (["train", "dcgan", "--data-dir", "{png}", "--out", "{run}", "--quiet"], "data_dir {png} is not a directory"),
    (["memorization", "dcgan_fashion_mnist_28", "--seed", "-1", "--out", "{dir}/m"],
     "--seed must be an integer in [0, 9223372036854775807]; received -1"),
    (["evaluate", "cgan_fashion_mnist_28", "--metrics", "gan_train_test", "--gan-train-steps", "0", "--out", "{dir}/e.json"],
     "--gan-train-steps must be an integer ≥ 1; received 0"),
    (["launch", "--workers", "2", "--timeout", "-1", "--", "dcgan", "--out", "{run}"],
     "--timeout must be a positive number of seconds; received -1.0"),
    (["launch", "--workers", "0", "--", "dcgan", "--out", "{run}"], "--workers must be ≥ 1; received 0"),
    (["launch", "--workers", "2", "--", "dcgan", "--strategy", "default", "--out", "{run}"],
     "launch sets --strategy multi_worker itself"),
    (["launch", "--workers", "2"], "give the training arguments after --"),
    (["study", "--losses", "hinge", "--set", "width=32.5", "--out", "{run}"], "--set width=32.5: width takes an integer"),
    (["study", "--losses", "hinge", "--parallel", "0", "--out", "{run}"], "--parallel must be a positive integer"),
    (["study", "--losses", "nope", "--out", "{run}"], "Unknown loss(es) ['nope']"),
    (["study", "--losses", ",", "--out", "{run}"], "--losses names no loss; accepted: non_saturating, minimax"),
    (["evaluate", "stylegan_lite_fashion_mnist_32", "--truncation", "0.5,1", "--out", "{folder}/e.json"],
     "the default --plot (beside --out) {folder}/fid_vs_truncation.png exists; pass --overwrite to replace it"),
    (["study", "--losses", "hinge", "--dataset", "{folder28}", "--out", "{run}"], "Unknown study dataset"),
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "inception_tfhub", "--inception", "{dir}/nowhere",
      "--out", "{dir}/e.json"], "--inception {dir}/nowhere is not a directory"),
    # issue 31: --features PATH, a Keras classifier the user trusts
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "{dir}/missing.keras", "--out", "{dir}/e.json"],
     "--features {dir}/missing.keras: no such file; pass a .keras classifier file or one of fashion_mnist_evaluator, "
     "inception, inception_tfhub, inception_keras"),
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "{not_keras}", "--out", "{dir}/e.json"],
     "--features {not_keras} is not a Keras model file Keras can load ("),
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "{lambda_keras}", "--out", "{dir}/e.json"],
     "--features {lambda_keras} is not a Keras model file Keras can load (Requested the deserialization"),
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "{plain_keras}", "--out", "{dir}/e.json"],
     "--features {plain_keras} takes [(None, 2)] with 1 layer(s); pass a classifier of one image input"),
    (["evaluate", "dcgan_fashion_mnist_28", "--features", "points", "--out", "{dir}/e.json"],
     "--features points compares 2-D points (ring8, grid25); this generator was trained on fashion_mnist: pass image "
     "features (fashion_mnist_evaluator, inception, inception_tfhub, inception_keras, or a .keras classifier file) or "
     "leave --features out"),
    (["project", "dcgan_fashion_mnist_28", "{picture}", "{picture}", "--out", "{dir}/p"], "the pictures' names must differ"),
    (["project", "cgan_fashion_mnist_28", "{picture}", "--labels", "1,2", "--out", "{dir}/p"],
     "labels must be one class id in [0, 10) per image (1); received [1, 2]"),
    (["train", "dcgan", "--classes", "sneaker,nope", "--out", "{run}", "--quiet"], "unknown class 'nope' for fashion_mnist"),
    (["train", "dcgan", "--strategy", "bogus", "--out", "{run}", "--quiet"], "Unknown strategy 'bogus'"),
    (["train", "dcgan", "--image-size", "5", "--out", "{run}", "--quiet"], "DCGAN-style networks need height and width"),
    (["train", "stylegan_lite", "--image-size", "48", "--out", "{run}", "--quiet"], "power of two"),
    (["train", "dcgan", "--set", "lr=1e400", "--out", "{run}", "--quiet"], "Optimizer setting lr=inf must be a finite"),
    (["train", "dcgan", "--set", "augment=nope", "--out", "{run}", "--quiet"], "`augment` takes a comma-separated subset"),
    (["train", "dcgan", "--set", "latent_dim=-3", "--out", "{run}", "--quiet"], "`latent_dim` must be a positive integer"),
    (["train", "dcgan", "--set", "network=foo", "--out", "{run}", "--quiet"], "`network` must be one of ['conv', 'mlp']"),
    (["train", "dcgan", "--set", "ema_decay=1.5", "--out", "{run}", "--quiet"], "`ema_decay` must be None or in (0, 1)"),
    (["train", "dcgan", "--dataset", "triangles", "--classes", "1", "--out", "{run}", "--quiet"], "triangles has no labels"),
    (["train", "cgan", "--dataset", "{folder28}", "--out", "{run}", "--quiet"], "cgan is class-conditional but dataset"),
    (["demo", "dcgan_fashion_mnist_28", "--port", "70000"], "--port must be an integer in [1, 65535]; received 70000"),
    (["demo", "dcgan_fashion_mnist_28", "--port", "0"], "--port must be an integer in [1, 65535]; received 0"),
    (["demo", "nope_model"], "Unknown model 'nope_model'"),
    (["train-evaluator", "--epochs", "0", "--out", "{dir}/evaluator"], "--epochs must be an integer ≥ 1; received 0"),
    (["train-evaluator", "--batch-size", "0", "--out", "{dir}/evaluator"], "--batch-size must be an integer ≥ 1"),
])
def test_cli_refuses_with_one_line_and_touches_nothing(argv, message, tmp_path, capsys, inputs):
    paths = {**workspace(tmp_path), **inputs}
    before = {name: sorted(files) for name, _, files in os.walk(tmp_path)}
    assert cli.main([part.format(**paths) for part in argv]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gan-zoo: error: ") and "\n" not in error and message.format(**paths) in error, error
    assert {name: sorted(files) for name, _, files in os.walk(tmp_path)} == before  # nothing created (no run.json
    # left to lock --out against a rerun with sane settings)
    for path in (paths["png"], paths["tflite"], os.path.join(paths["folder"], "000000.png")):
        assert open(path, "rb").read() == EXISTING  # nothing overwritten


def test_points_features_of_an_image_run_are_refused_in_one_line(cyclegan_run, tmp_path, capsys):
    """A training run directory on Fashion-MNIST (the shared tiny CycleGAN run) as the preset above: refused before
    anything is sampled or written."""
    assert cli.main(["evaluate", str(cyclegan_run), "--features", "points", "--out", str(tmp_path / "e.json")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gan-zoo: error: --features points compares 2-D points (ring8, grid25); this generator "
                            "was trained on fashion_mnist: pass image features (") and "\n" not in error, error
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv", [
    ["interpolate", "cgan_fashion_mnist_28", "--seeds", "1,2", "--labels=", "--out", "x.png"],  # was: every class
    ["sample", "cgan_fashion_mnist_28", "--labels", ",", "--out", "x.png"],
    ["evaluate", "stylegan_lite_fashion_mnist_32", "--truncation", ","],
    ["evaluate", "stylegan_lite_fashion_mnist_32", "--truncation", "0.5,x"],
])
def test_a_list_option_with_nothing_usable_in_it_is_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as refused:
        __import__("zoo.cli").cli.build_parser().parse_args(argv)
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert refused.value.code == 2 and "error: argument" in error and "expected comma-separated" in error, error


def test_overwrite_replaces_the_file(tmp_path, capsys):
    paths = workspace(tmp_path)
    assert cli.main(["sample", "dcgan_fashion_mnist_28", "--num", "4", "--out", paths["png"], "--overwrite"]) == 0
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_long_folder_sample_shows_progress(tmp_path, capsys, monkeypatch):
    from zoo import progress

    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    assert cli.main(["sample", "dcgan_fashion_mnist_28", "--num", "1200", "--format", "folder",
                     "--out", str(tmp_path / "many")]) == 0
    lines = capsys.readouterr().err.splitlines()
    written = [line for line in lines if "PNG files written" in line]
    assert [re.sub(r" - \d+ s \(about \d+ s left\)$", "", line) for line in written] == [
        "500/1200 PNG files written", "1000/1200 PNG files written"], written
    assert len(os.listdir(tmp_path / "many")) == 1200


PEAK_RSS_SCRIPT = """
import resource, sys
import zoo
g = zoo.load("cgan_fashion_mnist_28")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
chunks = g.sample_chunks(10**9, labels=[1, 2])
for _ in range(3):
    next(chunks)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)  # MiB
"""


def test_sampling_a_billion_images_in_chunks_keeps_peak_memory_flat():
    """Labels are made per chunk: 10⁹ labels up front would be 4 GB (peak RSS, in a subprocess)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) < 1024, result.stdout  # measured 173 MiB; up front: 15 GiB


# --- the Python API: the same checks, where every path (CLI, server, demo) passes ------------------------------
@pytest.fixture(scope="module")
def generators():
    import zoo

    return {name: zoo.load(name) for name in (STYLEGAN, "dcgan_fashion_mnist_28", "cgan_fashion_mnist_28")}


def evaluate_with(**options):
    from zoo.eval import scoring

    return scoring.evaluate({"g": lambda seed: None}, None, **{"num_samples": 10, "seeds": 1, "metrics": ["fid"], **options})


def two_sample(name, real, fake):
    """A two-sample metric of zoo.metrics (kernel_mmd, wasserstein_distance, ...) on two feature arrays."""
    import zoo.metrics

    return getattr(zoo.metrics, name)(real, fake)


def known_modes(samples, sigma=0.02, min_share=0.1):
    """zoo.metrics.modes.known_modes of `samples` on two modes, (1, 0) and (0, 1)."""
    from zoo.metrics import modes

    return modes.known_modes(samples, np.eye(2), sigma, min_share)


TWO_SAMPLE_MINIMUM = {"kernel_mmd": 2, "wasserstein_distance": 1, "geometry_score": 64, "wasserstein_critic": 4}


def memorization_with(**options):
    from zoo.eval import memorization

    return memorization.memorization_report({"g": lambda seed: None}, None, **options)


def train_with(**options):
    import tempfile

    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    return train(TrainConfig("dcgan", tempfile.mkdtemp(), **options))


def picture(inputs, key):
    from zoo.images import read_image

    return read_image(inputs[key], 1, (28, 28))


TRUNCATION = r"truncation ψ must be a number in \[0, 2\] \(1: none, 0: the mean image\); received "
API_ROWS = [
    *[(lambda g, inputs, psi=psi: g[STYLEGAN].sample(2, truncation=psi), TRUNCATION + shown)
      for psi, shown in ((float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf"), (1e38, "1e\\+38"),
                         (-0.1, "-0.1"), (2.01, "2.01"), (True, "True"), ("0.5", "'0.5'"), (None, "None"))],
    (lambda g, inputs: g[STYLEGAN].sample_seeds([1], truncation=float("nan")), TRUNCATION + "nan"),
    (lambda g, inputs: g[STYLEGAN].interpolate(1, 2, truncation=float("inf")), TRUNCATION + "inf"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([1], [2], 1, truncation=float("nan")), TRUNCATION + "nan"),
    (lambda g, inputs: next(g[STYLEGAN].sample_chunks(2, truncation=float("nan"))), TRUNCATION + "nan"),
    (lambda g, inputs: __import__("zoo.sampling").sampling.sampler(g[STYLEGAN].recipe, float("nan")), TRUNCATION + "nan"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].sample(2, truncation=float("nan")), TRUNCATION + "nan"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].sample(2, truncation=0.5), "truncation needs a recipe with a truncation trick"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([0.5], [1], 1), r"seeds must be integers in \[0, 2\*\*63\), one or a "
                                                             r"1-D list; received \[0.5\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([1], [2.7], 1), r"seeds must be integers .*; received \[2.7\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles(0.5, 1, 1), r"seeds must be integers .*; received 0.5"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([-1], [2], 1), r"seeds must be integers .*; received \[-1\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([], [2], 1), r"seeds must be integers .*; received \[\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles(["1"], [2], 1), r"seeds must be integers .*; received \['1'\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([True], [2], 1), r"seeds must be integers .*; received \[True\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([1], [2], 8), r"crossover must be in \[0, 7\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles(range(10000), [2], 1), r"10000 rows × 1 columns of seeds make more than"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([1], [2], -1), r"crossover must be in \[0, 7\]"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([1], [2], 1.5), r"crossover must be in \[0, 7\] .*an integer; received 1.5"),
    (lambda g, inputs: g[STYLEGAN].mix_styles([1], [2], True), r"crossover must be in .*; received True"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].mix_styles([1], [2], 1), "style mixing needs a recipe with per-layer"),
    (lambda g, inputs: g[STYLEGAN].interpolate(1.5, 2), r"seeds must be integers .*; received \[1.5, 2\]"),
    (lambda g, inputs: g[STYLEGAN].interpolate(1, 2, steps=1), r"steps must be an integer in \[2, 1024\]; received 1"),
    (lambda g, inputs: g["cgan_fashion_mnist_28"].interpolate(1, 2, label=[1, 2]), "an interpolation keeps one class"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].interpolate(1, 2, label=1), "is unconditional: it takes no labels"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].latents([[1]]), r"seeds must be integers .*; received \[\[1\]\]"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].translate(np.zeros((1, 28, 28, 1), np.uint8)),
     "translate needs a translation model; dcgan_fashion_mnist_28 does sampling: use sample"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].project(np.zeros((1, 28, 28, 1), np.uint8), seed=-1),
     r"seed must be an integer in \[0, 9223372036854775807\]; received -1"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].project(np.zeros((1, 28, 28, 1), np.uint8), seed=1.5),
     r"seed must be an integer in \[0, 9223372036854775807\]; received 1.5"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].project(np.zeros((1, 28, 28, 1), np.uint8), steps=0),
     r"steps must be an integer in \[1, "),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].project(np.zeros((1, 28, 28, 1), np.uint8), frames=1),
     r"frames must be 0 \(none\) or ≥ 2"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].project(np.zeros((1, 32, 32, 1), np.uint8)),
     r"images to project must be \[n, 28, 28, 1\]"),
    (lambda g, inputs: g["dcgan_fashion_mnist_28"].project(np.full((1, 28, 28, 1), np.nan, np.float32)),
     "received NaN or infinite values"),
    (lambda g, inputs: __import__("zoo").load(None), r"a model is a preset name or a path \(a string\); received None"),
    (lambda g, inputs: __import__("zoo").load(7), r"a model is a preset name or a path \(a string\); received 7"),
    (lambda g, inputs: __import__("zoo").load(["dcgan_fashion_mnist_28"]), r"a model is a preset name or a path"),
    (lambda g, inputs: __import__("zoo").card(None), r"a model is a preset name or a path"),
    (lambda g, inputs: __import__("zoo").load_recipe(None), r"a model is a preset name or a path"),
    (lambda g, inputs: __import__("zoo").load("dcgan_fashion_mnist"), r"Unknown model 'dcgan_fashion_mnist'\. Did you mean"),
    (lambda g, inputs: __import__("zoo.sampling").sampling.load_target(None), r"a model is a preset name or a path"),
    (lambda g, inputs: __import__("zoo").load(inputs["list_card"]), r"card.json is not a model card \(a JSON object"),
    (lambda g, inputs: __import__("zoo").card(inputs["list_card"]), r"card.json is not a model card"),
    (lambda g, inputs: __import__("zoo").load(inputs["files_list_card"]), r"card.json is not a model card"),
    (lambda g, inputs: __import__("zoo").load(inputs["outside_card"]), r"lists '\.\./outside.txt': a preset's files are"),
    (lambda g, inputs: __import__("zoo").load(inputs["absolute_card"]), r"lists '/etc/hostname': a preset's files are"),
    (lambda g, inputs: __import__("zoo").load(inputs["sparse_card"]),
     r"huge.bin is 214748364800 bytes, more than any file the card can list \(at most 2147483648\): not hashed"),
    (lambda g, inputs: __import__("zoo.sampling").sampling.load_target(inputs["lambda_keras"]),
     r"cannot load .*lambda.keras \(Requested the deserialization of a `Lambda` layer"),
    (lambda g, inputs: picture(inputs, "fifo"), r"fifo.png is not a regular file; pass a PNG or JPEG file"),
    (lambda g, inputs: picture(inputs, "empty"), r"empty is not a regular file"),
    (lambda g, inputs: picture(inputs, "rgba_144mp"), r"is too large to open \(Image size \(144000000 pixels\)"),
    (lambda g, inputs: picture(inputs, "bomb"), r"is too large to open \(Image size \(400000000 pixels\) exceeds"),
    (lambda g, inputs: picture(inputs, "mp20"), r"too large to open \(5000×4000 = 20000000 pixels\); at most 16777216"),
    (lambda g, inputs: picture(inputs, "truncated_png"), r"cut.png is not an image PIL can read"),
    (lambda g, inputs: __import__("zoo.images").images.read_image(__import__("io").BytesIO(b"GIF89a"), 1, name="the upload"),
     r"the upload is not an image PIL can read"),
    (lambda g, inputs: evaluate_with(batch_size=0), r"--batch-size must be an integer ≥ 1; received 0"),
    (lambda g, inputs: evaluate_with(batch_size=2.5), r"--batch-size must be an integer ≥ 1; received 2.5"),
    (lambda g, inputs: evaluate_with(metrics=[]), r"--metrics names no metric; accepted: fid, kid"),
    (lambda g, inputs: evaluate_with(metrics=["fid", "FID"]), r"Unknown metric\(s\) \['FID'\]"),
    (lambda g, inputs: evaluate_with(seeds=0), r"--seeds must be an integer ≥ 1"),
    (lambda g, inputs: evaluate_with(num_samples=1), r"--num-samples 1 is too few for fid: it needs at least 2"),
    *[row for name, least in TWO_SAMPLE_MINIMUM.items() for row in (
        (lambda g, inputs, name=name, least=least: two_sample(name, np.ones((least - 1, 4)), np.ones((80, 4))),
         rf"{name} needs at least {least} samples per set; received {least - 1} real and 80 generated"),
        (lambda g, inputs, name=name: two_sample(name, np.ones((80, 4)), np.array([])),
         rf"{name} takes two feature arrays of shape \[n, d\] with d ≥ 1; received real \[80, 4\] and generated \[0\]"),
        (lambda g, inputs, name=name: two_sample(name, np.ones((80, 4)), np.ones((80, 3))),
         rf"{name} compares features of one width; received real \[n, 4\] and generated \[n, 3\]"),
        (lambda g, inputs, name=name: two_sample(name, np.ones((80, 4)), np.full((80, 4), np.nan)),
         rf"{name}: the generated features hold NaN or infinite values \(320 of 320\)"),
        (lambda g, inputs, name=name: two_sample(name, np.full((80, 4), np.inf), np.ones((80, 4))),
         rf"{name}: the real features hold NaN or infinite values \(320 of 320\)"),
        (lambda g, inputs, name=name: two_sample(name, np.ones((0, 4)), np.ones((80, 4))),
         rf"{name} needs at least {least} samples per set; received 0 real and 80 generated"),
        (lambda g, inputs, name=name: two_sample(name, np.ones((80, 2)), [[1.0, 2.0], [3.0]] * 40),
         rf"{name} takes arrays of numbers; the generated features are not one \(setting an array element"))],
    *[(lambda g, inputs, args=args: known_modes(*args), message) for args, message in (
        ((np.ones((0, 2)),), r"known_modes takes samples \[N, d\] and mode centres \[K, d\] of one width, N, K, d ≥ 1; "
                             r"received samples \[0, 2\] and centres \[2, 2\]"),
        ((np.array([]),), r"received samples \[0\] and centres \[2, 2\]"),
        ((np.ones((5, 3)),), r"received samples \[5, 3\] and centres \[2, 2\]"),
        ((np.full((5, 2), np.nan),), r"known_modes: the samples or centres hold NaN or infinite values \(10 of 10"),
        (([["a", "b"]],), r"known_modes takes arrays of numbers; the samples are not one \(could not convert"),
        ((np.ones((5, 2)), 0.0), r"known_modes needs the modes' sigma > 0 \(finite\); received sigma=0.0"),
        ((np.ones((5, 2)), 0.02, None), r"known_modes needs min_share in \[0, 1\]; received min_share=None"),
        ((np.ones((5, 2)), 0.02, True), r"known_modes needs min_share in \[0, 1\]; received min_share=True"))],
    (lambda g, inputs: memorization_with(batch_size=0), r"--batch-size must be an integer ≥ 1; received 0"),
    (lambda g, inputs: memorization_with(batch_size=-5), r"--batch-size must be an integer ≥ 1; received -5"),
    (lambda g, inputs: memorization_with(seed=-1), r"--seed must be an integer in \[0, 9223372036854775807\]; received -1"),
    (lambda g, inputs: evaluate_with(metrics=["gan_train_test"], gan_train_steps=-1),
     r"--gan-train-steps must be an integer ≥ 1; received -1"),
    (lambda g, inputs: __import__("zoo.data.datasets").data.datasets.load("fashion_mnist", data_dir=inputs["picture"]),
     r"data_dir .*picture.png is not a directory"),
    (lambda g, inputs: __import__("zoo.data.datasets").data.datasets.load("fashion_mnist", image_size=(28.5, 28)),
     r"image_size=\(28.5, 28\) is invalid; pass an int or \(height, width\)"),  # was 28, silently
    (lambda g, inputs: __import__("zoo.data.datasets").data.datasets.load("fashion_mnist", image_size="28"),
     r"image_size='28' is invalid"),  # was (2, 8), silently
    *[(lambda g, inputs, size=size: train_with(image_size=size), rf"image_size={shown} is invalid; pass an int or "
       r"\(height, width\)") for size, shown in (("28", "'28'"), ((28,), r"\(28,\)"), (28.0, "28.0"), (True, "True"))],
    (lambda g, inputs: __import__("zoo").list_models(None), r"pattern must be a shell-style string"),
    (lambda g, inputs: __import__("zoo.eval.classifier").eval.classifier.train_evaluator("/nonexistent", epochs=0),
     r"--epochs must be an integer ≥ 1; received 0"),
]


@pytest.mark.parametrize("call, message", API_ROWS)
def test_api_refuses_with_one_line(generators, inputs, call, message):
    from zoo.errors import UserError

    with pytest.raises(UserError, match=message) as refused:
        call(generators, inputs)
    assert "\n" not in str(refused.value)


# --- inputs that gave silently wrong results: now the right ones --------------------------------------------------
def test_a_16_bit_picture_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    """PIL's convert("L") clips 16-bit gray (mode I;16) at 255: every pixel above 255/65535 came out white."""
    from PIL import Image

    from zoo.images import read_image

    deep = np.linspace(0, 65535, 28 * 28).reshape(28, 28).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    expected = np.rint(deep / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(read_image(str(tmp_path / "deep.png"), 1)[..., 0], expected)
    np.testing.assert_array_equal(read_image(str(tmp_path / "deep.png"), 3), np.repeat(expected[..., None], 3, -1))
    assert 100 < read_image(str(tmp_path / "deep.png"), 1).mean() < 155  # a ramp, not white


def folder_images(folder, channels=None):
    from zoo.data import datasets

    batches = datasets.load(folder, channels=channels, batch_size=8, drop_remainder=False)
    return np.concatenate([np.asarray(batch[0] if isinstance(batch, tuple) else batch) for batch in batches])


def test_a_cmyk_jpeg_among_gray_pictures_trains_in_its_colours(tmp_path):
    """TensorFlow's JPEG decoder gives a CMYK JPEG only as RGB (asked for one channel, it failed at step 0 without
    naming the file): a folder with any colour picture is decoded as RGB and converted after."""
    from PIL import Image

    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(tmp_path / "a_gray.png")
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "b_red.jpg", quality=100)  # red, in ink
    gray, red = folder_images(str(tmp_path), channels=1)
    np.testing.assert_allclose(gray, 200 / 127.5 - 1, atol=1e-4)  # via RGB: rgb_to_grayscale's weights sum to 0.9999
    np.testing.assert_allclose(red, (0.2989 * 255) / 127.5 - 1, atol=0.03)  # red's luminance, not black or white
    _, red_rgb = folder_images(str(tmp_path), channels=3)
    np.testing.assert_allclose(red_rgb[0, 0], [1, -1, -1], atol=0.03)


def test_pictures_whose_names_are_not_utf8_are_read(tmp_path):
    """Names are bytes to the OS: TensorFlow got a str it could not encode (a traceback before training)."""
    from PIL import Image

    os.makedirs(os.fsencode(tmp_path / "cl") + b"\xe9")  # a Latin-1 class folder name
    for index, name in enumerate((b"\xff\xfe.png", b"ok.png")):
        Image.fromarray(np.full((8, 8), 50 * index, np.uint8)).save(os.path.join(os.fsencode(tmp_path / "cl") + b"\xe9",
                                                                                 name))
    images = folder_images(str(tmp_path))
    np.testing.assert_allclose(sorted(images.reshape(2, -1).mean(axis=1)), [-1.0, 50 / 127.5 - 1], atol=1e-5)


def test_an_unusable_cache_directory_is_named_with_its_variable(tmp_path, monkeypatch, capsys):
    from zoo import files

    (tmp_path / "a_file").write_text("x")
    for unusable in (tmp_path / "a_file", tmp_path / "a_file" / "below"):
        monkeypatch.setattr(files, "CACHE_DIR", str(unusable))
        with pytest.raises(files.UserError, match=f"the cache directory {unusable} cannot be used .*; set GAN_ZOO_CACHE "
                                                  "to a writable directory"):
            files.cache_path("reference", "x.npz")
    assert cli.main(["evaluate", "dcgan_fashion_mnist_28", "--num-samples", "10", "--seeds", "1", "--metrics", "fid",
                     "--no-untrained-baseline"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gan-zoo: error: the cache directory") and "GAN_ZOO_CACHE" in error and "\n" not in error


def test_style_mixing_takes_one_seed_as_a_list_of_one(generators):
    """mix_styles(5, ...) raised a TypeError (list(5)); seeds mean one thing everywhere: 5 is [5]."""
    g = generators[STYLEGAN]
    np.testing.assert_array_equal(g.mix_styles(5, 1, 1), g.mix_styles([5], [1], 1))
