"""The sampling task (z → image: DCGAN, WGAN-GP, LSGAN, CGAN, StyleGAN-lite, BigGAN-lite, ...): its preview grid,
evaluation (FID, KID, precision/recall, ... over seeds, with real-data and untrained baselines), card text and headline,
SavedModel signatures (`serving_default` by z, `sample` by seed) and the demo's details."""
from recipes.capabilities import CONDITION, MIX_STYLES, TRUNCATE
from recipes.latents import first_latents
from zoo.tasks.base import Task, register_task

SEED_RANGE = "seeds must be integers in [0, 2**63), as g.sample_seeds takes them"


@register_task
class Sampling(Task):
    name, takes, method, progress_verb = "sampling", "seeds", "sample(n, seed)", "sampled and scored"
    caption = "Samples of the shipped generator from fixed latents (seed 0; conditional: one column per class)."
    usage = "images = g.sample(16, seed=0)        # uint8 [16, H, W, C]; same seed, same images"
    intended_use = ("Research and teaching: sampling Fashion-MNIST-like 28×28 grayscale clothing images, "
                    "a baseline for GAN metrics, a starting point for fine-tuning on small grayscale images.")

    def preview_inputs(self, recipe, data, seed):
        """Fixed latents of `seed` (conditional: 8 per class, a column per class)."""
        return recipe.preview_inputs(seed)

    def evaluate(self, recipe, extractor, data, request):
        """Sample-based metrics over `request.seeds` seeds (one row per truncation ψ, the untrained generator and
        real train images as baselines), in the data's own frame (zoo.eval.scoring.real_frame)."""
        from zoo.eval import scoring

        sample_fns = scoring.sampling_rows(recipe, request.truncation, untrained_baseline=request.untrained_baseline)
        frame, load = scoring.real_frame(data)
        return scoring.evaluate(
            {label: frame(fn) for label, fn in sample_fns.items()}, extractor, dataset=data.dataset,
            reference=request.reference, num_samples=request.num_samples, seeds=request.seeds,
            batch_size=request.batch_size, metrics=request.metrics, data_dir=request.data_dir,
            num_classes=recipe.num_classes if recipe.conditional else None, gan_train_steps=request.gan_train_steps,
            progress=request.progress, **load)

    def headline(self, rows):
        row = rows.get("generator") or next(iter(rows.values()))
        cells = [f"FID {row['fid']['mean']:.1f}"] if "fid" in row else []
        cells += [f"{key} {row[key]['mean']:.3f}" for key in ("precision", "recall") if key in row]
        cells += [f"{label} {row[key]['mean']:.1%}" for key, label in
                  (("gan_test", "GAN-test"), ("gan_train", "GAN-train")) if key in row]
        return ", ".join(cells)

    def card_sections(self, card):
        return memorization_section(card)

    # --- the network and its export ---------------------------------------------------------------------
    def call_spec(self, generator):
        import tensorflow as tf

        z = tf.TensorSpec([None, generator.latent_dim], tf.float32)
        return [z, tf.TensorSpec([None], tf.int32)] if generator.conditional else z

    def signatures(self, generator):
        """`serving_default`: z (+ labels, + truncation ψ) → images; `sample`: seed (+ the same) → the image of
        z = `recipes.latents.first_latents(seed)`, as `g.sample_seeds(seed)` (a negative seed: InvalidArgument)."""
        import tensorflow as tf

        extra = {"labels": tf.TensorSpec([None], tf.int32, name="labels")} if generator.conditional else {}
        if TRUNCATE in generator.capabilities:
            extra["truncation"] = tf.TensorSpec([None], tf.float32, name="truncation")

        def by_latent(z, **kwargs):
            return generate(generator, z, **kwargs)

        def by_seed(seed, **kwargs):
            check = tf.debugging.assert_non_negative(seed, message=SEED_RANGE)
            with tf.control_dependencies([check]):
                return generate(generator, first_latents(seed, generator.latent_dim), **kwargs)

        return {"serving_default": keyword_function(by_latent, {"z": tf.TensorSpec([None, generator.latent_dim],
                                                                                    tf.float32, name="z"), **extra}),
                "sample": keyword_function(by_seed, {"seed": tf.TensorSpec([None], tf.int64, name="seed"), **extra})}

    # --- the demo page ------------------------------------------------------------------------------
    def demo_details(self, generator):
        card = generator.card
        return {"classes": class_names(generator),
                "num_layers": getattr(generator.recipe, "num_layers", None)
                if MIX_STYLES in generator.capabilities else None,
                "memorization": {row: round(values["c_t"], 2) for row, values in card["memorization"]["results"].items()}
                if card.get("memorization") else None}

    def warm_up(self, model):
        has = model.generator.capabilities.__contains__
        label = 0 if has(CONDITION) else None
        for truncation in (1.0, 0.7) if has(TRUNCATE) else (1.0,):
            model.sample(0, 8, label, truncation)
            model.interpolate(0, 1, 8, label, truncation)
        if has(MIX_STYLES):
            model.mix([0, 1, 2], [3, 4, 5], 1, 1.0)


def generate(generator, z, labels=None, truncation=None):
    """Images of latents `z` (tensors) by the generator's sampling network, conditioned and truncated as it takes."""
    recipe = generator.recipe
    if TRUNCATE in generator.capabilities:  # BigGAN-lite's is conditional too: [z, labels]
        return recipe.generate_truncated([z, labels] if generator.conditional else z, truncation)
    network = recipe.sampling_generator
    return network([z, labels], training=False) if generator.conditional else network(z, training=False)


def keyword_function(fn, specs):
    """A tf.function whose concrete signature takes the named inputs `specs` (a dict)."""
    import tensorflow as tf

    names = list(specs)

    def positional(*args):
        return fn(**dict(zip(names, args)))

    return tf.function(positional, input_signature=[specs[name] for name in names])


def class_names(generator):
    """The conditional generator's class names (its data record's when it has one per class), else None."""
    if CONDITION not in generator.capabilities:
        return None
    names = generator.data.class_names
    if names and len(names) == generator.num_classes:
        return list(names)
    return [f"class {index}" for index in range(generator.num_classes)]


def memorization_section(card):
    """The card's "Memorization" lines: C_T per row, what it means, the nearest-neighbour grid."""
    memorization = card.get("memorization")
    if not memorization:
        return ["## Memorization", "", "Not checked yet (`gan-zoo memorization NAME --out DIR --attach`).", ""]
    rows = [f"| {label} | {result['c_t']:.2f} | {result['cells_used']} of {result['cells']} |"
            for label, result in memorization["results"].items()]
    return ["## Memorization", "", "```", memorization.get("command", ""), "```", "",
            "| | data-copying C_T | cells used |", "|---|---:|---:|", *rows, "",
            "C_T (Meehan, Chaudhuri & Dasgupta 2020, https://arxiv.org/abs/2004.05675): in each k-means cell of the "
            "training images' evaluator features, a Mann-Whitney test of how close samples lie to their nearest "
            "training image compared with real test images the generator never saw, averaged over the cells. "
            "Below -3 flags copying; unseen real images score about 0 (the reference row); above 0 means samples "
            "lie farther from the training data than real images do.", "",
            f"![nearest training images]({card['name']}_memorization.png)", "",
            "*Each row: a sample (seed 0), its 3 nearest training images in evaluator features, then its 3 "
            "nearest in pixels.*", ""]
