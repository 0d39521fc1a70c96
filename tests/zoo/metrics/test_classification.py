"""GAN-train and GAN-test's helpers (zoo.metrics.classification): accuracy from logits by its definition, and a
freshly built classifier trained for a fixed number of seeded steps learns separable classes, the same way
for the same seed."""
import keras
import numpy as np
import tensorflow as tf

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


def test_the_classifier_takes_quiet_adam_steps_on_cross_entropy_over_seeded_shuffled_batches_of_128(capfd):
    """GAN-train's and its baseline's classifier, by its definition: the seed sets the network and the data order;
    Adam(1e-3), cross-entropy from logits, the images shuffled, repeated and batched by 128 (the default); nothing
    printed. Written here as a plain loop, which Keras's fit matches exactly on CPU (the weights to 1e-5)."""
    images, labels = separable(200, 0)
    test_images, test_labels = separable(64, 1)
    trained = train_classifier(tiny_classifier, images, labels, 300, seed=3)
    accuracy = trained_accuracy(tiny_classifier, images, labels, test_images, test_labels, 300, 3)
    assert capfd.readouterr().out == ""
    keras.utils.set_random_seed(3)
    model = tiny_classifier()
    expected = keras.Model(model.input, model.get_layer("logits").output)
    optimizer = keras.optimizers.Adam(1e-3)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(200, seed=3).repeat().batch(128).take(300)

    @tf.function
    def step(batch, batch_labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(batch_labels, expected(batch),
                                                                                from_logits=True))
        optimizer.apply(tape.gradient(loss, expected.trainable_variables), expected.trainable_variables)

    for batch, batch_labels in batches:
        step(batch, batch_labels)
    for got, want in zip(trained.weights, expected.weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert accuracy == np.mean(np.argmax(expected.predict(test_images, verbose=0), axis=1) == test_labels)
