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


def train_classifier(build, images, labels, steps, seed, batch_size=128):
    """Train `build()` (a model with a layer named "logits") for `steps` Adam(1e-3) steps on
    shuffled, repeated (images, labels); return the images → logits model."""
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = build()
    classifier = keras.Model(model.input, model.get_layer("logits").output)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, np.int32)))
    data = data.shuffle(len(images), seed=seed).repeat().batch(batch_size).take(steps)
    classifier.fit(data, epochs=1, verbose=0, shuffle=False)  # shuffled above, seeded
    return classifier


def trained_accuracy(build, images, labels, test_images, test_labels, steps, seed):
    """Accuracy on the test set of a fresh `build()` classifier trained on (images, labels) for
    a fixed number of steps: GAN-train when the images are generated, its real-data baseline
    when they are real (same budget, same number of images)."""
    classifier = train_classifier(build, images, labels, steps, seed)
    return accuracy_from_logits(classifier.predict(test_images, batch_size=1000, verbose=0), test_labels)
