"""GAN-train and GAN-test's helpers (zoo.metrics.classification): accuracy from logits by its definition, and a
freshly built classifier trained for a fixed number of seeded steps learns separable classes, the same way
for the same seed."""
import keras
import numpy as np

from zoo.metrics.classification import accuracy_from_logits, train_classifier, trained_accuracy


def test_accuracy_from_logits_is_the_share_of_rows_whose_largest_logit_is_the_label():
    logits = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 0.5], [0.3, 0.2, 0.1], [0.0, 5.0, 6.0]])
    assert accuracy_from_logits(logits, [1, 0, 1, 2]) == 0.75
    assert accuracy_from_logits(logits, np.array([2, 2, 2, 2])) == 0.25


def tiny_classifier():
    images = keras.Input((4, 4, 1))
    features = keras.layers.Dense(8, activation="relu", name="features")(keras.layers.Flatten()(images))
    return keras.Model(images, {"features": features, "logits": keras.layers.Dense(3, name="logits")(features)})


def separable(count, seed):
    """Images whose mean brightness is their class: -0.8, 0, +0.8, with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, count)
    images = (labels[:, None, None, None] - 1) * 0.8 + 0.1 * rng.standard_normal((count, 4, 4, 1))
    return images.astype(np.float32), labels


def test_a_classifier_trained_for_fixed_seeded_steps_learns_separable_classes():
    images, labels = separable(256, 0)
    test_images, test_labels = separable(128, 1)
    accuracy = trained_accuracy(tiny_classifier, images, labels, test_images, test_labels, steps=200, seed=3)
    assert accuracy > 0.95
    assert trained_accuracy(tiny_classifier, images, labels, test_images, test_labels, steps=200, seed=3) == accuracy
    untrained = trained_accuracy(tiny_classifier, images, labels, test_images, test_labels, steps=1, seed=3)
    assert untrained < accuracy
    classifier = train_classifier(tiny_classifier, images, labels, steps=2, seed=3)
    assert classifier.output.shape[-1] == 3  # images → logits only
