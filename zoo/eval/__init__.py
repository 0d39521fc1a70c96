"""Evaluation: how good a generator is, with a recorded protocol.

  scoring           sampling generators: features of real and generated images, metrics per seed,
                    mean ± std, the report (`gan-zoo evaluate`)
  metric_registry   the metrics `--metrics` accepts, one entry each; their definitions are in zoo.metrics
  memorization      does a generator copy its training images (`gan-zoo memorization`)
  (the image-to-image evaluations, translation and super-resolution, belong to their tasks: zoo.tasks)
  classifier        training the Fashion-MNIST evaluator (`gan-zoo train-evaluator`); the network whose
                    features and logits the metrics use is zoo.metrics.evaluator_network
"""
