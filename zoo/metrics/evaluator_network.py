"""The Fashion-MNIST evaluator network: its architecture and its shipped weights, loaded sha256-verified.

`build_evaluator` is the small CNN classifier whose penultimate (128-d, post-ReLU) features feed FID, KID,
precision/recall, density/coverage and 1-NN and whose logits feed the Inception Score
(`features.fashion_mnist_evaluator`); `load_evaluator` reads the weights shipped in `zoo/evaluators/fashion_mnist/`
with their sha256 and measured test accuracy. Training them (`gan-zoo train-evaluator`) reads the dataset: it is
zoo.eval.classifier, a layer up. Metrics computed with it are named for it ("FID (fashion-mnist evaluator
features)"): they are not comparable to Inception-based numbers in papers.
"""
import os

import keras

from zoo.errors import UserError
from zoo.files import read_json, verified

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
