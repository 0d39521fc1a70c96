"""What the speed benchmarks say about the machine and the work: the header (CPU model and flags, native bfloat16,
cores, load, versions), the matmul peaks a step's FLOPs are compared with, and those FLOPs (for MFU, model FLOPs
utilization: FLOPs per step ÷ step time ÷ peak)."""
import os
import time

import tensorflow as tf

from zoo import provenance
from zoo.train import autotune


def load_average():
    """The 1, 5 and 15 minute load averages, e.g. "9.81, 10.02, 10.40" (or "unknown")."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def machine_header():
    """CPU model, vector flags, native bfloat16, cores and load, memory, versions (zoo.train.autotune and
    zoo.provenance)."""
    flags = autotune.cpu_flags()
    vector = sorted(flag for flag in flags if flag.startswith(("avx", "amx", "fma")))
    return (f"CPU: {autotune.cpu_model()}; {', '.join(vector) or 'no AVX flags'}; native bfloat16: "
            f"{autotune.native_bfloat16(flags)}; {autotune.usable_cores()} usable cores; "
            f"load average {load_average()}\n"
            f"Machine: {provenance.describe_machine(provenance.machine())}")


def matmul_peak_gflops(dtype=tf.float32, size=2048, repeats=10):
    """Best GFLOP/s of a size×size matmul (2·n³ FLOPs each) in `dtype`."""
    a, b = (tf.cast(tf.random.normal((size, size)), dtype) for _ in range(2))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y), tf.float32)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def matmul_peaks():
    """{"float32": GFLOP/s, "bfloat16": GFLOP/s}: the peaks MFU is measured against."""
    return {dtype.name: matmul_peak_gflops(dtype) for dtype in (tf.float32, tf.bfloat16)}


def step_flops(train_step, batch_spec):
    """FLOPs of one `train_step` traced on a batch of `batch_spec` (a TensorSpec or a structure of them, the
    batch size static), counted by TensorFlow's graph profiler."""
    return graph_flops(tf.function(train_step).get_concrete_function(batch_spec).graph)


BATCH_MATMULS = ("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


def graph_flops(graph):
    """Floating-point operations of a graph (MatMul, Conv2D and their gradients; elementwise ops not counted), by
    TensorFlow's graph profiler, with its batched matmuls counted again (batch_matmul_flops): it ignores their
    adjoint flags, so the gradient of a projection discriminator's [n, 1, k] · [n, k, 1] came out as k² per
    example."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = model_analyzer.profile(graph, options=options)
    operations = {operation.name: operation for operation in graph.get_operations()}
    total, nodes = profile.total_float_ops, list(profile.children)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        operation = operations.get(node.name)
        if operation is not None and operation.type in BATCH_MATMULS:
            total += batch_matmul_flops(operation) - node.float_ops
    return total


def batch_matmul_flops(operation):
    """2·k FLOPs (k multiply-adds) per output element of a batched matmul, k its inner dimension (adjoints
    honoured)."""
    a, output = operation.inputs[0].shape, operation.outputs[0].shape
    inner = a[-2] if operation.get_attr("adj_x") else a[-1]
    return 2 * output.num_elements() * inner
