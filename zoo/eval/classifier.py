"""Training the Fashion-MNIST evaluator (`gan-zoo train-evaluator`): Fashion-MNIST train with the last images held
out to keep the best epoch, test accuracy measured, weights and card written. The network and the loading of its
shipped weights are zoo.metrics.evaluator_network (the metrics' layer, which reads no dataset); their names stay
importable from here.
"""
import os
import time

import keras
import numpy as np

from zoo.files import sha256_of, write_json
from zoo.metrics.evaluator_network import (CARD_FILE, SHIPPED_DIR, WEIGHTS_FILE, build_evaluator, load_evaluator,
                                           read_card)

__all__ = ["train_evaluator", "CARD_FILE", "SHIPPED_DIR", "WEIGHTS_FILE", "build_evaluator", "load_evaluator",
           "read_card"]


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
