"""benchmarks/machine.py's FLOP count: TensorFlow's graph profiler, with batched matmuls counted from their shapes."""
import os
import sys

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import machine  # noqa: E402


def test_batched_matmuls_are_counted_with_their_adjoints():
    """[2, 5, 3]ᵀ · [2, 5, 4] (adjoint a): 2 batches × 3 × 4 outputs × 5 multiply-adds × 2 = 240 FLOPs; the same
    product written without adjoint, [2, 3, 5] · [2, 5, 4], also 240; and a plain [6, 7] · [7, 2] matmul 168."""
    a, b = tf.TensorSpec((2, 5, 3)), tf.TensorSpec((2, 5, 4))
    adjoint = tf.function(lambda x, y: tf.linalg.matmul(x, y, adjoint_a=True)).get_concrete_function(a, b)
    transposed = tf.function(tf.linalg.matmul).get_concrete_function(tf.TensorSpec((2, 3, 5)), b)
    plain = tf.function(tf.linalg.matmul).get_concrete_function(tf.TensorSpec((6, 7)), tf.TensorSpec((7, 2)))

    assert machine.graph_flops(adjoint.graph) == 240
    assert machine.graph_flops(transposed.graph) == 240
    assert machine.graph_flops(plain.graph) == 168
