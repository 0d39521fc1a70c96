"""Metric definitions: parity with TF-GAN's `classifier_metrics` and properties with known answers."""
import importlib.util
import pathlib
import sys
import types
import warnings

import numpy as np
import pytest
import tensorflow as tf

from zoo.metrics import frechet, inception_score, kernel, manifold, modes


@pytest.fixture(scope="module")
def tfgan():
    """TF-GAN's eval/classifier_metrics.py, loaded without the package `__init__`
    (which fails to import on TF >= 2.16)."""
    spec = importlib.util.find_spec("tensorflow_gan")
    assert spec is not None, "tensorflow-gan is a test dependency: pip install -e '.[test]'"
    eval_dir = pathlib.Path(list(spec.submodule_search_locations)[0]) / "python" / "eval"
    saved = {name: sys.modules.get(name) for name in
             ("tensorflow_gan", "tensorflow_gan.python", "tensorflow_gan.python.eval",
              "tensorflow_gan.python.eval.eval_utils", "tensorflow_gan.python.eval.classifier_metrics")}
    for package in ("tensorflow_gan", "tensorflow_gan.python", "tensorflow_gan.python.eval"):
        sys.modules[package] = types.ModuleType(package)
    for name in ("eval_utils", "classifier_metrics"):
        module_spec = importlib.util.spec_from_file_location(f"tensorflow_gan.python.eval.{name}", eval_dir / f"{name}.py")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        setattr(sys.modules["tensorflow_gan.python.eval"], name, module)
    yield sys.modules["tensorflow_gan.python.eval.classifier_metrics"]
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


def activations(n, d, seed, shift=0.0):
    """n samples of one correlated Gaussian per dimension d (shifted by `shift`)."""
    mixing = np.random.default_rng(d).normal(size=(d, d)) / np.sqrt(d)
    return np.random.default_rng(seed).normal(size=(n, d)) @ mixing + shift


# (n, d): well-determined, and n < d (rank-deficient covariances)
SHAPES = [(200, 16), (64, 64), (20, 64), (10, 128)]


@pytest.mark.parametrize("n, d", SHAPES)
def test_fid_matches_tfgan(tfgan, n, d):
    a, b = activations(n, d, 0), activations(n + 7, d, 1, shift=0.3)
    ours = frechet.fid_from_activations(a, b)
    theirs = float(tfgan.frechet_classifier_distance_from_activations(tf.constant(a), tf.constant(b)))
    assert ours == pytest.approx(theirs, rel=1e-5)


@pytest.mark.parametrize("n_real, n_fake, block", [(100, 100, 1024), (300, 250, 64), (257, 311, 50), (40, 40, 10),
                                                   (128, 100, 64)])  # blocks: 1, 5, 7, 4, 2
def test_kid_and_its_std_match_tfgan(tfgan, n_real, n_fake, block):
    a, b = activations(n_real, 32, 2), activations(n_fake, 32, 3, shift=0.2)
    ours = kernel.kid_from_activations(a, b, block_size=block)
    theirs = tfgan.kernel_classifier_distance_and_std_from_activations(tf.constant(a), tf.constant(b), block)
    assert ours[0] == pytest.approx(float(theirs[0]), rel=1e-5)
    if np.isnan(ours[1]):
        assert np.isnan(float(theirs[1]))
    else:
        assert ours[1] == pytest.approx(float(theirs[1]), rel=1e-5)


@pytest.mark.parametrize("n, classes, scale", [(100, 10, 1.0), (500, 1000, 3.0), (7, 4, 10.0)])
def test_inception_score_matches_tfgan(tfgan, n, classes, scale):
    logits = np.random.default_rng(4).normal(size=(n, classes)) * scale
    theirs = float(tfgan.classifier_score_from_logits(tf.constant(logits)))
    assert inception_score.classifier_score_from_logits(logits) == pytest.approx(theirs, rel=1e-4)


def test_fid_properties_and_closed_form():
    a, b = activations(300, 8, 5), activations(300, 8, 6, shift=1.0)
    assert abs(frechet.fid_from_activations(a, a)) < 1e-8
    assert frechet.fid_from_activations(a, b) == pytest.approx(frechet.fid_from_activations(b, a), rel=1e-8)
    # commuting (diagonal) covariances: FID = ‖μ₁-μ₂‖² + Σ (σ₁ - σ₂)²
    mean1, mean2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    std1, std2 = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])
    expected = 1 + 0 + 4 + (1 + 0 + 4)
    assert frechet.frechet_distance(mean1, np.diag(std1**2), mean2, np.diag(std2**2)) == pytest.approx(expected)


def test_fid_of_float32_statistics_is_computed_in_float64():
    """Statistics in float32 (what a feature network returns) are promoted before any sum: the traces, the
    squared mean difference and both square roots in float32 would each round differently."""
    a, b = activations(50, 24, 10), activations(60, 24, 11, shift=0.5)
    statistics = [np.mean(a, axis=0), np.cov(a, rowvar=False), np.mean(b, axis=0), np.cov(b, rowvar=False)]
    single = [part.astype(np.float32) for part in statistics]
    assert frechet.frechet_distance(*single) == frechet.frechet_distance(*[part.astype(np.float64) for part in single])
    root = frechet.symmetric_sqrt(single[1])
    assert root.dtype == tf.float64
    np.testing.assert_array_equal(root, frechet.symmetric_sqrt(single[1].astype(np.float64)))
    assert float(frechet.trace_sqrt_product(single[1], single[3])) == \
        float(frechet.trace_sqrt_product(single[1].astype(np.float64), single[3].astype(np.float64)))


def test_symmetric_sqrt_roots_singular_values_from_eps_up():
    """Singular values below eps stay as they are, eps itself and above are rooted."""
    np.testing.assert_allclose(frechet.symmetric_sqrt(np.diag([1e-10, 4.0])), np.diag([1e-5, 2.0]), rtol=1e-12)
    np.testing.assert_allclose(frechet.symmetric_sqrt(np.diag([5e-11, 4.0])), np.diag([5e-11, 2.0]), rtol=1e-12)


@pytest.mark.parametrize("means, covariances", [((3, 4), (3, 3)),  # the means differ
                                                ((3, 3), (3, 4)),  # the covariances differ
                                                ((3, 3), (4, 4))])  # they agree with each other, not with the means
def test_fid_rejects_statistics_of_different_dimensions(means, covariances):
    mean1, mean2 = np.zeros(means[0]), np.zeros(means[1])
    sigma1, sigma2 = np.eye(covariances[0]), np.eye(covariances[1])
    expected = (f"Expected two means of shape [d] and two covariances of shape [d, d], one d for all four. Received: "
                f"means {mean1.shape} {mean2.shape}, covariances {sigma1.shape} {sigma2.shape}")
    with pytest.raises(ValueError) as error:
        frechet.frechet_distance(mean1, sigma1, mean2, sigma2)
    assert str(error.value) == expected


def test_streamed_moments_are_float64_whatever_the_features_dtype_and_centred_per_feature():
    """float32 features are accumulated in float64; each feature is centred on its own first-batch mean, so
    features far apart in offset (±10⁶ here, unit variance) keep their covariance to 1e-9."""
    rng = np.random.default_rng(16)
    features = (rng.normal(size=(400, 3)) + np.array([1e6, -1e6, 0.0])).astype(np.float32)
    streamed = frechet.FeatureMoments(3)
    for chunk in np.array_split(features, 4):
        streamed.update(chunk)
    exact = features.astype(np.float64)
    np.testing.assert_allclose(streamed.mean, exact.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(streamed.covariance, np.cov(exact, rowvar=False), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("shape", [(5,), (5, 4), (5, 3, 1)])
def test_streamed_moments_refuse_features_of_another_shape(shape):
    with pytest.raises(ValueError) as error:
        frechet.FeatureMoments(3).update(np.zeros(shape))
    assert str(error.value) == f"Expected features of shape [n, 3]. Received: {shape}"


def test_kid_blocks_of_1024_by_default_and_one_block_has_no_error_bar():
    """TF-GAN's default block size: 1025 samples make two blocks, 1024 one, whose standard error is NaN (not a
    NumPy warning about a variance of one value)."""
    a, b = activations(1025, 4, 12), activations(1025, 4, 13, shift=0.1)
    assert kernel.kid_from_activations(a, b) == kernel.kid_from_activations(a, b, block_size=1024)
    assert np.isfinite(kernel.kid_from_activations(a, b)[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kid, error = kernel.kid_from_activations(a[:1024], b[:1024])
    assert np.isnan(error) and kid == kernel.unbiased_mmd2(a[:1024], b[:1024])


def test_kid_of_float32_activations_is_computed_in_float64():
    a, b = activations(40, 16, 14).astype(np.float32), activations(30, 16, 15, shift=0.2).astype(np.float32)
    assert kernel.kid_from_activations(a, b, block_size=20) == \
        kernel.kid_from_activations(a.astype(np.float64), b.astype(np.float64), block_size=20)


def test_streamed_moments_equal_batch_moments():
    features = activations(1000, 12, 7, shift=50.0)  # a large offset tests the cancellation guard
    moments = frechet.FeatureMoments(12)
    for chunk in np.array_split(features, 7):
        moments.update(chunk)
    np.testing.assert_allclose(moments.mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.covariance, np.cov(features, rowvar=False), rtol=1e-9, atol=1e-12)


def test_kid_is_unbiased_for_one_distribution():
    rng = np.random.default_rng(8)
    estimates = [kernel.kid_from_activations(rng.normal(size=(200, 16)), rng.normal(size=(200, 16)))[0]
                 for _ in range(30)]
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / np.sqrt(len(estimates))
    shifted = kernel.kid_from_activations(rng.normal(size=(200, 16)), rng.normal(size=(200, 16)) + 0.5)[0]
    assert shifted > 10 * np.std(estimates)


def test_manifold_metrics_of_equal_and_disjoint_sets():
    real = activations(300, 8, 9)
    assert manifold.precision_recall(real, real) == (1.0, 1.0)
    density, coverage = manifold.density_coverage(real, real)
    # a ball holds its centre and its k nearest neighbours: Σ counts = N(k + 1), density = (k + 1) / k
    assert coverage == 1.0 and density == pytest.approx(4 / 3)
    # float32 features (what the evaluator returns) are measured in float64 too: each k-th neighbour lies exactly
    # on its ball's boundary, and norms rounded to float32 would push some of them out
    assert manifold.density_coverage(real.astype(np.float32), real.astype(np.float32)) == \
        manifold.density_coverage(real.astype(np.float32).astype(np.float64), real.astype(np.float32).astype(np.float64))
    assert manifold.density_coverage(real.astype(np.float32), real.astype(np.float32))[0] == pytest.approx(4 / 3)
    far = real + 100.0
    assert manifold.precision_recall(real, far) == (0.0, 0.0)
    assert manifold.density_coverage(real, far) == (0.0, 0.0)
    assert manifold.one_nn_accuracy(real, far) == 1.0
    same_distribution = manifold.one_nn_accuracy(real, activations(300, 8, 10))
    assert 0.4 < same_distribution < 0.6


def test_nearest_neighbour_metrics_are_the_same_over_several_row_blocks(monkeypatch):
    real, fake = activations(40, 4, 1), activations(30, 4, 2) + 0.3
    expected = manifold.one_nn_accuracy(real, fake)  # one block
    pooled, is_real = np.concatenate([real, fake]), np.arange(70) < 40
    distances = ((pooled[:, None] - pooled[None]) ** 2).sum(-1) + np.diag(np.full(70, np.inf))
    assert expected == np.mean(is_real[distances.argmin(axis=1)] == is_real)  # leave-one-out 1-NN by definition
    one_block = manifold.precision_recall(real, fake), manifold.density_coverage(real, fake)
    assert 0 < one_block[1][1] < 1  # some real balls hold no fake point: coverage is not trivially 0 or 1
    monkeypatch.setattr(manifold, "BLOCK", 16)  # 5 blocks of rows, the last one short
    assert manifold.one_nn_accuracy(real, fake) == expected
    assert (manifold.precision_recall(real, fake), manifold.density_coverage(real, fake)) == one_block


def test_log_softmax_per_row_in_float64():
    # rows far apart: a shift by anything but each row's own maximum under- or overflows
    logits = np.array([[1000.0, 1001.0, 999.0], [0.0, 1.0, -1.0], [-800.0, -799.0, -801.0]], np.float32)
    row = np.array([0.0, 1.0, -1.0]) - np.log(np.exp([0.0, 1.0, -1.0]).sum())
    result = inception_score.log_softmax(logits)
    assert result.dtype == np.float64  # float32 logits are computed in float64 (its 1e-7 rounding would show)
    np.testing.assert_allclose(result, np.tile(row, (3, 1)), rtol=1e-13)
    tiny = np.array([[0.0, 1e-7]], np.float32)
    expected = np.float64(tiny) - np.log(np.exp(np.float64(tiny)).sum())
    np.testing.assert_allclose(inception_score.log_softmax(tiny), expected, rtol=1e-14)


def test_kth_neighbour_radius_excludes_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(manifold.kth_neighbour_radii(points, 1), [1.0, 1.0, 4.0, 9.0])
    np.testing.assert_allclose(manifold.kth_neighbour_radii(points, 2), [9.0, 4.0, 9.0, 25.0])
    with pytest.raises(ValueError, match=r"`k` must be in \[1, 3\] for 4 points. Received: k=4"):
        manifold.kth_neighbour_radii(points, 4)
    # squared distances are exact for representable points, clipped at 0 only against rounding
    np.testing.assert_array_equal(manifold.squared_distances(points, points[:2]), [[0, 1], [1, 0], [9, 4], [36, 25]])


def test_precision_and_recall_use_k_3_by_default():  # Kynkäänniemi et al. 2019
    real, fake = activations(200, 4, 3), activations(200, 4, 4) + 0.5
    assert manifold.precision_recall(real, fake) == manifold.precision_recall(real, fake, k=3)
    assert manifold.precision_recall(real, fake) != manifold.precision_recall(real, fake, k=4)
    assert manifold.density_coverage(real, fake) == manifold.density_coverage(real, fake, k=3)
    assert manifold.density_coverage(real, fake) != manifold.density_coverage(real, fake, k=4)


def test_mode_coverage_grows_with_dropped_classes():
    real = np.full(10, 0.1)
    kls = []
    for dropped in range(5):
        predicted = np.arange(1000) % (10 - dropped)
        report = modes.mode_coverage(predicted, real)
        assert report["classes_covered"] == 10 - dropped
        kls.append(report["kl_generated_to_real"])
    assert kls[0] == pytest.approx(0.0, abs=1e-12)
    assert kls[1] == pytest.approx(np.log(10 / 9), rel=1e-2)
    assert all(a < b for a, b in zip(kls, kls[1:]))


def test_mode_coverage_by_definition():
    # 3 classes, real shares 0.5/0.25/0.25; generated 1 × class 0, 3 × class 2 (labels as floats, e.g. from an .npz)
    report = modes.mode_coverage(np.array([2.0, 0.0, 2.0, 2.0]), [0.5, 0.25, 0.25])
    assert report["histogram"] == [0.25, 0.0, 0.75]
    assert report["kl_generated_to_real"] == pytest.approx(0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.25))
    assert report["classes_covered"] == 2  # default threshold 0.25 / 3
    # a share equal to min_share counts as covered; a larger min_share drops class 0
    assert modes.mode_coverage([2, 0, 2, 2], [0.5, 0.25, 0.25], min_share=0.25)["classes_covered"] == 2
    assert modes.mode_coverage([2, 0, 2, 2], [0.5, 0.25, 0.25], min_share=0.3)["classes_covered"] == 1
    assert modes.class_histogram([1], 3).tolist() == [0.0, 1.0, 0.0]  # one sample is all of the histogram
    assert modes.class_histogram([], 2).tolist() == [0.0, 0.0]


def test_class_kl_of_a_reference_lacking_classes_is_over_its_classes_and_the_rest_is_off_class():
    """KL(p_generated ‖ p*) is infinite once a sample lands in a class the reference lacks: the KL is over the
    reference's classes (the histogram of the samples predicted in them) and the rest is the off-class share."""
    real = [0.5, 0.5, 0.0, 0.0]
    report = modes.mode_coverage([0, 0, 1, 2], real)
    assert report["histogram"] == [0.5, 0.25, 0.25, 0.0] and report["off_class_share"] == 0.25
    assert report["kl_generated_to_real"] == pytest.approx(2 / 3 * np.log(4 / 3) + 1 / 3 * np.log(2 / 3), rel=1e-12)
    assert report["classes_covered"] == 2  # of the reference's 2 classes, threshold 0.25 / 2
    only_off = modes.mode_coverage([2, 3, 3], real)  # nothing in the reference's classes: the worst KL over them
    assert (only_off["kl_generated_to_real"], only_off["off_class_share"], only_off["classes_covered"]) == \
        (pytest.approx(np.log(2), rel=1e-12), 1.0, 0)
    assert "off_class_share" not in modes.mode_coverage([0, 2], [0.5, 0.25, 0.25])  # a full reference: as before


def test_mode_score_of_a_reference_lacking_classes_is_over_its_classes():
    """MS with p(y|x) the posterior given y is one of the reference's classes; a softmax is never 0, so the plain
    KL(p(y) ‖ p*) would be infinite and MS 0 for every generator."""
    logits = np.random.default_rng(15).normal(size=(300, 4)) * 2
    p = np.exp(logits[:, :2]) / np.exp(logits[:, :2]).sum(axis=1, keepdims=True)
    marginal, reference = p.mean(axis=0), np.array([0.7, 0.3])
    expected = np.exp(np.mean(np.sum(p * np.log(p / marginal), axis=1)) - np.sum(marginal * np.log(marginal / reference)))
    assert inception_score.mode_score_from_logits(logits, [0.7, 0.3, 0.0, 0.0]) == pytest.approx(expected, rel=1e-12)


def test_class_shares_given_in_float32_are_used_in_float64():
    shares = np.random.default_rng(12).dirichlet(np.ones(10))
    logits = np.random.default_rng(13).normal(size=(300, 10))
    predicted = np.random.default_rng(14).integers(0, 10, 500)
    single, double = shares.astype(np.float32), shares.astype(np.float32).astype(np.float64)
    assert inception_score.mode_score_from_logits(logits, single) == \
        pytest.approx(inception_score.mode_score_from_logits(logits, double), rel=1e-13)
    assert modes.mode_coverage(predicted, single)["kl_generated_to_real"] == \
        pytest.approx(modes.mode_coverage(predicted, double)["kl_generated_to_real"], rel=1e-13)


def test_mode_score_is_inception_score_when_marginal_matches():
    logits = np.random.default_rng(11).normal(size=(400, 10)) * 2
    marginal = np.exp(inception_score.log_softmax(logits)).mean(axis=0)
    ins = inception_score.classifier_score_from_logits(logits)
    assert inception_score.mode_score_from_logits(logits, marginal) == pytest.approx(ins, rel=1e-10)
    assert inception_score.mode_score_from_logits(logits, np.eye(10)[0] * 0.91 + 0.01) < ins
    mean, std = inception_score.split_scores(inception_score.classifier_score_from_logits, logits, 10)
    assert 1.0 < mean < 10.0 and std > 0


def test_psnr_ssim_known_values():
    from zoo.metrics import image_quality

    target = np.zeros((2, 16, 16, 1), np.float32)  # 0 in [-1, 1] is 0.5 in [0, 1]
    noisy = target + np.float32(0.2)  # 0.1 error in [0, 1]: MSE 0.01 → PSNR 20 dB
    psnr, ssim = image_quality.psnr_ssim(noisy, target)
    np.testing.assert_allclose(psnr, [20.0, 20.0], rtol=1e-4)
    psnr, ssim = image_quality.psnr_ssim(target, target)
    np.testing.assert_allclose(ssim, [1.0, 1.0], rtol=1e-6)
    rgb = np.ones((1, 4, 4, 3))  # white (float64, as numpy makes it): Y = 16/255 + 219/255 = 235/255
    y = image_quality.luma(rgb)
    assert y.shape == (1, 4, 4, 1) and y.dtype == tf.float32
    np.testing.assert_allclose(np.asarray(y), 235 / 255, rtol=1e-5)
    assert image_quality.luma(np.zeros((1, 4, 4, 1))).dtype == tf.float32  # gray passes through, as float32
    low = np.random.default_rng(0).uniform(-1, 1, (1, 7, 7, 1)).astype(np.float32)
    upsampled = image_quality.bicubic_upsample(low, (28, 28))
    assert upsampled.shape == (1, 28, 28, 1) and np.abs(upsampled).max() <= 1.0


def test_psnr_ssim_crop_ignores_exactly_the_border():
    """Error 0.2 ([-1, 1] units, 0.1 in [0, 1]) inside, 0.8 on a 2-pixel border: crop=2 sees only the inside."""
    from zoo.metrics import image_quality

    target = np.zeros((1, 16, 16, 1), np.float32)
    predicted = np.full_like(target, 0.8)
    predicted[:, 2:-2, 2:-2] = 0.2
    psnr, _ = image_quality.psnr_ssim(predicted, target, crop=2)
    np.testing.assert_allclose(psnr, [20.0], rtol=1e-4)  # MSE 0.01 over the 12×12 inside
    uncropped, _ = image_quality.psnr_ssim(predicted, target)
    inside, border = 12 * 12, 16 * 16 - 12 * 12
    expected = -10 * np.log10((inside * 0.1**2 + border * 0.4**2) / (16 * 16))
    np.testing.assert_allclose(uncropped, [expected], rtol=1e-4)


def test_ssim_is_computed_on_0_to_1_images_with_max_value_1():
    """The same pair scaled to 0..255 with max_val 255 gives the same SSIM (SSIM's constants scale with it)."""
    import tensorflow as tf

    from zoo.metrics import image_quality

    rng = np.random.default_rng(4)
    target = rng.uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32)
    predicted = np.clip(target + rng.normal(0, 0.3, target.shape), -1, 1).astype(np.float32)
    _, ssim = image_quality.psnr_ssim(predicted, target)
    scaled = lambda x: (x + 1.0) * 127.5  # noqa: E731
    np.testing.assert_allclose(ssim, tf.image.ssim(scaled(predicted), scaled(target), max_val=255.0), rtol=1e-4)


def test_bicubic_baseline_reproduces_a_quadratic_inside_the_image():
    """Keys' cubic convolution (a = -0.5) is exact for polynomials of degree ≤ 2; bilinear is not. Output
    pixel x samples the input at (x + 0.5) / 4 - 0.5 (half-pixel centers), 4× upsampling."""
    from zoo.metrics import image_quality

    quadratic = lambda u, v: 0.02 * (u - 3.0) ** 2 - 0.015 * (v - 2.0) ** 2 + 0.01 * u * v - 0.3  # noqa: E731
    grid = np.arange(8, dtype=np.float64)
    low = quadratic(grid[:, None], grid[None, :])[None, :, :, None].astype(np.float32)
    upsampled = np.asarray(image_quality.bicubic_upsample(low, (32, 32)))[0, :, :, 0]
    source = (np.arange(32) + 0.5) / 4 - 0.5
    inside = slice(8, 24)  # two input pixels from every border
    expected = quadratic(source[:, None], source[None, :])[inside, inside]
    np.testing.assert_allclose(upsampled[inside, inside], expected, atol=1e-4)


def test_split_scores_bounds_one_split_and_one_image_per_split():
    logits = np.random.default_rng(5).normal(size=(6, 4)) * 3
    whole = inception_score.classifier_score_from_logits(logits)
    assert inception_score.split_scores(inception_score.classifier_score_from_logits, logits, 1) == (whole, 0.0)
    per_image = inception_score.split_scores(inception_score.classifier_score_from_logits, logits, 6)
    assert per_image == pytest.approx((1.0, 0.0))  # one sample: p(y|x) = p(y), KL 0, IS 1
    for splits in (0, 7):
        with pytest.raises(ValueError, match=rf"`splits` must be in \[1, 6\]. Received: splits={splits}"):
            inception_score.split_scores(inception_score.classifier_score_from_logits, logits, splits)
