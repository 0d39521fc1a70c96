"""Make a preset (zoo/presets/store.py layout) from a `gan-zoo train` run and its `gan-zoo evaluate`
report (built beside and renamed in, under the run's lock), and render model cards as Markdown."""
import os
import shutil

import keras
import numpy as np

import recipes
from recipes.capabilities import SAMPLE
from zoo.data import record
from zoo.errors import UserError
from zoo.eval.scoring import markdown_table
from zoo.files import (atomic_output, check_output, check_plain_name, copy_atomically, locked_directory, read_json,
                       sha256_of, write_atomically, write_json)
from zoo.images import make_grid, save_png, to_uint8
from zoo.presets import store
from zoo.provenance import describe_machine
from zoo.tasks import task_for
from zoo.train import run_directory


def preview_grid(recipe, data, seed=0):
    """uint8 grid of the recipe's task preview (zoo.tasks) on its data (`data`: its DataRecord): 64 samples
    (conditional: 8 per class, a column per class) for sampling recipes, the recipe's own preview of real test
    images for image-to-image ones."""
    return task_for(recipe).preview_grid(recipe, data, seed)


def training_provenance(run, allow_incomplete=False):
    """Command(s), seed, steps, batch, wall time and machine of a finished run; of a run stopped early
    only when `allow_incomplete` (then with `stopped_early`: the step, --steps and status)."""
    description = read_json(os.path.join(run, run_directory.RUN_FILE))
    state = read_json(os.path.join(run, run_directory.STATE_FILE))
    completed = state.get("status") == "completed"
    if not (completed or allow_incomplete):
        raise UserError(f"{run} has not completed (status {state.get('status')!r}, step {state.get('step')} of "
                        f"{state.get('total_steps')}); finish training (rerun its command) or pass --allow-incomplete "
                        "to package it as it is")
    stopped = {} if completed else {"stopped_early": {key: state.get(key) for key in ("step", "total_steps", "status")}}
    return {**stopped, "commands": state.get("commands", []), "seed": description["seed"], "steps": state["step"],
            "batch_size": description["batch_size"], "wall_time_seconds": state.get("wall_time_seconds"),
            "machine": state.get("machine"), "data": description["data"], "optimizers": description["optimizers"],
            "dtype_policy": description["dtype_policy"], **({"sessions": state["sessions"]} if "sessions" in state else {})}


LIMITATIONS = ("Trained briefly on 2 CPU cores: quality is far from the state of the art. Metrics use the project's "
               "Fashion-MNIST evaluator features and are not comparable to Inception-based numbers in papers. "
               "Outputs only resemble the training data (60k Fashion-MNIST training images); they are not real "
               "photographs of products.")
LICENSE = ("Apache License 2.0, for the code and these weights (see LICENSE at the repository root). "
           "Training data: Fashion-MNIST (Zalando Research, MIT License).")


def training_curve(run):
    """Losses (every --log-every steps) and periodic FID (--eval-every) of a run, for the card's plot."""
    return {"losses": run_directory.read_steps(os.path.join(run, run_directory.LOSSES_FILE)),
            "eval": run_directory.read_steps(os.path.join(run, run_directory.EVAL_FILE))}


def continued_training(training, run):
    """The training record of a run that continued a preset's training (`--init-from` a preset of the same
    recipe, data and batch size): the preset's record, then the run's (commands, steps, wall time, resume
    sessions and curves, the run's steps counted on from the preset's), and `continued_from` naming the
    preset and its steps (its card as the run began: packaging the run again, even over that preset, counts it
    once). A fine-tune on other data, or a run from scratch, keeps its own record."""
    description = read_json(os.path.join(run, run_directory.RUN_FILE))
    base_dir = description.get("init_from")
    base = run_directory.base_card(run)
    if base is None and base_dir and store.is_preset_dir(base_dir):  # a run begun before the card was kept
        base = store.card(base_dir)
    if base is None:
        return training
    before = base.get("training", {})
    if (base["recipe"], before.get("data"), before.get("batch_size")) != (
            description["recipe"], description["data"], description["batch_size"]):
        return training
    offset = before["steps"]

    def counted_on(rows, *keys):
        return [{**row, **{key: row[key] + offset for key in keys}} for row in rows]

    return {**training, "steps": offset + training["steps"],
            "continued_from": {"preset": base["name"], "steps": offset, "seed": before.get("seed"),
                               "generator_sha256": base.get("files", {}).get(store.weights_file("generator"))},
            "commands": before.get("commands", []) + training["commands"],
            "wall_time_seconds": (before.get("wall_time_seconds") or 0) + (training.get("wall_time_seconds") or 0),
            "sessions": before.get("sessions", []) + counted_on(training.get("sessions", []), "from_step", "to_step"),
            "curve": {key: before.get("curve", {}).get(key, []) + counted_on(rows, "step")
                      for key, rows in training["curve"].items()}}


def make_preset(run, name, out_dir=store.PRESETS_DIR, evaluation=None, notes=None, figures=(), memorization=None,
                overwrite=False, allow_incomplete=False):
    """Write preset `name` under `out_dir` from training run `run` (its latest checkpoint), an
    optional `gan-zoo evaluate --out` report of the same run, optional (PNG path, caption)
    `figures` (e.g. an FID-vs-truncation plot, a style-mixing grid) and an optional
    `gan-zoo memorization --out` directory of the same run. An existing preset of that name is replaced
    (whole, once the new one is complete) only when `overwrite`; a run stopped before its --steps is
    packaged only when `allow_incomplete`. The run is locked meanwhile (no training writes into it)."""
    target = os.path.join(out_dir, check_plain_name(name, "--name"))
    check_figure_names(figures)
    if os.path.realpath(out_dir) == os.path.realpath(run) and name in run_directory.ENTRIES:
        raise UserError(f"--name {name} is part of the run directory {run}; choose another name")
    output = check_output(target, overwrite, "dir", "preset")
    run_directory.require_run(run)  # before the lock: a folder that is not a run gets no lock file
    with locked_directory(run, flag="run", create=False):
        recipe, description = run_directory.recipe_from_run(run)
        training = continued_training({**training_provenance(run, allow_incomplete), "curve": training_curve(run)}, run)
        if "stopped_early" in training:
            stopped = training["stopped_early"]
            notes = " ".join(filter(None, [notes, f"Training stopped at step {stopped['step']} of "
                                                  f"{stopped['total_steps']} ({stopped['status']}); packaged as it was."]))
        with atomic_output(output) as directory:
            write_preset(directory, name, recipe, description, training, evaluation, notes, figures, memorization)
    return target


def check_figure_names(figures):
    """Figures are copied into the preset under their file names: two of one name, or one named as a preset's own
    image (samples.png, memorization.png), would overwrite each other; refused."""
    names = [os.path.basename(path) for path, _ in figures]
    own = (store.SAMPLES_FILE, MEMORIZATION_GRID)
    clashes = sorted({name for name in names if names.count(name) > 1 or name in own})
    if clashes:
        raise UserError(f"--figure files are copied into the preset by file name, which must differ from each other "
                        f"and from {store.SAMPLES_FILE} and {MEMORIZATION_GRID}; rename {', '.join(clashes)}")


def write_preset(directory, name, recipe, description, training, evaluation, notes, figures, memorization):
    """The preset's files in `directory` (see make_preset); the card carries the record of the data (zoo.data.record)."""
    data = record.from_description(description, recipe.image_shape)
    config = {"recipe": description["recipe"], "class_name": keras.saving.get_registered_name(type(recipe)),
              "recipe_config": {k: v for k, v in recipe.get_config().items() if k != "name"}}
    write_json(os.path.join(directory, store.CONFIG_FILE), config)
    files = [store.CONFIG_FILE]
    for network_name, network in store.shipped_networks(recipe).items():
        network.save_weights(os.path.join(directory, store.weights_file(network_name)))
        files.append(store.weights_file(network_name))
    save_png(os.path.join(directory, store.SAMPLES_FILE), preview_grid(recipe, data))
    files.append(store.SAMPLES_FILE)
    for path, _ in figures:
        shutil.copyfile(path, os.path.join(directory, os.path.basename(path)))
        files.append(os.path.basename(path))
    card = {
        "name": name, "recipe": description["recipe"], "paper": recipes.get_recipe(description["recipe"]).paper,
        "task": recipe.task, "image_shape": list(recipe.image_shape),
        "parameters": {network_name: int(network.count_params())
                       for network_name, network in store.shipped_networks(recipe, ("g", "d")).items()},
        "latent_dim": recipe.latent_dim if SAMPLE in recipe.capabilities else None,
        "num_classes": recipe.num_classes if recipe.conditional else None,
        "ema": recipe.ema_generator is not None, "notes": notes,
        "figures": [{"file": os.path.basename(path), "caption": caption} for path, caption in figures],
        "data": data.to_json(),  # what the images are of
        "training": training,
        "evaluation": evaluation_summary(read_json(evaluation)) if evaluation else None,
        "files": {filename: sha256_of(os.path.join(directory, filename)) for filename in files},
    }
    write_json(os.path.join(directory, store.CARD_FILE), card)
    if memorization:
        attach_memorization(directory, memorization)


MEMORIZATION_GRID = "memorization.png"


def attach_memorization(directory, report_dir):
    """Add a `gan-zoo memorization --out report_dir` result to the preset in `directory`: its grid as
    memorization.png (listed in the card with its sha256) and card["memorization"] (results, protocol,
    command). The preset's other files are verified first and left as they are."""
    card = store.verified_card(directory)
    copy_atomically(os.path.join(report_dir, "nearest_neighbours.png"), os.path.join(directory, MEMORIZATION_GRID))
    report = read_json(os.path.join(report_dir, "memorization.json"))
    card["memorization"] = {key: report[key] for key in ("results", "protocol", "command") if key in report}
    card["files"][MEMORIZATION_GRID] = sha256_of(os.path.join(directory, MEMORIZATION_GRID))
    write_json(os.path.join(directory, store.CARD_FILE), card)
    return card


def evaluation_summary(report):
    return {key: report[key] for key in ("results", "protocol", "command") if key in report}


def resume_history(sessions):
    """Markdown table of a run's sessions: it was stopped and resumed (rerunning its command) in between."""
    rows = [f"| {i} | {s['started'] or 'not recorded'} | {s['from_step']} → {s['to_step']} | {s['wall_time_seconds'] / 60:.1f} min | "
            f"{describe_machine(s.get('machine'))} |" for i, s in enumerate(sessions, 1)]
    return [f"Trained in {len(sessions)} sessions (stopped and resumed by rerunning the command):", "",
            "| session | started | steps | wall time | machine |", "|---:|---|---|---:|---|", *rows, ""]


def card_markdown(card):
    """A model card as Markdown: what it is, how it was trained (to reproduce it), how it scores,
    what it is for. Images (`<name>_samples.png`, `<name>_training.png`) sit beside it."""
    training, name = card["training"], card["name"]
    minutes = training.get("wall_time_seconds")
    parameters = ", ".join(f"{network} {count:,}" for network, count in card.get("parameters", {}).items())
    lines = [f"# {name}", "",
             f"Recipe `{card['recipe']}` ({card.get('paper') or 'see recipes/'}): {card['task'].replace('_', '-')}, "
             f"images {'×'.join(map(str, card['image_shape']))}"
             + (f", latent dim {card['latent_dim']}" if card.get("latent_dim") else "")
             + (f", {card['num_classes']} classes" if card.get("num_classes") else "")
             + (", EMA generator shipped" if card.get("ema") else "") + ".",
             "", f"Parameters: {parameters}." if parameters else "", ""]
    if card.get("notes"):
        lines += [card["notes"], ""]
    task = task_for(card)
    lines += [f"![samples]({name}_samples.png)", "", f"*{task.caption}*", "",
              "```python", "import zoo", f"g = zoo.load({name!r})", task.usage, "```", "",
              "## Training", "", "```", *training["commands"], "```", "",
              f"Seed {training['seed']}, {training['steps']} generator steps at batch {training['batch_size']} "
              f"({training['dtype_policy']}), {'%.1f min' % (minutes / 60) if minutes else 'wall time not recorded'} "
              f"on {describe_machine(training.get('machine'))}.", ""]
    if training.get("continued_from"):
        base = training["continued_from"]
        lines += [f"Continued from the earlier `{base['preset']}` ({base['steps']} steps, seed {base['seed']}; its "
                  f"generator sha256 {base['generator_sha256']}) with fresh optimizers: the first command trained "
                  "that preset, the last continued it; steps count on from the preset's.", ""]
    if len(training.get("sessions", [])) > 1:
        lines += resume_history(training["sessions"])
    if training.get("curve", {}).get("losses"):
        lines += [f"![training curve]({name}_training.png)", ""]
    evaluation = card.get("evaluation")
    if evaluation:
        lines += ["## Evaluation", "", "```", evaluation.get("command", ""), "```", "", markdown_table(evaluation), "",
                  "Protocol: " + describe_protocol(evaluation["protocol"]), ""]
    else:
        lines += ["## Evaluation", "", "Not evaluated yet.", ""]
    for figure in card.get("figures", []):
        lines += [f"![{figure['caption']}]({name}_{figure['file']})", "", f"*{figure['caption']}*", ""]
    lines += task.card_sections(card)
    lines += ["## Intended use", "", task.intended_use, "", "## Limitations", "", LIMITATIONS, "",
              "## License", "", LICENSE, "", "## Files (sha256)", ""]
    lines += [f"- `{file}` {digest}" for file, digest in card["files"].items()]
    return "\n".join(lines) + "\n"


def describe_protocol(protocol):
    extractor = protocol["feature_extractor"]
    return (f"{protocol['num_samples']} samples × {len(protocol['seeds'])} seed(s) against {protocol['dataset']} "
            f"{protocol['reference_split']} ({protocol['reference_size']} images); features: {extractor['name']} "
            f"(sha256 {str(extractor.get('sha256'))[:12]}…); TensorFlow {protocol['versions']['tensorflow']}; "
            f"{protocol['wall_time_seconds']} s.")


def headline(card):
    """One cell for the index: the metric a user compares first."""
    evaluation = card.get("evaluation")
    if not evaluation:
        return "not evaluated"
    return task_for(card).headline(evaluation["results"])


def write_card_docs(name, docs_dir):
    """docs_dir/<name>.md, <name>_samples.png and <name>_training.png of a preset."""
    directory = store.preset_path(name)
    card = read_json(os.path.join(directory, store.CARD_FILE))
    os.makedirs(docs_dir, exist_ok=True)
    write_atomically(os.path.join(docs_dir, f"{card['name']}.md"), card_markdown(card))
    copy_atomically(store.verified_file(directory, store.SAMPLES_FILE, card),
                    os.path.join(docs_dir, f"{card['name']}_samples.png"))
    for figure in card.get("figures", []):
        copy_atomically(store.verified_file(directory, figure["file"], card),
                        os.path.join(docs_dir, f"{card['name']}_{figure['file']}"))
    if card.get("memorization"):
        copy_atomically(store.verified_file(directory, MEMORIZATION_GRID, card),
                        os.path.join(docs_dir, f"{card['name']}_memorization.png"))
    if card["training"].get("curve", {}).get("losses"):
        from zoo.plots import training_curves

        training_curves(card["training"]["curve"], os.path.join(docs_dir, f"{card['name']}_training.png"),
                        f"{card['name']}: {card['training']['steps']} steps")
    return card


def index_table(cards, prefix=""):
    """Markdown table of presets; links and images relative to the cards directory via `prefix`."""
    lines = ["| Model | Recipe | Task | Headline | Samples |", "|---|---|---|---|---|"]
    lines += [f"| [{c['name']}]({prefix}{c['name']}.md) | {c['recipe']} | {c['task'].replace('_', '-')} | {headline(c)} "
              f"| ![]({prefix}{c['name']}_samples.png) |" for c in cards]
    return "\n".join(lines)


def index_markdown(cards):
    return ("# Model cards\n\nPretrained generators shipped in the package (`gan-zoo list`, `zoo.load(name)`). "
            "Metrics in the project's Fashion-MNIST evaluator features unless stated; regenerate with "
            "`gan-zoo cards`.\n\n" + index_table(cards) + "\n")


README_MARKERS = ("<!-- presets -->", "<!-- /presets -->")


def with_readme_table(text, cards, prefix="docs/model_cards/"):
    """README text with the preset table between README_MARKERS replaced."""
    start, end = text.find(README_MARKERS[0]), text.find(README_MARKERS[1])
    if start < 0 or end < start:
        raise UserError(f"README.md needs the markers {README_MARKERS[0]} and {README_MARKERS[1]} around its preset table")
    return text[:start + len(README_MARKERS[0])] + "\n" + index_table(cards, prefix) + "\n" + text[end:]


def write_all_cards(docs_dir, readme=None):
    """Regenerate every shipped preset's card, the index and (when given) README.md's preset table;
    return the index path."""
    cards = [write_card_docs(name, docs_dir) for name in store.list_models()]
    path = write_atomically(os.path.join(docs_dir, "README.md"), index_markdown(cards))
    if readme:
        try:
            with open(readme, encoding="utf-8") as handle:
                text = with_readme_table(handle.read(), cards)
        except UnicodeDecodeError:
            raise UserError(f"--readme {readme} is not UTF-8 text; pass the project's README.md (or '' to skip)") from None
        write_atomically(readme, text)
    return path


def sample_grid(generator, num, seed=0, labels=None, truncation=1.0, columns=None):
    """uint8 grid of `generator.sample`; conditional grids put one class per column."""
    images = generator.sample(num, seed, labels=labels, truncation=truncation)
    if columns is None and generator.conditional:
        columns = len(labels) if labels is not None else generator.num_classes
    return make_grid(images, columns or int(np.ceil(np.sqrt(num))))


def preset_samples(directory):
    """The samples.png grid the current code draws for the preset in `directory` (make_preset's preview of
    its verified weights): what its shipped samples.png must show."""
    card = store.verified_card(directory)
    return preview_grid(store.load_recipe(directory, compile=False), record.of_card(card))


def redraw_samples(directory):
    """Draw the preset's samples.png again with the current code (e.g. after seeds began to mean other z)
    and record its new sha256 in card.json; the weights and every other file stay as they are."""
    grid = preset_samples(directory)
    card = store.verified_card(directory)
    save_png(os.path.join(directory, store.SAMPLES_FILE), grid)
    card["files"][store.SAMPLES_FILE] = sha256_of(os.path.join(directory, store.SAMPLES_FILE))
    write_json(os.path.join(directory, store.CARD_FILE), card)
    return card
