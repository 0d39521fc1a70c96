"""Metric definitions on features and labels, plain NumPy/TensorFlow with their papers: Fréchet
distance, kernel distance, Inception Score, k-NN manifold metrics, mode coverage, GAN-train/test,
PSNR/SSIM; `features` holds the networks that turn images into features (`evaluator_network`: the
Fashion-MNIST evaluator's). zoo.eval.scoring runs them."""
