"""The Fashion-MNIST evaluator: a small CNN classifier whose logits feed the Inception
Score and whose penultimate (128-d, post-ReLU) features feed FID, KID, precision/recall,
density/coverage and 1-NN. Trained by `gan-zoo train-evaluator`; the shipped weights
live in `zoo/evaluators/fashion_mnist/` with their sha256 and measured test accuracy.
Metrics computed with it are named for it ("FID (fashion-mnist evaluator features)"):
they are not comparable to Inception-based numbers in papers.
"""
import os
import time

import keras
import numpy as np

from zoo.errors import UserError
from zoo.files import read_json, sha256_of, verified, write_json

SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "evaluators", "fashion_mnist")
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "evaluator.json"


def build_evaluator(image_shape=(28, 28, 1), num_classes=10, width=32, feature_dim=128, norm_momentum=0.99,
                    name="evaluator"):
    """images in [-1, 1] → {"features": [n, feature_dim], "logits": [n, num_classes]}.

    Two VGG-style blocks (two 3×3 conv → BN → ReLU, then 2×2 max-pool; width and 2·width
    filters), dropout, a dense ReLU feature layer and a linear classifier behind dropout.
    `norm_momentum` is batch norm's moving-average momentum: lower it for short trainings
    (GAN-train) so the inference statistics catch up."""
    images = keras.Input(image_shape, name="images")
    x = images
    for block in range(2):
        for conv in range(2):
            x = keras.layers.Conv2D(width * 2**block, 3, padding="same", use_bias=False, name=f"conv{block}_{conv}")(x)
            norm = keras.layers.BatchNormalization(momentum=norm_momentum, name=f"conv{block}_{conv}_norm")
            x = keras.layers.ReLU()(norm(x))
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.3)(keras.layers.Flatten()(x))
    features = keras.layers.Dense(feature_dim, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(keras.layers.Dropout(0.3)(features))
    return keras.Model(images, {"features": features, "logits": logits}, name=name)


def read_card(directory):
    path = os.path.join(directory, CARD_FILE)
    if not os.path.exists(path):
        raise UserError(f"No evaluator in {directory} ({CARD_FILE} missing); train one with `gan-zoo train-evaluator`")
    return read_json(path)


def load_evaluator(directory=SHIPPED_DIR):
    """The evaluator in `directory` (the shipped one by default), its weights verified by sha256."""
    card = read_card(directory)
    weights = verified(os.path.join(directory, WEIGHTS_FILE), card["sha256"], CARD_FILE,
                       "reinstall the package or rerun `gan-zoo train-evaluator`")
    model = build_evaluator(**card["architecture"])
    model.load_weights(weights)
    return model, card


def train_evaluator(out, epochs=15, batch_size=128, seed=0, data_dir=None, validation=5000, verbose=1):
    """Train the evaluator on Fashion-MNIST train (the last `validation` images held out to
    keep the best epoch), measure test accuracy, and write weights + card into `out`."""
    from zoo.checks import whole_number
    from zoo.data import datasets

    whole_number("--epochs", epochs, 1)
    whole_number("--batch-size", batch_size, 1)
    keras.utils.set_random_seed(seed)
    start = time.time()
    train = list(datasets.load("fashion_mnist", "train", data_dir=data_dir).batch(60000))[0]
    test = list(datasets.load("fashion_mnist", "test", data_dir=data_dir).batch(10000))[0]
    (images, labels), (test_images, test_labels) = (tuple(np.asarray(t) for t in train),
                                                    tuple(np.asarray(t) for t in test))
    architecture = {"image_shape": list(images.shape[1:]), "num_classes": 10, "width": 32, "feature_dim": 128}
    model = build_evaluator(**architecture)
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=seed),
                                keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", fill_value=-1.0,
                                                               seed=seed)])
    inputs = keras.Input(model.input.shape[1:])
    # the classifier shares the evaluator's layers; augmentation runs in training only
    classifier = keras.Model(inputs, keras.Model(model.input, model.get_layer("logits").output)(augment(inputs)))
    steps = epochs * ((len(images) - validation) // batch_size + 1)
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    classifier.compile(optimizer=keras.optimizers.Adam(schedule),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    os.makedirs(out, exist_ok=True)
    weights = os.path.join(out, WEIGHTS_FILE)
    best = keras.callbacks.ModelCheckpoint(weights, monitor="val_accuracy", mode="max", save_best_only=True,
                                           save_weights_only=True)
    split = len(images) - validation
    history = classifier.fit(images[:split], labels[:split], batch_size=batch_size, epochs=epochs,
                             validation_data=(images[split:], labels[split:]), callbacks=[best],
                             verbose=verbose, shuffle=True)
    classifier.load_weights(weights)
    model.save_weights(weights)  # in the evaluator's own (dict-output) layout, as load_evaluator reads it
    predicted = np.argmax(model.predict(test_images, batch_size=1000, verbose=0)["logits"], axis=1)
    card = {
        "name": "fashion_mnist_evaluator",
        "architecture": architecture,
        "features": "penultimate dense layer, 128-d, after ReLU",
        "test_accuracy": float(np.mean(predicted == test_labels)),
        "best_validation_accuracy": float(max(history.history["val_accuracy"])),
        "sha256": sha256_of(weights),
        "training": {"epochs": epochs, "batch_size": batch_size, "seed": seed, "validation_images": validation,
                     "optimizer": "Adam, cosine decay from 1e-3",
                     "augmentation": "random horizontal flip, random translation ±8%", "wall_time_seconds": round(time.time() - start, 1),
                     "keras": keras.__version__},
    }
    write_json(os.path.join(out, CARD_FILE), card)
    return card
