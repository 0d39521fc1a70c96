"""The unpaired translation task (image ↔ image between two domains: CycleGAN): its preview of real test images of
both domains, evaluation (FID/KID against the real target class, target-class accuracy, cycle L1, with the
untranslated source as floor and real target images as ceiling), card text and headline, SavedModel signatures
(`serving_default` A→B, `translate_b2a`) and the demo's example and upload handlers."""
import io
import time

import numpy as np

from zoo.data import datasets
from zoo.errors import UserError
from zoo.eval.metric_registry import compute_metrics
from zoo.eval.scoring import (Progress, extract_features, in_batches, pass_protocol, real_images, reference_features,
                              single_run)
from zoo.tasks.base import DISTRIBUTION_METRICS, Task, real_inputs, register_task

KID_BLOCK_SIZE = 250  # a class has ~1000 test images: blocks of 250 give KID a standard error (one of 1024 has none)


@register_task
class Translation(Task):
    name, method, progress_verb = "translation", "translate(images)", "translated"
    caption = "Test images. Rows: a, G(a), F(G(a)), b, F(b), G(F(b))."
    usage = "b = g.translate(images_a, \"a2b\")   # uint8 in, uint8 out; \"b2a\" for the reverse"
    intended_use = "Research and teaching: unpaired translation between two Fashion-MNIST classes."
    columns = {"target_accuracy": "Target-class acc ↑", "cycle_l1": "Cycle L1 ↓"}
    demo_title, directions = "Translate your image", ("a2b", "b2a")

    def preview_inputs(self, recipe, data, seed):
        """8 test images of each domain (a, b): the recipe's preview shows a, G(a), F(G(a)), b, F(b), G(F(b))."""
        images, labels = real_inputs(data)
        return tuple(images[labels == class_id][:8] for class_id in domain_classes(data.dataset, run_domains(data)))

    def evaluate(self, recipe, extractor, data, request):
        """Both directions between the run's two domains (--domain-a/--domain-b where given)."""
        domains = [given or default for given, default in zip(request.domains, run_domains(data))]
        return evaluate_translation(recipe, extractor, domains, dataset=data.dataset, reference=request.reference,
                                    batch_size=request.batch_size, data_dir=request.data_dir,
                                    progress=request.progress)

    def headline(self, rows):
        accuracies = [f"{label.split(':')[0]} {row['target_accuracy']['mean']:.1%}" for label, row in rows.items()
                      if "target_accuracy" in row and "cycle_l1" in row]
        return "target-class accuracy " + ", ".join(accuracies)

    def signatures(self, generator):
        import tensorflow as tf

        spec = self.images_spec(generator)

        def direction(way):
            return tf.function(lambda images: generator.recipe.translate(images, way), input_signature=[spec])

        return {"serving_default": direction("a2b"), "translate_b2a": direction("b2a")}

    # --- the demo page ------------------------------------------------------------------------------
    def domains(self, generator):
        """The model's two domains: its data record's (else its dataset's default pair), else "A" and "B"."""
        return run_domains(generator.data) or ["A", "B"]

    def demo_details(self, generator):
        a, b = self.domains(generator)
        return {"directions": {"a2b": f"{a} → {b}", "b2a": f"{b} → {a}"}}

    def example(self, generator, index):
        """A test image of the model's data in domain A's class (any test image when A is not one of its classes)."""
        from zoo.images import to_uint8

        images, labels = real_inputs(generator.data)
        domain, names = self.domains(generator)[0], generator.data.class_names or ()
        if labels is not None and domain in names:
            images = images[labels == list(names).index(domain)]
        return to_uint8(images[index % len(images)])

    def transform(self, generator, upload, direction):
        """The upload resized to the model's training size, and its translation."""
        from zoo.images import read_image

        self.check_direction(generator, direction)
        image = read_image(io.BytesIO(upload), generator.image_shape[-1], generator.image_shape[:2], "the upload")
        return image, generator.translate(image[None], direction)[0]


def run_domains(data):
    """A translation run's two domains (its data record's, else the dataset's default pair)."""
    from zoo.train.config import domains_of

    return list(domains_of(data.dataset, data.domains) or [])


def domain_classes(dataset, domains):
    """Class ids of the two domains (names or ids of `dataset`'s classes)."""
    if dataset != "fashion_mnist":
        raise UserError("translation metrics need the two domains as classes of fashion_mnist (the evaluator's "
                        f"classes); received dataset {dataset!r}")
    return [datasets.class_ids([domain], datasets.FASHION_MNIST_CLASSES, 10, dataset)[0] for domain in domains]


def translated(recipe, images, direction, batch_size, scored):
    """(G(x), F(G(x))) in batches, for direction "a2b" (F the reverse generator); `scored` (a scoring.Progress)
    counts the images."""
    reverse = "b2a" if direction == "a2b" else "a2b"
    forward, cycled = [], []
    for batch in scored.over(in_batches(images, batch_size)):
        out = recipe.translate(batch, direction)
        forward.append(np.asarray(out))
        cycled.append(np.asarray(recipe.translate(out, reverse)))
    return np.concatenate(forward), np.concatenate(cycled)


def evaluate_translation(recipe, extractor, domains, *, dataset="fashion_mnist", reference="test", batch_size=500,
                         data_dir=None, cache_dir=None, progress=None):
    """Both directions between the reference split's two domain classes; `progress(done, total)` after each
    batch translated (there and back)."""
    started = time.time()
    classes = domain_classes(dataset, domains)
    ref, cache = reference_features(extractor, dataset, reference, batch_size, data_dir, None, cache_dir)
    images, labels = real_images(dataset, reference, data_dir, None, batch_size)
    train_images, train_labels = real_images(dataset, "train", data_dir, None, batch_size)
    rows, scored = {}, Progress(progress, int(sum(np.isin(labels, classes))))
    for direction, (source, target) in {"a2b": classes, "b2a": classes[::-1]}.items():
        arrow = f"{datasets.FASHION_MNIST_CLASSES[source]} → {datasets.FASHION_MNIST_CLASSES[target]}"
        target_ref = {"features": ref["features"][ref["labels"] == target]}
        source_images = images[labels == source]
        outputs, cycled = translated(recipe, source_images, direction, batch_size, scored)
        candidates = {f"{direction}: {arrow}": outputs,
                      f"{direction}: source unchanged (floor)": source_images,
                      f"{direction}: real target train (ceiling)": train_images[train_labels == target]}
        for label, candidate in candidates.items():
            generated = extract_features(extractor, in_batches(candidate, batch_size))
            results = compute_metrics(generated, target_ref, DISTRIBUTION_METRICS, kid_block_size=KID_BLOCK_SIZE)
            if extractor.num_classes == len(datasets.FASHION_MNIST_CLASSES):  # the evaluator's logits
                results["target_accuracy"] = float(np.mean(np.argmax(generated["logits"], axis=1) == target))
            if candidate is outputs:
                results["cycle_l1"] = float(np.mean(np.abs(cycled - source_images)))
            rows[label] = single_run(results)
    return {"results": rows,
            "protocol": pass_protocol(dataset, reference, int(sum(np.isin(labels, classes))), extractor, cache,
                                      started, task="translation", kid_block_size=KID_BLOCK_SIZE,
                                      domains=[datasets.FASHION_MNIST_CLASSES[c] for c in classes],
                                      metrics=[*DISTRIBUTION_METRICS, "target_accuracy", "cycle_l1"])}
