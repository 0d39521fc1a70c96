"""Data: image datasets as tf.data pipelines of float32 NHWC in [-1, 1] (`datasets`: Fashion-MNIST,
TFDS names, image folders, .npz files) and the synthetic gray triangles of Lucic et al. 2018
(`triangles`)."""
