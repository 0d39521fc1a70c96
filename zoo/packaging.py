"""Make a preset (zoo/registry.py layout) from a `gan-zoo train` run and its `gan-zoo evaluate`
report, and render model cards as Markdown."""
import os

import numpy as np

from zoo import datasets, generators, registry
from zoo.errors import UserError
from zoo.evaluation import markdown_table, real_images
from zoo.files import read_json, sha256_of, write_json
from zoo.images import make_grid, save_png, to_uint8


def preview_grid(recipe, description, seed=0):
    """uint8 grid: 64 samples (conditional: 8 per class, a column per class); for image-to-image
    recipes the recipe's own preview of real test images (CycleGAN: a, G(a), F(G(a)), b, ...)."""
    if recipe.task == "sampling":
        images, columns = recipe.preview(recipe.preview_inputs(seed))
        return make_grid(to_uint8(images), columns)
    test_images, labels = real_images(description["data"].get("dataset", "fashion_mnist"), "test")
    if recipe.task == "translation":
        domains = description["data"].get("domains") or ["sneaker", "ankle boot"]
        ids = [datasets.class_ids([d], datasets.FASHION_MNIST_CLASSES, 10, "fashion_mnist")[0] for d in domains]
        batch = tuple(test_images[labels == class_id][:8] for class_id in ids)
    else:
        batch = test_images[:8]
    images, columns = recipe.preview(batch)
    return make_grid(to_uint8(images), columns)


def training_provenance(run):
    """Command(s), seed, steps, batch, wall time and machine of a finished run."""
    description = read_json(os.path.join(run, "run.json"))
    state = read_json(os.path.join(run, "train_state.json"))
    if state.get("status") != "completed":
        raise UserError(f"{run} has not completed (status {state.get('status')!r}); finish training first")
    return {"commands": state.get("commands", []), "seed": description["seed"], "steps": state["step"],
            "batch_size": description["batch_size"], "wall_time_seconds": state.get("wall_time_seconds"),
            "machine": state.get("machine"), "data": description["data"], "optimizers": description["optimizers"],
            "dtype_policy": description["dtype_policy"]}


def make_preset(run, name, out_dir=registry.PRESETS_DIR, evaluation=None, notes=None):
    """Write preset `name` under `out_dir` from training run `run` (its latest checkpoint) and an
    optional `gan-zoo evaluate --out` report of the same run."""
    recipe, description = generators.recipe_from_run(run)
    directory = os.path.join(out_dir, name)
    os.makedirs(directory, exist_ok=True)
    config = {"recipe": description["recipe"],
              "recipe_config": {k: v for k, v in recipe.get_config().items() if k != "name"}}
    write_json(os.path.join(directory, registry.CONFIG_FILE), config)
    files = [registry.CONFIG_FILE]
    for network_name, network in registry.shipped_networks(recipe).items():
        network.save_weights(os.path.join(directory, registry.weights_file(network_name)))
        files.append(registry.weights_file(network_name))
    save_png(os.path.join(directory, registry.SAMPLES_FILE), preview_grid(recipe, description))
    files.append(registry.SAMPLES_FILE)
    card = {
        "name": name, "recipe": description["recipe"], "task": recipe.task, "image_shape": list(recipe.image_shape),
        "latent_dim": recipe.latent_dim if recipe.task == "sampling" else None,
        "num_classes": getattr(recipe, "num_classes", None) if recipe.conditional else None,
        "ema": recipe.ema_generator is not None, "notes": notes,
        "training": training_provenance(run),
        "evaluation": evaluation_summary(read_json(evaluation)) if evaluation else None,
        "files": {filename: sha256_of(os.path.join(directory, filename)) for filename in files},
    }
    write_json(os.path.join(directory, registry.CARD_FILE), card)
    return directory


def evaluation_summary(report):
    return {key: report[key] for key in ("results", "protocol", "command") if key in report}


def card_markdown(card):
    """A model card as Markdown: what it is, how it was trained (to reproduce it), its metrics."""
    training = card["training"]
    minutes = training.get("wall_time_seconds")
    lines = [f"# {card['name']}", "",
             f"Recipe `{card['recipe']}` ({card['task'].replace('_', '-')}), images {tuple(card['image_shape'])}"
             + (f", latent dim {card['latent_dim']}" if card.get("latent_dim") else "")
             + (f", {card['num_classes']} classes" if card.get("num_classes") else "")
             + (", EMA generator" if card.get("ema") else "") + ".", ""]
    if card.get("notes"):
        lines += [card["notes"], ""]
    lines += ["## Training", "", "```", *training["commands"], "```", "",
              f"Seed {training['seed']}, {training['steps']} steps at batch {training['batch_size']}, "
              f"{'%.1f min' % (minutes / 60) if minutes else 'wall time not recorded'} on "
              f"{describe_machine(training.get('machine'))}.", ""]
    evaluation = card.get("evaluation")
    if evaluation:
        lines += ["## Evaluation", "", "```", evaluation.get("command", ""), "```", "", markdown_table(evaluation), ""]
    lines += ["## Files (sha256)", ""] + [f"- `{name}` {digest}" for name, digest in card["files"].items()]
    return "\n".join(lines) + "\n"


def describe_machine(machine):
    if not machine:
        return "an unrecorded machine"
    gpus = f", GPUs {machine['gpus']}" if machine.get("gpus") else ", no GPU"
    return (f"{machine['cpu_cores']} CPU cores ({machine['processor']}), {machine['memory_gib']} GiB{gpus}; "
            f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}")


def sample_grid(generator, num, seed=0, labels=None, truncation=1.0, columns=None):
    """uint8 grid of `generator.sample`; conditional grids put one class per column."""
    images = generator.sample(num, seed, labels=labels, truncation=truncation)
    if columns is None and generator.conditional:
        columns = len(labels) if labels is not None else generator.num_classes
    return make_grid(images, columns or int(np.ceil(np.sqrt(num))))

