"""Mutation score of the objectives and the metrics: mutmut 3 changes recipes/losses.py, the functions
that compose the recipes' train steps and zoo/metrics/ one small edit at a time (an operator, a constant,
an argument) in a copy of the working tree, and runs the fast tests that reach the mutated function.
A mutant is killed when a test fails. Prints, per module: mutants, killed, timeout, survived, equivalent
(survivors judged by hand to compute the same thing, listed in EQUIVALENT with the reason), untested (no
selected test reaches it), not run, and the score (killed + timeout) / (mutants - equivalent - not run);
then each surviving mutant's diff and each equivalent one's reason.

    pip install "mutmut==3.8.1"           # not a test dependency: this does not run in CI
    python benchmarks/mutation_score.py [--scope losses,train_steps,metrics] [--workdir DIR] [--jobs 2]
    python benchmarks/mutation_score.py --rerun-survivors --workdir DIR   # after adding tests; timeouts run again too,
                                                                          # and the tests are mapped to functions again
    python benchmarks/mutation_score.py --report-only     # the tables of the results on record (RESULTS)

Every run puts its results on record in RESULTS (committed; with the hash of each function they were
measured on and the versions of mutmut and Python), and a fresh run starts from the killed mutants on
record whose function is unchanged: a run that outlasts a session, or its machine, goes on where the
record stops, and survivors always run again with the tests as they are. Delete RESULTS to start over.

mutmut forks every mutant's test process from one warmed-up server (TensorFlow is imported once), so a
mutant costs the time of the tests that reach it: about 5–10 s here. Asserts nothing.
"""
import argparse
import ast
import collections
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "benchmarks", "mutation_results.json")
MUTMUT_VERSION = "3.8.1"  # another version may number the mutants otherwise: the record says which made it
SAVE_EVERY_SECONDS = 300
# The fast tests that pin the objectives and the metrics (seconds each; the recipes' own slow tests, XLA
# lowering and mirrored steps at ~85 s, would make every surviving mutant cost minutes).
TESTS = ["tests/recipes/test_losses.py", "tests/recipes/test_golden_steps.py", "tests/recipes/test_augment.py",
         "tests/recipes/test_head_objectives.py",  # Sphere GAN's and RealnessGAN's losses, heads and settings
         "tests/recipes/test_began.py", "tests/recipes/test_ebgan.py", "tests/recipes/test_mode_collapse_remedies.py",
         *(f"tests/recipes/test_acgan.py::{name}" for name in (  # not its contract
             "test_acgan_step_maximises_the_papers_source_and_class_likelihoods",
             "test_acgan_refuses_one_class_and_a_batch_without_labels")),
         *(f"tests/recipes/test_sagan.py::{name}" for name in (  # not its contract (mirrored steps: ~85 s)
             "test_self_attention_is_the_papers_equations",
             "test_attention_map_reads_the_attention_layer_of_either_network",
             "test_sagan_step_is_one_hinge_step_of_each_player",
             "test_sagan_attends_at_16x16_on_padded_fashion_mnist_and_normalises_every_generator_layer",
             "test_sagan_refuses_bad_settings_in_one_line")),
         *(f"tests/recipes/test_biggan_lite.py::{name}" for name in (  # not its contract (mirrored steps)
             "test_orthogonal_penalty_is_the_squared_off_diagonal_gram_and_its_gradient",
             "test_the_penalty_covers_every_generator_kernel_but_the_shared_embedding",
             "test_biggan_lite_step_is_hinge_then_hinge_plus_the_orthogonal_penalty_then_the_ema",
             "test_defaults_are_the_papers_where_they_fit_a_cpu", "test_each_block_reads_its_own_chunk_of_z",
             "test_truncation_maps_z_onto_the_normal_truncated_at_the_papers_thresholds",
             "test_generate_truncated_feeds_the_ema_generator_the_truncated_z",
             "test_biggan_lite_refuses_bad_settings_in_one_line", "test_biggan_lite_refuses_a_batch_without_labels")),
         "tests/zoo/test_data_record.py", "tests/zoo/test_mode_collapse.py",  # features' channels and crop; modes
         "tests/zoo/metrics",  # new fast metric tests go here: editing this list makes mutmut discard a --workdir's
         # results (the killed verdicts on record are kept)
         # the data-copying statistic's definitions (zoo/metrics/memorization.py); the rest of that file is slow
         "tests/zoo/test_memorization.py::test_mann_whitney_z_and_nearest_match_their_definitions",
         "tests/zoo/test_memorization.py::test_c_t_is_negative_for_copies_near_zero_for_fresh_data_positive_for_far_samples"]
EVERY_FUNCTION = None
# scope → {file: the functions mutated in it (qualified names), or EVERY_FUNCTION}. train_steps: the step,
# the terms it minimises, and the shared machinery in recipes/base.py (global-batch mean, updates, EMA,
# replica-consistent noise). Networks and layers are left alone (Keras inspects layers' __init__, which
# mutmut's wrappers would hide).
SCOPES = {
    "losses": {"recipes/losses.py": EVERY_FUNCTION},
    "train_steps": {
        "recipes/base.py": ["replica_context", "global_batch_mean", "split_labels", "batch_size", "GAN.replica_random",
                            "GAN.latent", "GAN.uniform", "GAN.augmented", "GAN.fake", "GAN.update",
                            "GAN.update_jointly", "GAN.apply_update", "GAN.update_ema", "GAN.track",
                            "GAN.finish_step", "replica_total"],
        "recipes/dcgan.py": ["DCGAN.discriminator_terms", "DCGAN.train_step", "DCGAN.step_logs", "DCGAN.smoothed_labels",
                             "DCGAN.discriminator_view", "DCGAN.generator_terms", "DCGAN.with_history"],
        "recipes/remedies.py": ["batch_constant", "safe_sqrt", "slot_values", "optimizer_state", "simulated_update",
                                "FunctionalNetwork.__call__", "FunctionalNetwork.updated", "unroll",
                                "feature_matching_loss", "HistoricalAverage.averages", "HistoricalAverage.advance",
                                "HistoricalAverage.penalty"],  # the layer's __init__ is Keras's to inspect
        "recipes/acgan.py": ["ACGAN.heads", "ACGAN.discriminator_terms", "ACGAN.generator_terms", "ACGAN.train_step"],
        "recipes/began.py": ["replica_share", "AutoencoderGAN.autoencode", "reconstruction_l1",
                             "BEGAN.reconstruction_loss", "BEGAN.train_step"],
        "recipes/ebgan.py": ["pulling_away", "squared_error", "EBGAN.energy",
                             "EBGAN.discriminator_terms", "EBGAN.generator_terms", "EBGAN.train_step"],
        "recipes/sngan.py": ["SNGAN.critic", "SNGAN.train_step", "SNGAN.discriminator_steps"],
        # BigGAN-lite's step is SNGAN's D steps, then G's hinge + orthogonal penalty; its truncation trick
        "recipes/biggan_lite.py": ["BigGANLite.orthogonal_kernels", "BigGANLite.generator_terms",
                                   "BigGANLite.train_step", "BigGANLite.generate_truncated", "BigGANLite.interpolate"],
        "recipes/latents.py": ["truncated_normal", "_erf", "_erfinv"],
        # SAGAN's step is SNGAN's; its own computation is the attention layer (eq. 1–3) and where it sits
        "recipes/sagan.py": ["attention_heights", "attention_map", "SAGAN.attention_map"],
        "recipes/layers.py": ["SelfAttention.attend", "SelfAttention.call", "orthogonal_penalty"],
        "recipes/wgan_gp.py": ["WGANGP.step_logs"],  # WGANGP and LSGAN are DCGAN configurations: their step is
        # DCGAN's; LSGAN's codes a, b, c are bound in its __init__, which Keras inspects (not mutated)
        "recipes/cgan.py": ["CGAN.train_step"],
        "recipes/cyclegan.py": ["ImagePool.query", "CycleGAN.pooled", "CycleGAN.train_step", "l1"],
        "recipes/srgan.py": ["SRGAN.content_loss", "SRGAN.train_step", "squared_error"],
        "recipes/stylegan_lite/layers.py": ["TrackedMean.track"],
        "recipes/stylegan_lite/networks.py": ["mix"],
        "recipes/stylegan_lite/recipe.py": ["StyleGANLite.noise", "StyleGANLite.mixed_styles", "StyleGANLite.generate",
                                            "StyleGANLite.fake", "StyleGANLite.discriminator_terms",
                                            "StyleGANLite.generator_terms", "StyleGANLite.train_step"],
    },
    "metrics": {f"zoo/metrics/{name}": EVERY_FUNCTION for name in sorted(os.listdir(os.path.join(REPO, "zoo", "metrics")))
                if name.endswith(".py") and name != "__init__.py"},
}
# StyleGAN-lite's part of train_steps alone: mutmut runs a scope's modules in name order, so this puts them first
SCOPES["stylegan_lite"] = {path: chosen for path, chosen in SCOPES["train_steps"].items()
                           if path.startswith("recipes/stylegan_lite/")}
# The evaluator network and feature extraction alone (zoo.metrics' part that the house issue moved)
SCOPES["features"] = {path: chosen for path, chosen in SCOPES["metrics"].items()
                      if path in ("zoo/metrics/features.py", "zoo/metrics/evaluator_network.py")}
# Survivors that compute the same thing as the original (checked by reading the diff), with the reason.
_NO_TRAINING_FLAG = ("training=None/False or left out: no layer of StyleGAN-lite's mapping, synthesis or discriminator "
                     "reads `training` (no batch norm, dropout or spectral norm)")
_PROMOTED = "np.concatenate promotes the part to the other part's float64 (exact for float32 and integer features)"
EQUIVALENT = {
    "recipes.ebgan.x_pulling_away__mutmut_39": "(ŝ_iᵀŝ_i)³ for (ŝ_iᵀŝ_i)²: the ŝ_i are unit vectors (l2_normalize), so "
                                               "both are 1 (a zero code: both 0), up to float32 rounding",
    **{f"zoo.metrics.manifold.x_one_nn_accuracy__mutmut_{n}": _PROMOTED for n in (4, 6, 8, 10)},
    "zoo.metrics.memorization.xǁCopyingTestǁscore__mutmut_24": "weights len(p)·N instead of len(p)/N: C_T = Σ w·Z / Σ w "
                                                               "is the same when every weight is scaled by N² (up to "
                                                               "the rounding of len(p)/N)",
    "zoo.metrics.memorization.x_kmeans__mutmut_11": "choice(..., replace=None) draws as replace=False does (None is falsy)",
    **{f"zoo.metrics.manifold.x_ball_counts__mutmut_{n}": "float zeros hold the same whole-number counts (exact below "
       "2**53), and density divides them by k·M either way" for n in (12, 14)},
    "zoo.metrics.manifold.x_kth_neighbour_radii__mutmut_27": "np.partition's default axis is the last, axis 1 of the "
                                                            "2-D distances",
    "zoo.metrics.memorization.x_nearest__mutmut_24": "blocks of 2 rows instead of 1 when fewer than two rows fit in "
                                                     "block_entries (M > block_entries / 2): the same distances up to "
                                                     "BLAS rounding; only the memory bound doubles",
    **{f"zoo.metrics.memorization.x_nearest__mutmut_{n}": "argpartition's and argsort's default axis is the last, "
       "axis 1 of the 2-D arrays" for n in (56, 64)},
    **{f"zoo.metrics.memorization.x_nearest__mutmut_{n}": "take_along_axis's axis defaults to the last, axis 1 of the "
       "2-D arrays, from NumPy 2.3 (measured with 2.4); before 2.3 the call raises TypeError, which every test that "
       "reaches it catches" for n in (73, 82, 95)},
    **{f"zoo.metrics.frechet.x_frechet_distance__mutmut_{n}": "one mean left in its own dtype while the other is "
       "float64: mean1 - mean2 is float64, exact for float16/32/64 and integer means (a longdouble mean would keep "
       "the difference in extended precision)"
       for n in (3, 5, 7, 9)},
    **{f"zoo.metrics.classification.x_train_classifier__mutmut_{n}": "the labels in their own dtype (int64 from "
       "NumPy) instead of int32: sparse cross-entropy casts them to integers either way" for n in (23, 25)},
    "zoo.metrics.classification.x_train_classifier__mutmut_35": "fit(verbose=None): Keras's progress bar prints only "
                                                                "for verbose 1 or 2 (checked: nothing printed)",
    "zoo.metrics.classification.x_trained_accuracy__mutmut_18": "predict(verbose=None): Keras's progress bar prints "
                                                                "only for verbose 1 or 2 (checked: nothing printed)",
    **{f"zoo.metrics.classification.x_train_classifier__mutmut_{n}": "fit ignores `shuffle` (None, True or left "
       "out) for a tf.data.Dataset: the pipeline shuffles, seeded" for n in (36, 40, 43)},
    "zoo.metrics.classification.x_train_classifier__mutmut_38": "fit's `epochs` defaults to 1",
    **{f"zoo.metrics.classification.x_trained_accuracy__mutmut_{n}": "predict's batch size (32 by default, 1000 or "
       "1001) only splits the work: in inference each image's logits do not depend on the others'"
       for n in (17, 20, 22)},
    **{f"zoo.metrics.features.x_to_inception_input__mutmut_{n}": "the images left in their dtype: tf.image.resize "
       "returns float32 for any input, the same values (checked for float64: equal to the last bit)" for n in (3, 5)},
    "zoo.metrics.features.x_to_inception_input__mutmut_25": "tf.image.resize's default method is bilinear",
    "zoo.metrics.features.xǁFeatureExtractorǁ__call____mutmut_17": "reshape(n, -2): NumPy 2 takes any negative size "
                                                                  "as the one unknown dimension, as -1",
    "zoo.metrics.features.x_inception_keras__mutmut_4": "InceptionV3's include_top defaults to True",
    "zoo.metrics.kernel.x_kid_from_activations__mutmut_42": 'float("NAN") is float("nan")',
    **{f"zoo.metrics.{name}__mutmut_{n}": "choice(..., replace=None) draws as replace=False does (None is falsy)"
       for name, n in (("mmd.x_median_heuristic", 5), ("topology.x_rlt", 8))},
    "zoo.metrics.mmd.x_median_heuristic__mutmut_1": "a subset drawn at exactly MEDIAN_POINTS points too: all of them in "
                                                    "a drawn order, the same pairs' distances (up to BLAS rounding)",
    "zoo.metrics.mmd.x_kernel_mmd__mutmut_10": "feature_sets' min_samples defaults to 2, the value given",
    **{f"zoo.metrics.transport.x_exact_wasserstein__mutmut_{n}": "ot.emd2 given None for one side's weights takes them "
       "uniform, as given (checked with POT 0.9.7: the same W₁)" for n in (7, 8)},
    "zoo.metrics.topology.x_witness_intervals__mutmut_5": "argsort's default axis is the last, axis 1 of the 2-D "
                                                          "distances",
    "zoo.metrics.topology.x_witness_intervals__mutmut_14": "take_along_axis's axis defaults to the last, axis 1 of the "
                                                           "2-D arrays, from NumPy 2.3 (measured with 2.4); before 2.3 "
                                                           "the call raises TypeError",
    "zoo.metrics.topology.x_witness_intervals__mutmut_22": "the witness complex up to dimension 3, not 2: H₁ depends on "
                                                           "the 1- and 2-simplices only, so its intervals are the same "
                                                           "(measured: test_topology.py passes, 117 s instead of 16 s)",
    "zoo.metrics.critic.x_mean_score__mutmut_1": "batches of 4097 rows for 4096: they only split the work, the "
                                                 "critic's dense layers score each row on its own",
    **{f"zoo.metrics.frechet.xǁFeatureMomentsǁ__init____mutmut_{n}": "np.zeros without a dtype (or None) is float64"
       for n in (5, 7, 10, 12)},
    **{f"zoo.metrics.memorization.x_nearest__mutmut_{n}": "the other branch (a full argsort, or argpartition at index "
       "len - 1 when k = len) picks the same k nearest, then sorted by distance (up to the order of exact ties)"
       for n in (49, 60)},
    **{f"zoo.metrics.features.x_fashion_mnist_evaluator__mutmut_{n}": "the evaluator called with training=None or "
       "without it: outside any layer's call Keras takes the layers' default, inference, as training=False does"
       for n in (8, 10)},
    **{f"zoo.metrics.features.x_{name}__mutmut_{n}": "the network called with training=None or without it: outside "
       "any layer's call Keras takes the layers' default, inference, as training=False does (checked: the tests' "
       "dropout and batch norm give the inference features)" for name, numbers in (("keras_classifier", (50, 52)),
                                                                                  ("inception", (27, 29)))
       for n in numbers},
    "zoo.metrics.features.x_keras_classifier__mutmut_8": "load_model(compile=None): Keras compiles a loaded model only "
                                                         "when `compile` is true (checked: a model saved with a loss "
                                                         "Keras cannot find loads, uncompiled, as with False)",
    "zoo.metrics.evaluator_network.x_build_evaluator__mutmut_24": "Conv2D(use_bias=None): Keras makes a bias only "
                                                                  "when use_bias is true (checked: the kernel alone)",
    "zoo.metrics.evaluator_network.x_build_evaluator__mutmut_36": 'Conv2D(padding="SAME"): Keras lower-cases the '
                                                                  'padding (checked: layer.padding == "same")',
    "recipes.base.xǁGANǁreplica_random__mutmut_11": 'alg="PHILOX": TensorFlow lower-cases the name',
    "recipes.base.xǁGANǁtrack__mutmut_1": "every update weighted 2 instead of 1 by default: a mean of equally weighted "
                                          "values is the same (a tracker given its own weights, StyleGAN-lite's R1, "
                                          "gives them all)",
    "recipes.base.xǁGANǁapply_update__mutmut_2": "a persistent tape for one player too: the same gradients (the tape "
                                                 "is deleted after the step either way)",
    **{f"recipes.stylegan_lite.recipe.xǁStyleGANLiteǁ{name}__mutmut_{n}": _NO_TRAINING_FLAG
       for name, numbers in (("mixed_styles", (3, 5, 7, 10, 12, 14)), ("generate", (4, 6, 8)),
                             ("discriminator_terms", (4, 6, 8)), ("generator_terms", (6, 8, 10))) for n in numbers},
    **{f"recipes.cyclegan.xǁCycleGANǁtrain_step__mutmut_{n}": "training=None/False or left out: no layer of CycleGAN's "
       "generators or discriminators reads `training` (convolutions, instance norm as GroupNormalization, ReLU, tanh)"
       for n in (5, 7, 8, 10, 12, 13, 21, 23, 24, 30, 32, 33, 41, 43, 44, 50, 52, 53, 57, 59, 60, 64, 66, 67, 127, 129,
                 130, 132, 134, 135, 149, 151, 152, 154, 156, 157)},
    **{f"recipes.srgan.xǁSRGANǁcontent_loss__mutmut_{n}": "φ called with training=None or without it: outside any "
       "layer's call Keras takes the layer's default, inference, as training=False does" for n in (11, 13, 16, 18)},
    "recipes.cyclegan.xǁCycleGANǁpooled__mutmut_21": "a clamp at size + 1 instead of size - 1: it never binds, as "
                                                     "⌊u·size⌋ ≤ size - 1 for every float32 u < 1 (u·size rounds "
                                                     "below size)",
    "recipes.stylegan_lite.recipe.xǁStyleGANLiteǁmixed_styles__mutmut_35": "a clamp at L + 1 instead of L - 1: it "
                                                                           "never binds, as 1 + ⌊u·(L - 1)⌋ ≤ L - 1 "
                                                                           "for every float32 u < 1 (checked for "
                                                                           "L - 1 < 2²⁰)",
    "recipes.stylegan_lite.recipe.xǁStyleGANLiteǁnoise__mutmut_13": "image_shape[1] for image_shape[0]: StyleGAN-lite "
                                                                    "takes square images only (checked in its "
                                                                    "constructor)",
    **{f"recipes.biggan_lite.xǁBigGANLiteǁ{name}__mutmut_1": "default ψ = 2.0 for 1.0: every ψ ≥ 1 is no truncation "
       "(truncated_normal returns z where ψ ≥ 1)" for name in ("interpolate", "generate_truncated")},
    **{f"recipes.biggan_lite.xǁBigGANLiteǁinterpolate__mutmut_{n}": "the default labels as float64 zeros: "
       "generate_truncated casts the labels to int32, 0" for n in (13, 15)},
    **{f"recipes.biggan_lite.xǁBigGANLiteǁinterpolate__mutmut_{n}": "the labels left in their dtype: generate_truncated "
       "casts them to int32, truncating floats toward zero as np.asarray(..., np.int32) does" for n in (18, 20)},
    **{f"recipes.biggan_lite.xǁBigGANLiteǁgenerate_truncated__mutmut_{n}": "the sampling generator called with "
       "training=None or without it: outside any layer's call Keras takes the layers' defaults, inference (checked: "
       "the same images and no variable changed, with sync batch norm and attention; training=True differs)"
       for n in (4, 6)},
    **{f"recipes.began.xǁAutoencoderGANǁautoencode__mutmut_{n}": "the autoencoder called with training=None, False or "
       "without it: no layer of build_autoencoder reads `training` (convolutions, dense, reshape, upsampling, ELU)"
       for n in (5, 7, 8)},
    **{f"recipes.sagan.x_attention_map__mutmut_{n}": "the features' model called with training=None or without it: "
       "outside any layer's call Keras takes the layers' defaults, inference (checked: the same β and no variable "
       "changed, test_attention_map_reads_the_attention_layer_of_either_network)" for n in (7, 9)},
    **{name: 'ops.cast(…, None) or ops.eye(…) without a dtype: None is Keras\'s floatx, "float32" (nothing in the '
       'zoo sets another floatx)' for name in ("recipes.layers.x_orthogonal_penalty__mutmut_7",
                                               "recipes.layers.x_orthogonal_penalty__mutmut_28",
                                               "recipes.layers.x_orthogonal_penalty__mutmut_30",
                                               "recipes.layers.xǁSelfAttentionǁattend__mutmut_41")},
    "recipes.layers.xǁSelfAttentionǁattend__mutmut_31": 'einsum "BJC,BIC->BJI" for "bjc,bic->bji": the same '
                                                        "contraction (checked: equal in TensorFlow to the bit, and "
                                                        "tf2onnx 1.17 makes the same ONNX graph)",
    "recipes.latents.x__erfinv__mutmut_34": "w <= 5 for w < 5: at w = 5 exactly both of Giles's polynomials give erfinv "
                                            "to single precision (measured: relative error ≤ 2.5e-7 on each side)",
}
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "untested", 33: "untested", 36: "timeout", 24: "timeout",
          -24: "timeout", 152: "timeout", 255: "timeout", None: "not run"}
MUTMUT_CONFIG = """
[tool.mutmut]
source_paths = ["recipes", "zoo"]
only_mutate = {files}
also_copy = ["hub_export"]
pytest_add_cli_args_test_selection = {tests}
process_isolation = "forkserver"
forkserver_warmup = "import"  # not "collect": collecting runs TensorFlow ops, and a worker forked from a process
preload_modules_file = "mutmut_preload.txt"  # with TensorFlow's thread pools waits forever for their threads
"""
PRELOAD = ["tensorflow", "keras", "numpy", "scipy", "scipy.linalg", "hypothesis", "PIL.Image"]  # imports run no ops
# A forked worker that inherited a lock held by another thread of the fork server waits forever using
# no CPU, and mutmut's timeout counts CPU time: such a worker is killed and its mutant run again.
HUNG_SECONDS = 90
HUNG = -9  # the exit code mutmut records for a worker killed so


def functions(tree):
    """(qualified name, node) of the module's functions and methods."""
    for node in tree.body:
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        for item in members:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield (f"{node.name}.{item.name}" if item is not node else item.name), item


def leave_out_of_scope(path, chosen):
    """Fence every function of `path` not in `chosen` with no-mutate pragmas: mutmut then neither
    mutates nor wraps it."""
    with open(path) as file:
        lines = file.read().split("\n")
    tree = ast.parse("\n".join(lines))
    last_statements = {id(body[-1]) for body in [tree.body] + [node.body for node in tree.body
                                                                 if isinstance(node, ast.ClassDef)]}
    spans = [(name, min([node.lineno] + [decorator.lineno for decorator in node.decorator_list]), node.end_lineno,
              id(node) in last_statements) for name, node in functions(tree)]
    missing = sorted(set(chosen) - {name for name, _, _, _ in spans})
    if missing:
        sys.exit(f"{path}: no function(s) {missing}; update SCOPES in {__file__}")
    for name, first, last, ends_body in sorted(spans, key=lambda span: -span[1]):  # bottom up: lines stay valid
        if name not in chosen:
            indent = lines[first - 1][:len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            if ends_body:  # mutmut reads a pragma only in a statement's leading lines, not in a body's footer
                lines.insert(last, f"{indent}pass")
            lines.insert(last, f"{indent}# pragma: no mutate end")
            lines.insert(first - 1, f"{indent}# pragma: no mutate start")
    with open(path, "w") as file:
        file.write("\n".join(lines))


def copy_working_tree(destination, scope_files, keep_results=False):
    """The repository's tracked and untracked (not ignored) files, as they are now, into `destination`,
    with the mutmut configuration and the out-of-scope functions fenced off. `keep_results` keeps the
    mutants/ and the test statistics of an earlier run there (mutmut reruns what changed)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    if keep_results:  # tests deleted or renamed since must not stay behind (mutmut only adds files)
        for tests in ("tests", os.path.join("mutants", "tests")):
            shutil.rmtree(os.path.join(destination, tests), ignore_errors=True)
    else:
        shutil.rmtree(destination, ignore_errors=True)
    for name in filter(None, files):
        source = os.path.join(REPO, name)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(os.path.join(destination, name)), exist_ok=True)
            shutil.copy2(source, os.path.join(destination, name))
    for path, chosen in scope_files.items():
        if chosen is not EVERY_FUNCTION:
            leave_out_of_scope(os.path.join(destination, path), chosen)
    with open(os.path.join(destination, "mutmut_preload.txt"), "w") as preload:
        preload.write("\n".join(PRELOAD) + "\n")
    with open(os.path.join(destination, "pyproject.toml"), "a") as config:
        config.write(MUTMUT_CONFIG.format(files=json.dumps(sorted(scope_files)), tests=json.dumps(TESTS)))


def process_table():
    """{pid: (parent pid, threads, CPU ticks)} of every process."""
    table = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(pid)] = (int(fields[1]), int(fields[17]), int(fields[11]) + int(fields[12]))
    return table


def run_mutmut(command, workdir, poll_seconds=10):
    """Run mutmut, killing workers that hang (see HUNG_SECONDS) and putting its results on record every
    SAVE_EVERY_SECONDS and at the end, however it ends."""
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL)
    idle_since = {}  # pid -> (CPU ticks, when they last changed)
    saved = time.time()
    try:
        while process.poll() is None:
            time.sleep(poll_seconds)
            table, now = process_table(), time.time()
            if now - saved > SAVE_EVERY_SECONDS:
                save_results_or_warn(workdir)
                saved = now
            for pid, (parent, threads, ticks) in table.items():
                is_worker = threads == 1 and table.get(parent, (0, 1, 0))[1] > 1 and descends(table, pid, process.pid)
                if not is_worker:
                    continue
                if idle_since.get(pid, (None,))[0] != ticks:
                    idle_since[pid] = (ticks, now)
                elif now - idle_since[pid][1] > HUNG_SECONDS:
                    os.kill(pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()
        save_results_or_warn(workdir)


def save_results_or_warn(workdir):
    try:
        save_results(workdir)
    except (OSError, ValueError) as error:  # e.g. a record mutmut was writing: the next save takes it
        print(f"could not put the results of {workdir} on record: {error}", file=sys.stderr)


def remove_if_present(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def descends(table, pid, ancestor):
    while pid in table and pid != ancestor:
        pid = table[pid][0]
    return pid == ancestor


def meta_files(workdir):
    """{source path relative to the tree: its mutmut record (.meta)} in `workdir`."""
    mutants = os.path.join(workdir, "mutants")
    found = {}
    for root, _, names in os.walk(mutants):
        for name in (name for name in names if name.endswith(".py.meta")):
            found[os.path.relpath(os.path.join(root, name[:-len(".meta")]), mutants)] = os.path.join(root, name)
    return found


def read_meta(path, attempts=5):
    """A mutmut record, read again if mutmut was writing it at that moment."""
    for attempt in range(attempts):
        try:
            with open(path, encoding="utf-8") as file:
                return json.load(file)
        except json.JSONDecodeError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def results(workdir):
    """{mutant name: exit code (None: not run yet)} over every mutated file's record in `workdir`."""
    codes = {}
    for meta in meta_files(workdir).values():
        codes.update(read_meta(meta)["exit_code_by_key"])
    return codes


# --- the record (RESULTS) -------------------------------------------------------------------------
def versions():
    """What a verdict depends on besides the source and the tests: mutmut numbers the mutants, and the
    hash of a function is over Python's `ast.dump`, which differs between Python versions."""
    try:
        mutmut = importlib.metadata.version("mutmut")
    except importlib.metadata.PackageNotFoundError:
        mutmut = "not installed"
    return {"mutmut": mutmut, "python": "%d.%d" % sys.version_info[:2]}


def mangled(name):
    """mutmut's key of a function: "f" → "x_f", "Class.method" → "xǁClassǁmethod"."""
    return "xǁ" + name.replace(".", "ǁ") if "." in name else "x_" + name


def source_hashes(path):
    """{key: hash} of the functions of `path` (relative to the repository) as it is now: mutmut's hash,
    the first 12 hex digits of sha256(ast.dump(function, annotate_fields=False))."""
    with open(os.path.join(REPO, path), encoding="utf-8") as file:
        tree = ast.parse(file.read())
    return {mangled(name): hashlib.sha256(ast.dump(node, annotate_fields=False).encode()).hexdigest()[:12]
            for name, node in functions(tree)}


def key_of(mutant):
    """"recipes.base.xǁGANǁupdate__mutmut_3" → "xǁGANǁupdate"."""
    return mutant.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]


def read_record():
    """{"versions": …, "files": {path: {"hash_by_function_name", "exit_code_by_key"}}} in RESULTS."""
    if not os.path.exists(RESULTS):
        return {"versions": versions(), "files": {}}
    with open(RESULTS, encoding="utf-8") as file:
        return json.load(file)


def merged(on_record, measured, current):
    """One file's record after a run measured `measured` (mutmut's record of it), function by function:
    where both hold the same version of a function, what was measured, keeping the record's verdicts
    the run did not reach (an interrupted --rerun-survivors cleared them); otherwise the version that is
    the current source's (`current`: key → hash), else the newer."""
    hashes, codes = {}, {}
    for key in set(on_record["hash_by_function_name"]) | set(measured["hash_by_function_name"]):
        old, new = on_record["hash_by_function_name"].get(key), measured["hash_by_function_name"].get(key)
        take_old = new is None or (old is not None and old != new and old == current.get(key))
        hashes[key] = old if take_old else new
        old_codes = {m: c for m, c in on_record["exit_code_by_key"].items() if key_of(m) == key}
        new_codes = {m: c for m, c in measured["exit_code_by_key"].items() if key_of(m) == key}
        if take_old:
            codes.update(old_codes)
        elif old == new:
            codes.update({m: c if c is not None else old_codes.get(m) for m, c in new_codes.items()})
        else:
            codes.update(new_codes)
    return {"hash_by_function_name": hashes, "exit_code_by_key": codes}


def save_results(workdir):
    """Put what `workdir` measured on record in RESULTS (under a lock: runs of other scopes may save
    too). A record made with other versions (see `versions`) is replaced, not mixed."""
    with open(os.path.join(tempfile.gettempdir(), "gan_zoo_mutation_record.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = read_record()
        if record["versions"] != versions():
            record = {"versions": versions(), "files": {}}
        empty = {"hash_by_function_name": {}, "exit_code_by_key": {}}
        for path, meta in meta_files(workdir).items():
            record["files"][path] = merged(record["files"].get(path, empty), read_meta(meta), source_hashes(path))
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(RESULTS), suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(record, file, indent=1, sort_keys=True, ensure_ascii=False)
            file.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, RESULTS)


def start_from_record(workdir, scope_files):
    """Give `workdir` the killed verdicts on record for those of `scope_files` it has no record of, as
    mutmut's own records: mutmut keeps them for the functions whose hash is unchanged. Survivors,
    timeouts and untested mutants run again, with the tests as they are now."""
    record, have = read_record(), meta_files(workdir)
    if record["files"] and record["versions"] != versions():
        print(f"the record in {RESULTS} was made with {record['versions']}, not {versions()}: running every mutant")
        return
    for path in set(scope_files) & set(record["files"]) - set(have):
        on_record = record["files"][path]
        meta = os.path.join(workdir, "mutants", path + ".meta")
        os.makedirs(os.path.dirname(meta), exist_ok=True)
        with open(meta, "w", encoding="utf-8") as file:
            json.dump({"hash_by_function_name": on_record["hash_by_function_name"],
                       "exit_code_by_key": {m: c if STATUS.get(c) == "killed" else None
                                            for m, c in on_record["exit_code_by_key"].items()},
                       "type_check_error_by_key": {}, "durations_by_key": {}, "estimated_durations_by_key": {}},
                      file, ensure_ascii=False)


def results_on_record(files):
    """{mutant name: exit code} on record for `files`; None (not run) where the function has changed since."""
    codes = {}
    for path, on_record in read_record()["files"].items():
        if path in files:
            current = source_hashes(path)
            codes.update({m: c if on_record["hash_by_function_name"].get(key_of(m)) == current.get(key_of(m))
                          else None for m, c in on_record["exit_code_by_key"].items()})
    return codes


def module_of(mutant):
    return mutant.split(".x")[0]


def function_of(mutant):
    """"pkg.mod.x_name__mutmut_3" → "name"; "pkg.mod.xǁClassǁmethod__mutmut_3" → "Class.method"."""
    name = mutant[len(module_of(mutant)) + 1:].rsplit("__mutmut_", 1)[0]
    return ".".join(name.split("ǁ")[1:]) if name.startswith("xǁ") else name[2:]


def in_scope(files):
    """{module: the functions of `files` in scope now}: a run's mutants of functions since dropped from
    SCOPES, or deleted from the source, are not counted."""
    scope = {}
    for path, chosen in files.items():
        with open(os.path.join(REPO, path)) as source:
            present = {name for name, _ in functions(ast.parse(source.read()))}
        scope[path[:-3].replace("/", ".")] = present if chosen is EVERY_FUNCTION else present & set(chosen)
    return scope


def table(codes, files):
    """Rows (module, mutants, killed, timeout, survived, equivalent, untested, not run, score) and the
    survivors and equivalent survivors of the mutants in `files`. The score is (killed + timeout) /
    (mutants - equivalent - not run), marked partial while some have not run."""
    scope = in_scope(files)
    counts, survivors, equivalent = collections.defaultdict(collections.Counter), [], []
    for mutant, code in sorted(codes.items()):
        if not in_scope_mutant(mutant, scope):
            continue
        status = STATUS.get(code, "suspicious")
        if status == "survived" and mutant in EQUIVALENT:
            status = "equivalent"
            equivalent.append(mutant)
        elif status == "survived":
            survivors.append(mutant)
        counts[module_of(mutant)][status] += 1
    rows = [(module, sum(count.values()), count["killed"], count["timeout"], count["survived"], count["equivalent"],
             count["untested"] + count["suspicious"], count["not run"]) for module, count in sorted(counts.items())]
    return [row + (score(row),) for row in rows], survivors, equivalent


def score(row):
    _, total, killed, timeout, _, equivalent, _, not_run = row
    scored = total - equivalent - not_run
    return (f"{100 * (killed + timeout) / scored:.1f}%" if scored else "–") + (" (partial)" if not_run else "")


def in_scope_mutant(name, scope):
    return function_of(name) in scope.get(module_of(name), ())


def forget(workdir, statuses):
    """Clear the recorded result of every in-scope, non-equivalent mutant with one of `statuses`, so that a
    plain `mutmut run` runs them again (with the tests as they are now); the names cleared."""
    forgotten = []
    for meta in meta_files(workdir).values():
        record = read_meta(meta)
        again = [mutant for mutant, code in record["exit_code_by_key"].items()
                 if STATUS.get(code) in statuses and mutant not in EQUIVALENT]
        record["exit_code_by_key"].update(dict.fromkeys(again))
        with open(meta, "w") as file:
            json.dump(record, file)
        forgotten += again
    return forgotten


def print_table(title, rows):
    header = ("module", "mutants", "killed", "timeout", "survived", "equivalent", "untested", "not run", "score")
    print(f"\n{title}\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    if len(rows) > 1:
        totals = ("all",) + tuple(sum(row[i] for row in rows) for i in range(1, 8))
        print("| " + " | ".join(map(str, totals)) + f" | {score(totals)} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scope", default="losses,train_steps,metrics", help=f"comma-separated of {sorted(SCOPES)}")
    parser.add_argument("--workdir", default=os.path.join("/tmp", "gan_zoo_mutation"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--resume", action="store_true", help="go on with the mutants --workdir has not run yet")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="copy the tree into --workdir again (tests added since) and rerun its survivors, "
                             "timeouts (on busy cores a timeout may be the cores') and untested mutants")
    parser.add_argument("--report-only", action="store_true", help="print the tables of the results on record")
    args = parser.parse_args()
    scopes = args.scope.split(",")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        sys.exit(f"unknown scope(s) {unknown}; choose from {sorted(SCOPES)}")
    scope_files = {path: chosen for scope in scopes for path, chosen in SCOPES[scope].items()}
    mutmut = shutil.which("mutmut")
    if not args.report_only:
        if mutmut is None:
            sys.exit(f'mutmut is not installed: pip install "mutmut=={MUTMUT_VERSION}"')
        if args.rerun_survivors:
            copy_working_tree(args.workdir, scope_files, keep_results=True)
            # mutmut maps tests to the functions they reach again only for changed tests: a function added
            # since would miss the unchanged tests that reach it (seen with GAN.track). Map them all again.
            remove_if_present(os.path.join(args.workdir, "mutants", "mutmut-stats.json"))
            start_from_record(args.workdir, scope_files)  # the files this workdir has not run (another machine's)
            forgotten = forget(args.workdir, ("survived", "timeout", "untested"))
            if not forgotten and None not in results(args.workdir).values():
                sys.exit(f"no survivor, timeout, untested or unrun mutant in {args.workdir} to run")
        elif not args.resume:
            copy_working_tree(args.workdir, scope_files)
            start_from_record(args.workdir, scope_files)
        run_mutmut([mutmut, "run", "--max-children", str(args.jobs)], args.workdir)
        hung = sorted(name for name, code in results(args.workdir).items() if code == HUNG)
        if hung:
            run_mutmut([mutmut, "run", "--max-children", str(args.jobs), *hung], args.workdir)
    record, mutated = read_record(), results(args.workdir)
    print(f"results on record in {os.path.relpath(RESULTS, REPO)} (made with {record['versions']})")
    for scope in scopes:
        rows, survivors, equivalent = table(results_on_record(SCOPES[scope]), SCOPES[scope])
        print_table(f"Mutation score: {scope}", rows)
        for mutant in survivors:
            diff = subprocess.run([mutmut or "mutmut", "show", mutant], cwd=args.workdir, capture_output=True,
                                  text=True).stdout if mutant in mutated else "(its diff: mutmut show, in a run's --workdir)"
            print(f"\nsurvived: {mutant}\n{diff.strip()}")
        for mutant in equivalent:
            print(f"equivalent: {mutant}: {EQUIVALENT[mutant]}")

if __name__ == "__main__":
    main()
