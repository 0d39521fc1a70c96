"""Presets: made from a run, listed, loaded with verified weights, sampled reproducibly, carded,
and refused with clear errors when unknown or corrupt."""
import json
import os

import numpy as np
import pytest

from recipes.latents import stream_latents
import zoo
from zoo import cli, sampling
from zoo.errors import UserError
from zoo.images import to_uint8
from zoo.presets import store
from zoo.presets.packaging import card_markdown, make_preset
from zoo.train import run_directory
from zoo.train.config import TrainConfig
from zoo.train.loop import train

TINY_SAMPLING = {"dcgan": {"width": 8, "latent_dim": 8, "ema_decay": 0.9},
                 "cgan": {"width": 8, "latent_dim": 8, "embedding_dim": 4}}


def tiny_run(out, recipe, steps=2, **settings):
    train(TrainConfig(recipe=recipe, out=str(out), steps=steps, batch_size=8, sample_every=100,
                      log_every=1, verbose=0, command=f"gan-zoo train {recipe} --tiny", **settings))
    return str(out)


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """A presets directory with tiny dcgan (EMA) and cgan presets made from real 2-step runs (dcgan's
    stopped after step 1 and resumed)."""
    root = tmp_path_factory.mktemp("zoo")
    presets_dir = root / "presets"
    for recipe, settings in TINY_SAMPLING.items():
        if recipe == "dcgan":
            tiny_run(root / recipe, recipe, steps=1, recipe_args=settings)
        run = tiny_run(root / recipe, recipe, recipe_args=settings)
        report = root / f"{recipe}_eval.json"
        assert cli.main(["evaluate", run, "--num-samples", "100", "--seeds", "1", "--metrics", "fid",
                         "--no-untrained-baseline", "--out", str(report)]) == 0
        figures = [(os.path.join(run, "samples", "step_000002.png"), "last grid")] if recipe == "dcgan" else []
        make_preset(run, f"{recipe}_tiny_28", str(presets_dir), str(report), notes="a test preset", figures=figures)
    return root


@pytest.fixture
def shipped(presets, monkeypatch):
    monkeypatch.setattr(store, "PRESETS_DIR", str(presets / "presets"))
    return presets


def test_card_records_every_session_of_a_resumed_run(shipped):
    card = zoo.card("dcgan_tiny_28")
    sessions = card["training"]["sessions"]
    assert [(s["from_step"], s["to_step"]) for s in sessions] == [(0, 1), (1, 2)]
    assert card["training"]["commands"] == ["gan-zoo train dcgan --tiny"] * 2
    markdown = card_markdown(card)
    assert "Trained in 2 sessions" in markdown and "| 2 | " in markdown and "1 → 2" in markdown


def test_list_and_unknown_names(shipped):
    assert zoo.list_models() == ["cgan_tiny_28", "dcgan_tiny_28"]
    assert zoo.list_models("dc*") == ["dcgan_tiny_28"]
    with pytest.raises(UserError, match=r"Unknown model 'dcgan_tiny'\. Did you mean: dcgan_tiny_28.*Known models"):
        zoo.load("dcgan_tiny")


def test_load_gives_the_runs_sampling_generator_and_reproducible_uint8_samples(shipped):
    g = zoo.load("dcgan_tiny_28")
    run_recipe, _ = run_directory.recipe_from_run(str(shipped / "dcgan"))
    z = stream_latents(0, 0, 4, 8)
    np.testing.assert_allclose(g(z).numpy(), run_recipe.ema_generator(z).numpy(), atol=1e-6)  # the EMA copy
    images = g.sample(4, seed=0)
    assert images.dtype == np.uint8 and images.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(images, g.sample(4, seed=0))
    assert not np.array_equal(images, g.sample(4, seed=1))
    np.testing.assert_array_equal(images[:2], g.sample(2, seed=0))  # sample(n, s) = first n of the stream
    long = g.sample(1001, seed=0)  # three chunks: the same stream `gan-zoo evaluate` scores
    np.testing.assert_array_equal(long[:4], images)
    np.testing.assert_array_equal(long[500:503], to_uint8(sampling.sampler(run_recipe)(0)(500, 3)))
    np.testing.assert_array_equal(g.sample_seeds([0, 1]), np.concatenate([images[:1], g.sample(1, seed=1)]))
    np.testing.assert_array_equal(g.latents(0), stream_latents(0, 0, 1, 8))  # seed s = sample 0 of stream s
    assert g.card["training"]["commands"] == ["gan-zoo train dcgan --tiny"] * 2  # stopped after step 1, resumed
    with pytest.raises(UserError, match="unconditional: it takes no labels"):
        g.sample(2, labels=[1])
    with pytest.raises(UserError, match="translate needs a translation model.*use sample"):
        g.translate(images)


def test_conditional_samples_follow_the_labels(shipped):
    g = zoo.load("cgan_tiny_28")
    by_label = g.sample(6, seed=0, labels=[3, 5])
    z = stream_latents(0, 0, 6, 8)
    expected = g([z, np.array([3, 5, 3, 5, 3, 5], np.int32)]).numpy()
    np.testing.assert_array_equal(by_label, np.clip(np.rint((expected + 1) * 127.5), 0, 255).astype(np.uint8))
    with pytest.raises(UserError, match=r"labels must be class ids: integers in \[0, 10\), one or a 1-D list"):
        g.sample(2, labels=[10])
    # labels are made per chunk: the user's labels continue in turn across the 500-image chunks
    across = g.sample(503, seed=0, labels=[3, 5])[500:]
    expected = g([stream_latents(0, 500, 3, 8), np.array([3, 5, 3], np.int32)]).numpy()
    np.testing.assert_array_equal(across, np.clip(np.rint((expected + 1) * 127.5), 0, 255).astype(np.uint8))
    assert next(g.sample_chunks(10**9, labels=[1])).shape == (500, 28, 28, 1)  # no billion labels up front


@pytest.mark.parametrize("call, message", [
    (lambda g: g.sample(2.5), r"number of samples must be an integer ≥ 1; received 2.5"),
    (lambda g: g.sample(0), r"number of samples must be an integer ≥ 1; received 0"),
    (lambda g: g.sample(True), r"number of samples must be an integer ≥ 1; received True"),
    (lambda g: g.sample(2, seed=None), r"seed must be an integer in \[0, .*\]; received None"),
    (lambda g: g.sample(2, seed=-5), r"seed must be an integer in \[0, 9223372036854775807\]; received -5"),
    (lambda g: g.sample(2, seed=2**63), r"seed must be an integer in \[0, 9223372036854775807\]; received 92233"),
    (lambda g: g.sample_seeds([3, -1]), r"seeds must be integers in \[0, 2\*\*63\), one or a 1-D list; received \[3, -1\]"),
    (lambda g: g.sample_seeds(1.5), r"seeds must be integers in \[0, 2\*\*63\).*; received 1.5"),
    (lambda g: g.sample_seeds([]), r"seeds must be integers .*; received \[\]"),
    (lambda g: g.sample_seeds([1, 2, 3], labels=[1, 2]), r"labels must be one class id or one per seed \(3\); received 2"),
    (lambda g: g.sample(2, labels=["a"]), r"labels must be class ids: .*; received \['a'\]"),
    (lambda g: g.sample(2, labels=[9.9]), r"labels must be class ids: .*; received \[9.9\]"),  # not truncated to 9
    (lambda g: g.sample(2, labels=[[1, 2]]), r"labels must be class ids: .*one or a 1-D list; received \[\[1, 2\]\]"),
    (lambda g: g.sample(2, labels=[2**40]), r"labels must be class ids: .*; received \[1099511627776\]"),
    (lambda g: g.sample(2, labels=[]), r"labels must be class ids: .*; received \[\]"),
    (lambda g: g.sample(10**9), r"sample\(1000000000\) would return a 730.2 GiB array .*sample_chunks"),
])
def test_sample_arguments_are_refused_with_what_is_accepted(shipped, call, message):
    g = zoo.load("cgan_tiny_28")
    with pytest.raises(UserError, match=message):
        call(g)


LOW_RES = np.random.default_rng(0).integers(0, 256, (2, 7, 7, 1))


@pytest.mark.parametrize("images, message", [
    (np.full((1, 7, 7, 1), np.nan, np.float32), r"received NaN or infinite values"),
    (LOW_RES.astype(np.float32), r"received floats in \[\d+, 255\] \(scale 0..255 pixels by x / 127.5 - 1"),
    (LOW_RES + 100, r"received integers in \[\d+, \d+\]"),
    (np.full((1, 7, 7, 1), "a"), r"received <U1 values"),
    (np.zeros((0, 7, 7, 1), np.uint8), r"received shape \(0, 7, 7, 1\)"),
])
def test_upscale_refuses_what_it_would_turn_into_garbage(images, message):
    g = zoo.load("srgan_fashion_mnist_x4")
    with pytest.raises(UserError, match=r"images must be integer pixels in \[0, 255\] or floats in \[-1, 1\]|"
                                        r"expected images as"):
        g.upscale(images)
    with pytest.raises(UserError, match=message):
        g.upscale(images)


def test_upscale_takes_integer_pixels_of_any_integer_dtype_and_floats_in_range():
    g = zoo.load("srgan_fashion_mnist_x4")
    expected = g.upscale(LOW_RES.astype(np.uint8))
    np.testing.assert_array_equal(g.upscale(LOW_RES), expected)  # int64, as np.array(PIL image) gives
    np.testing.assert_array_equal(g.upscale(LOW_RES / 127.5 - 1), expected)


def test_load_recipe_restores_generator_and_discriminator_and_trains(shipped):
    recipe = zoo.load_recipe("dcgan_tiny_28")
    run_recipe, _ = run_directory.recipe_from_run(str(shipped / "dcgan"))
    for a, b in zip(recipe.discriminator.get_weights(), run_recipe.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(recipe.generator.get_weights(), run_recipe.ema_generator.get_weights()):
        np.testing.assert_array_equal(a, b)  # training resumes from the shipped (EMA) generator
    images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    history = recipe.fit(images, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


def test_corrupt_or_missing_weights_are_detected(shipped, tmp_path):
    import shutil

    copy = tmp_path / "dcgan_copy"
    shutil.copytree(shipped / "presets" / "dcgan_tiny_28", copy)
    assert zoo.load(str(copy)).sample(1).shape == (1, 28, 28, 1)  # a preset directory loads too
    with open(copy / "generator.weights.h5", "r+b") as handle:
        handle.seek(-16, os.SEEK_END)
        handle.write(b"\0" * 16)
    with pytest.raises(UserError, match="generator.weights.h5 is corrupt: its sha256 is"):
        zoo.load(str(copy))
    shutil.copy(shipped / "presets" / "dcgan_tiny_28" / "generator.weights.h5", copy)
    os.remove(copy / "discriminator.weights.h5")
    assert zoo.load(str(copy)).sample(1).shape == (1, 28, 28, 1)  # the generator alone needs no discriminator
    with pytest.raises(UserError, match="discriminator.weights.h5 is missing"):
        zoo.load_recipe(str(copy))
    # config.json is verified before anything is built from it, and a preset must list it
    config = json.loads((copy / "config.json").read_text())
    config["recipe_config"]["width"] = 4
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="config.json is corrupt: its sha256 is"):
        zoo.load(str(copy))
    card = json.loads((copy / "card.json").read_text())
    del card["files"]["config.json"]
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(UserError, match="config.json is not listed with a sha256 in"):
        zoo.load(str(copy))


def test_cli_list_sample_card_and_evaluate_a_preset(shipped, tmp_path, capsys):
    assert cli.main(["list"]) == 0
    assert "dcgan_tiny_28" in capsys.readouterr().out
    assert cli.main(["sample", "cgan_tiny_28", "--num", "6", "--labels", "0,1,2", "--out", str(tmp_path / "g.png")]) == 0
    from PIL import Image

    assert np.array(Image.open(tmp_path / "g.png")).shape == (2 * 30 + 2, 3 * 30 + 2)  # 3 label columns, 2 rows
    assert cli.main(["sample", "dcgan_tiny_28", "--num", "3", "--seed", "4", "--format", "folder",
                     "--out", str(tmp_path / "folder")]) == 0
    assert sorted(os.listdir(tmp_path / "folder")) == ["000000.png", "000001.png", "000002.png"]
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "folder" / "000002.png")),
                                  zoo.load("dcgan_tiny_28").sample(3, seed=4)[2, ..., 0])
    assert cli.main(["card", "dcgan_tiny_28"]) == 0
    printed = capsys.readouterr().out
    assert "gan-zoo train dcgan --tiny" in printed and "| generator |" in printed and "generator.weights.h5" in printed
    assert cli.main(["card", "dcgan_tiny_28", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["evaluation"]["protocol"]["num_samples"] == 100 and card["ema"] is True
    assert card["training"]["steps"] == 2 and card["training"]["machine"]["cpu_cores"] == os.cpu_count()
    assert cli.main(["evaluate", "dcgan_tiny_28", "--num-samples", "100", "--seeds", "1", "--metrics", "fid",
                     "--no-untrained-baseline", "--out", str(tmp_path / "e.json")]) == 0
    report = json.load(open(tmp_path / "e.json"))
    shipped_fid = card["evaluation"]["results"]["generator"]["fid"]["mean"]
    assert report["target"]["kind"] == "preset" and report["results"]["generator"]["fid"]["mean"] == pytest.approx(
        shipped_fid, rel=1e-5)  # the preset scores what its run scored
    assert cli.main(["sample", "dcgan_tiny", "--out", str(tmp_path / "x.png")]) == 2
    assert "Did you mean: dcgan_tiny_28" in capsys.readouterr().err


def test_image_to_image_presets(tmp_path, monkeypatch, cyclegan_run):
    monkeypatch.setattr(store, "PRESETS_DIR", str(tmp_path / "presets"))
    make_preset(str(cyclegan_run), "cyclegan_tiny", str(tmp_path / "presets"))
    srgan = {"width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_stages": 1, "discriminator_dense": 8,
             "content_network": "evaluator"}
    make_preset(tiny_run(tmp_path / "srgan", "srgan", steps=1, recipe_args=srgan), "srgan_tiny", str(tmp_path / "presets"))
    translator = zoo.load("cyclegan_tiny")
    images = np.full((2, 28, 28, 1), 128, np.uint8)
    assert translator.translate(images, "b2a").shape == (2, 28, 28, 1)
    with pytest.raises(UserError, match="sample needs a sampling model.*use translate"):
        translator.sample(2)
    upscaler = zoo.load("srgan_tiny")
    assert upscaler.upscale(np.zeros((1, 7, 9, 1), np.uint8)).shape == (1, 28, 36, 1)  # any input size
    recipe = zoo.load_recipe("srgan_tiny")  # the content network comes back with its weights
    assert "content_network.weights.h5" in zoo.card("srgan_tiny")["files"]
    assert recipe.content_network is not None and recipe.compiled


def test_cards_command_writes_cards_plots_and_index(shipped, tmp_path):
    out = tmp_path / "cards"
    assert cli.main(["cards", "--out", str(out), "--readme", ""]) == 0
    assert sorted(os.listdir(out)) == ["README.md", "cgan_tiny_28.md", "cgan_tiny_28_samples.png",
                                       "cgan_tiny_28_training.png", "dcgan_tiny_28.md", "dcgan_tiny_28_samples.png",
                                       "dcgan_tiny_28_step_000002.png", "dcgan_tiny_28_training.png"]
    card = zoo.card("dcgan_tiny_28")
    assert [row["step"] for row in card["training"]["curve"]["losses"]] == [1, 2]  # --log-every 1 in tiny_run
    text = (out / "dcgan_tiny_28.md").read_text()
    for expected in ("## Training", "gan-zoo train dcgan --tiny", "## Evaluation", "| generator |", "## Intended use",
                     "## Limitations", "## License", "Radford et al. 2015", "dcgan_tiny_28_training.png",
                     "![last grid](dcgan_tiny_28_step_000002.png)"):
        assert expected in text, expected
    index = (out / "README.md").read_text()
    fid = card["evaluation"]["results"]["generator"]["fid"]["mean"]
    assert f"| [dcgan_tiny_28](dcgan_tiny_28.md) | dcgan | sampling | FID {fid:.1f}" in index


def test_finetune_starts_from_the_preset_and_writes_a_loadable_preset(shipped, tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(16):  # RGB 12×12: resized to the preset's 28×28 grayscale
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(folder / f"{index}.png")
    out = tmp_path / "ft"
    assert cli.main(["finetune", "dcgan_tiny_28", "--data", str(folder), "--steps", "2", "--batch-size", "8",
                     "--set", "lr=0", "--set", "ema_decay=0.5", "--set", "augment=translation,cutout",
                     "--out", str(out)]) == 0, capsys.readouterr().err
    tuned = zoo.load(str(out / "dcgan_tiny_28_finetuned"))
    original = zoo.load("dcgan_tiny_28")
    for a, b in zip(tuned.network.trainable_weights, original.network.trainable_weights):
        # lr=0: the preset's weights (the EMA update d·ema + (1-d)·w of w = ema rounds at ~1e-7)
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    assert tuned.card["training"]["steps"] == 2 and "Fine-tuned from dcgan_tiny_28" in tuned.card["notes"]
    description = json.load(open(out / "run.json"))
    assert description["init_from"].endswith("dcgan_tiny_28") and description["recipe_config"]["ema_decay"] == 0.5
    assert description["recipe_config"]["augment"] == "translation,cutout"  # DiffAugment for small data
    assert cli.main(["finetune", "dcgan_tiny_28", "--data", str(folder), "--steps", "2", "--set", "augment=flip",
                     "--out", str(tmp_path / "bad_augment")]) == 2
    assert "subset of ['color', 'translation', 'cutout']. Received: augment='flip'" in capsys.readouterr().err
    assert cli.main(["finetune", "dcgan_tiny_28", "--data", str(folder), "--steps", "2", "--set", "width=4",
                     "--out", str(tmp_path / "bad")]) == 2
    assert "fine-tuning keeps the preset's architecture" in capsys.readouterr().err


def test_a_run_continued_from_a_preset_counts_on_from_its_history_once(shipped, tmp_path, monkeypatch):
    """`train --init-from PRESET` on the preset's own data and batch continues its training: the new card holds
    the preset's history and then the run's, counted on from its steps, even when the run is packaged over that
    preset and packaged again (the preset's card as the run began is kept in the run directory)."""
    import shutil

    presets_dir = tmp_path / "presets"
    shutil.copytree(shipped / "presets", presets_dir)
    monkeypatch.setattr(store, "PRESETS_DIR", str(presets_dir))
    before = zoo.card("dcgan_tiny_28")["training"]
    run = tiny_run(tmp_path / "more", "dcgan", steps=1, init_from="dcgan_tiny_28")  # a name, as the API allows
    for _ in range(2):  # the second packaging reads the card the first one wrote over the preset
        make_preset(run, "dcgan_tiny_28", str(presets_dir), overwrite=True)
        after = zoo.card("dcgan_tiny_28")["training"]
        assert after["steps"] == before["steps"] + 1
        assert after["continued_from"]["preset"] == "dcgan_tiny_28"
        assert after["continued_from"]["steps"] == before["steps"]
        assert after["commands"] == before["commands"] + ["gan-zoo train dcgan --tiny"]
        assert [(s["from_step"], s["to_step"]) for s in after["sessions"]] == \
            [(s["from_step"], s["to_step"]) for s in before["sessions"]] + [(before["steps"], before["steps"] + 1)]


def test_config_json_names_the_keras_class_and_a_mismatch_is_refused(shipped, tmp_path):
    """A preset's config.json records its recipe's registered Keras class; loading refuses one that is not the
    class of the recipe it names (an edited file, or another version's recipe), in one line."""
    import shutil

    from zoo.files import sha256_of

    config = json.load(open(shipped / "presets" / "dcgan_tiny_28" / "config.json"))
    assert config["class_name"] == "gan_zoo>DCGAN"
    edited = tmp_path / "edited"
    shutil.copytree(shipped / "presets" / "dcgan_tiny_28", edited)
    (edited / "config.json").write_text(json.dumps({**config, "class_name": "gan_zoo>CGAN"}))
    card = json.load(open(edited / "card.json"))
    card["files"]["config.json"] = sha256_of(str(edited / "config.json"))  # a consistent edit: the sha256 passes
    (edited / "card.json").write_text(json.dumps(card))
    with pytest.raises(UserError, match=r"names the Keras class 'gan_zoo>CGAN', but recipe 'dcgan' is "
                                        r"'gan_zoo>DCGAN' here") as refused:
        zoo.load(str(edited))
    assert "\n" not in str(refused.value)
