"""benchmarks/train_throughput.py's row of one recipe, measured in this process as its fresh child process does
(tiny: batch 8, one timed step), and the table row made from it."""
import importlib.util
import os
import sys

import pytest

import recipes

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def train_throughput_module():
    sys.path.insert(0, BENCHMARKS)  # the script imports its neighbours (baseline_dcgan, machine) by name
    spec = importlib.util.spec_from_file_location("train_throughput", os.path.join(BENCHMARKS, "train_throughput.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_recipe_row_on_the_path_training_takes_and_its_table_row():
    train_throughput = train_throughput_module()

    result = train_throughput.measure("dcgan", batch_size=8, steps=4, repeats=1)  # GAN_ZOO_XLA=0 (conftest)

    dcgan = recipes.DCGAN(image_shape=(28, 28, 1))
    assert result["params"] == {"g": dcgan.generator.count_params(), "d": dcgan.discriminator.count_params()}
    assert (result["path"], result["why"]) == ("graph", "GAN_ZOO_XLA=0: the graph in float32, nothing measured")
    assert result["shape"] == [28, 28, 1] and result["real_batches"] == 1 and not result["bfloat16"]
    assert result["step"] > 0 and result["flops"] > 0
    peaks = {"float32": 100.0, "bfloat16": 400.0}
    cells = train_throughput.table_row(result, 8, peaks, 4 / result["step"]).strip("| ").split(" | ")
    assert cells[7] == "2.00"  # images/s (8 / step) ÷ the baseline's (4 / step)
    gflops_per_second = result["flops"] / result["step"] / 1e9
    assert float(cells[9].rstrip("%")) == pytest.approx(gflops_per_second, abs=0.06)  # ÷ 100 GFLOP/s, in %
    bfloat16 = train_throughput.table_row({**result, "bfloat16": True}, 8, peaks, None).strip("| ").split(" | ")
    assert float(bfloat16[9].rstrip("%")) == pytest.approx(gflops_per_second / 4, abs=0.06)  # its own precision
    assert bfloat16[10] == cells[10]  # ÷ the float32 peak either way
