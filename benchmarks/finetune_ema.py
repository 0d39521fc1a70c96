"""Which EMA should a fine-tune ship? One fine-tune of a preset on one Fashion-MNIST class of the *test*
split (images no preset saw), with several EMA rules of the generator's weights tracked side by side on
the same trajectory (the EMA does not feed back into training), scored at several step counts: the
share of 2000 samples the evaluator puts in the class, and FID (evaluator features) against the class's
*train* images.

    python benchmarks/finetune_ema.py --preset dcgan_fashion_mnist_28 --cls bag --steps 100,200,500,1000,2000

Rules: the raw generator (no EMA), fixed decays d (ema ← d·ema + (1 - d)·w from the preset's weights),
and restarted EMAs with a ramp r (d_t = min(0.999, 0.5^(1/(r·t))), `recipes.base.GAN.current_ema_decay`;
r = 0.025 is the fine-tuning default).
"""
import argparse
import json

import keras
import numpy as np

from zoo import sampling
from zoo.data import datasets
from zoo.eval.metric_registry import compute_metrics
from zoo.eval.scoring import extract_features, generated_batches, real_images
from zoo.metrics import features
from zoo.presets import store

CAP = 0.999
RULES = {"raw generator": lambda t: 0.0, **{f"fixed {d}": (lambda d: lambda t: d)(d) for d in (0.999, 0.99, 0.95, 0.9)},
         **{f"ramp r={r}": (lambda r: lambda t: min(CAP, 0.5 ** (1 / (r * t))))(r) for r in (0.025, 0.05, 0.1)}}


class TrackRules(keras.callbacks.Callback):
    """Keeps one average of the generator's trainable weights per rule; scores them all at `checkpoints`."""

    def __init__(self, recipe, checkpoints, score):
        super().__init__()
        self.recipe, self.checkpoints, self.score = recipe, checkpoints, score
        self.averages = {name: [w.numpy() for w in recipe.generator.trainable_weights] for name in RULES}
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        step, weights = batch + 1, [w.numpy() for w in self.recipe.generator.trainable_weights]
        for name, rule in RULES.items():
            d = rule(step)
            self.averages[name] = [d * a + (1 - d) * w for a, w in zip(self.averages[name], weights)]
        if step in self.checkpoints:
            shipped = self.recipe.ema_generator  # scored through the sampling generator, BN statistics copied
            for name, average in self.averages.items():
                for variable, value in zip(shipped.trainable_weights, average):
                    variable.assign(value)
                for variable, value in zip(shipped.non_trainable_weights, self.recipe.generator.non_trainable_weights):
                    variable.assign(value)
                self.rows.append({"rule": name, "step": step, **self.score()})
                print(json.dumps(self.rows[-1]), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="dcgan_fashion_mnist_28")
    parser.add_argument("--cls", default="bag", help="the Fashion-MNIST class to adapt to")
    parser.add_argument("--steps", default="100,200,500,1000,2000", help="step counts to score at")
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    checkpoints = sorted(int(step) for step in args.steps.split(","))
    extractor = features.fashion_mnist_evaluator()
    class_id = datasets.class_ids([args.cls], datasets.FASHION_MNIST_CLASSES, 10, "fashion_mnist")[0]
    images, labels = real_images("fashion_mnist", "train")
    reference = extract_features(extractor, [images[labels == class_id]])
    keras.utils.set_random_seed(0)
    recipe = store.load_recipe(args.preset)
    if recipe.ema_generator is None:
        parser.error(f"{args.preset} keeps no EMA generator")

    def score():
        generated = extract_features(extractor, generated_batches(sampling.sampler(recipe)(0), args.num_samples, 500))
        share = float(np.mean(np.argmax(generated["logits"], axis=1) == class_id))
        return {"share": share, "fid": float(compute_metrics(generated, reference, ("fid",))["fid"])}

    data = datasets.load("fashion_mnist", "test", classes=[args.cls], batch_size=args.batch_size, shuffle=True,
                         seed=0, repeat=True)
    tracker = TrackRules(recipe, checkpoints, score)
    recipe.fit(data, steps_per_epoch=checkpoints[-1], epochs=1, callbacks=[tracker], verbose=0)
    print(f"\n{args.preset} fine-tuned on the {args.cls!r} images of the test split; share of {args.num_samples} samples "
          f"the evaluator calls {args.cls!r} / FID against the train split's {args.cls!r} images\n")
    print("| rule | " + " | ".join(f"{step} steps" for step in checkpoints) + " |")
    print("|---|" + "---:|" * len(checkpoints))
    for name in RULES:
        cells = [row for row in tracker.rows if row["rule"] == name]
        print(f"| {name} | " + " | ".join(f"{row['share']:.1%} / {row['fid']:.1f}" for row in cells) + " |")


if __name__ == "__main__":
    main()
