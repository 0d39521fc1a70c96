"""Metric definitions on features and labels, plain NumPy/TensorFlow with their papers: Fréchet
distance, kernel distance, Inception Score, k-NN manifold metrics, mode coverage, GAN-train/test,
PSNR/SSIM, and the two-sample metrics on two feature arrays [n, d] (real, fake) re-exported here: Gaussian-kernel
MMD (`mmd`), Wasserstein-1 by optimal transport (`transport`), the Geometry Score (`topology`) and a held-out
Wasserstein critic (`critic`); `features` holds the networks that turn images into features (`evaluator_network`:
the Fashion-MNIST evaluator's). zoo.eval.scoring runs them."""
from zoo.metrics.critic import wasserstein_critic
from zoo.metrics.mmd import kernel_mmd
from zoo.metrics.topology import geometry_score
from zoo.metrics.transport import wasserstein_distance

__all__ = ["geometry_score", "kernel_mmd", "wasserstein_critic", "wasserstein_distance"]
