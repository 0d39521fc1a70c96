"""Pretrained presets: the `<name>/` directories beside this file, and the code around them.

  store        the preset layout, listing, sha256-verified loading of configs and weights
  pretrained   `zoo.load(name)`: the Generator users meet (sample, sample_seeds, translate, upscale)
  packaging    a preset and its model card from a training run (`gan-zoo make-preset`, `gan-zoo cards`)
"""
