"""StyleGAN-lite, a small StyleGAN2 (Karras et al. 2019, https://arxiv.org/abs/1812.04948, and 2020,
https://arxiv.org/abs/1912.04958), in three modules: `layers` (its custom Keras layers), `networks` (the mapping,
synthesis, generator and discriminator builders; style helpers) and `recipe` (the `StyleGANLite` training recipe).
The names below are the public ones of the single module it was before issue 31."""
from recipes.stylegan_lite.layers import (ACTIVATIONS, AddNoise, ConstantNoise, EqualizedConv2D, EqualizedDense,
                                          LearnedConstant, MinibatchStddev, ModulatedConv2D, PixelNorm, TrackedMean,
                                          activate)
from recipes.stylegan_lite.networks import (MAPPING_LR_MULTIPLIER, StyleGenerator, broadcast, build_discriminator,
                                            build_generator, build_mapping, build_synthesis, channels_at,
                                            image_resolution, mapping_of, mix, noise_sizes, num_style_layers,
                                            resolutions, style_layer, synthesis_of, synthesize, to_rgb, w_avg_of)
from recipes.stylegan_lite.recipe import StyleGANLite

__all__ = ["ACTIVATIONS", "AddNoise", "ConstantNoise", "EqualizedConv2D", "EqualizedDense", "LearnedConstant",
           "MinibatchStddev", "ModulatedConv2D", "PixelNorm", "TrackedMean", "activate", "MAPPING_LR_MULTIPLIER",
           "StyleGenerator", "broadcast", "build_discriminator", "build_generator", "build_mapping", "build_synthesis",
           "channels_at", "image_resolution", "mapping_of", "mix", "noise_sizes", "num_style_layers", "resolutions",
           "style_layer", "synthesis_of", "synthesize", "to_rgb", "w_avg_of", "StyleGANLite"]
