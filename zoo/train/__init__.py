"""Training: `train(TrainConfig(...))` trains or resumes a run, the same recipe on one device,
MirroredStrategy or a multi-worker cluster.

  config          TrainConfig and the checks of its values
  strategy        tf.distribute strategy, chief, XLA and mixed precision
  build           the recipe from settings or a preset (fine-tuning), one Adam per player
  run_directory   the run directory's layout: run.json, train_state.json, logs, checkpoints, resume history
  callbacks       NaN guard, samples, checkpoints, periodic FID
  loop            data feed, the distributed step, train()
  launch          N local worker processes (`gan-zoo launch`)
  perceptual      feature networks for content losses (SRGAN)
"""
from zoo._lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"TrainConfig": "config", "train": "loop"})
