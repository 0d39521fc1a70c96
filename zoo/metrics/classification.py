"""GAN-train and GAN-test (Shmelkov et al. 2018, "How good is my GAN?",
https://arxiv.org/abs/1807.09499) for class-conditional generators.

- GAN-test: accuracy of a classifier trained on *real* data, tested on generated images
  labelled with their conditioning class (high = samples look like their class; near the
  real test accuracy is the ceiling, far above hints at memorisation).
- GAN-train: accuracy on the *real* test split of a classifier trained on generated images
  (high = samples are diverse and realistic enough to learn from).
- Real-data baseline: the same classifier architecture and budget trained on as many real
  training images, tested on the real test split — GAN-train's ceiling.
"""
import keras
import numpy as np


def accuracy_from_logits(logits, labels):
    """Share of rows whose arg-max logit is the label."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def train_classifier(build, images, labels, epochs=5, batch_size=128, seed=0):
    """Train `build()` (a model with a layer named "logits") with Adam(1e-3); return images → logits."""
    keras.utils.set_random_seed(seed)
    model = build()
    classifier = keras.Model(model.input, model.get_layer("logits").output)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    classifier.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    return classifier


def trained_accuracy(build, images, labels, test_images, test_labels, epochs=5, seed=0):
    """Accuracy on the test set of a fresh `build()` classifier trained on (images, labels):
    GAN-train when the images are generated, its real-data baseline when they are real."""
    classifier = train_classifier(build, images, labels, epochs, seed=seed)
    return accuracy_from_logits(classifier.predict(test_images, batch_size=1000, verbose=0), test_labels)
