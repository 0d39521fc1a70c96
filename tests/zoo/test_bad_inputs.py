"""Bad input across the CLI: one line that says what was wrong and what is accepted, exit status 2,
and nothing lost or left behind (issue 17's table; it grows with every defect found)."""
import os

import pytest

from hub_export import cli

EXISTING = b"the user's file"


def workspace(tmp_path):
    """A file the user cares about, a folder with a PNG in it, and paths under them."""
    (tmp_path / "mine.png").write_bytes(EXISTING)
    (tmp_path / "mine.tflite").write_bytes(EXISTING)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "000000.png").write_bytes(EXISTING)
    (tmp_path / "models" / "m" / "1").mkdir(parents=True)
    (tmp_path / "models" / "m" / "1" / "saved_model.pb").write_bytes(b"\x08\x01\x12 not a SavedModel")
    return {"dir": str(tmp_path), "png": str(tmp_path / "mine.png"), "tflite": str(tmp_path / "mine.tflite"),
            "folder": str(tmp_path / "folder"), "under_file": str(tmp_path / "mine.png" / "x.png"),
            "models": str(tmp_path / "models"), "run": str(tmp_path / "run")}


@pytest.mark.parametrize("argv, message", [
    (["sample", "dcgan_fashion_mnist_28", "--out", "{png}"], "--out {png} exists; pass --overwrite to replace it"),
    (["sample", "dcgan_fashion_mnist_28", "--out", "{folder}"], "--out {folder} is a directory; pass a file path"),
    (["sample", "dcgan_fashion_mnist_28", "--format", "folder", "--out", "{folder}"],
     "--out {folder} already holds PNG files; pass --overwrite to replace them"),
    (["sample", "dcgan_fashion_mnist_28", "--format", "folder", "--out", "{png}"],
     "--out {png} is a file; pass a directory"),
    (["sample", "dcgan_fashion_mnist_28", "--out", "{under_file}"], "cannot write under {png} (permission denied or "
                                                                    "not a directory)"),
    (["export", "dcgan_fashion_mnist_28", "--format", "tflite", "--out", "{tflite}"],
     "--out {tflite} exists; pass --overwrite to replace it"),
    (["export", "dcgan_fashion_mnist_28", "--format", "saved_model", "--out", "{png}"],
     "--out {png} is a file; pass a directory"),
    (["train", "dcgan", "--out", "{png}", "--quiet"], "--out {png} is a file; pass a directory"),
    (["train", "dcgan", "--out", "{under_file}", "--quiet"], "cannot write under {png}"),
    (["train", "dcgan", "--set", "beta_1=2", "--out", "{run}", "--quiet"],
     "Optimizer setting beta_1=2 must be a number in [0, 1)"),
    (["train", "dcgan", "--set", "g_lr=-0.001", "--out", "{run}", "--quiet"],
     "Optimizer setting g_lr=-0.001 must be a finite number ≥ 0"),
    (["train", "dcgan", "--set", "loss=wasserstein_gp", "--set", "discriminator_norm=layer", "--set", "penalty_weight=-1",
      "--out", "{run}", "--quiet"], "`penalty_weight` must be a finite number ≥ 0. Received: penalty_weight=-1"),
    (["train", "wgan_gp", "--set", "gp_weight=-10", "--out", "{run}", "--quiet"], "`gp_weight` must be a finite number ≥ 0"),
    (["train", "dcgan", "--batch-size", "100000000", "--out", "{run}", "--quiet"],
     "--batch-size: one step's 100000000 real images of shape (28, 28, 1) would take 292.1 GiB (at most 2 GiB)"),
    (["evaluate", "dcgan_fashion_mnist_28", "--num-samples", "3", "--out", "{dir}/e.json"],
     "--num-samples 3 is too few for precision_recall: it needs at least 4 (the k-th nearest neighbour, k = 3)"),
    (["evaluate", "dcgan_fashion_mnist_28", "--seeds", "0", "--out", "{dir}/e.json"], "--seeds must be an integer ≥ 1"),
    (["sample", "dcgan_fashion_mnist_28", "--num", "100000000", "--out", "{dir}/g.png"],
     "--num 100000000: a grid holds at most 10000 images; pass --format folder"),
    (["serve", "{models}", "--port", "1"], "cannot load the SavedModel in {models}/m/1 (Cannot parse file"),
    (["evaluate", "{models}/m/1", "--out", "{dir}/e.json"], "cannot load the SavedModel in {models}/m/1"),
])
def test_cli_refuses_with_one_line_and_touches_nothing(argv, message, tmp_path, capsys):
    paths = workspace(tmp_path)
    before = {name: sorted(files) for name, _, files in os.walk(tmp_path)}
    assert cli.main([part.format(**paths) for part in argv]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gan-zoo: error: ") and "\n" not in error and message.format(**paths) in error, error
    assert {name: sorted(files) for name, _, files in os.walk(tmp_path)} == before  # nothing created (no run.json
    # left to lock --out against a rerun with sane settings)
    for path in (paths["png"], paths["tflite"], os.path.join(paths["folder"], "000000.png")):
        assert open(path, "rb").read() == EXISTING  # nothing overwritten


def test_overwrite_replaces_the_file(tmp_path, capsys):
    paths = workspace(tmp_path)
    assert cli.main(["sample", "dcgan_fashion_mnist_28", "--num", "4", "--out", paths["png"], "--overwrite"]) == 0
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_long_folder_sample_shows_progress(tmp_path, capsys, monkeypatch):
    from zoo import cli as zoo_cli

    monkeypatch.setattr(zoo_cli, "PROGRESS_SECONDS", 0.0)
    assert cli.main(["sample", "dcgan_fashion_mnist_28", "--num", "1200", "--format", "folder",
                     "--out", str(tmp_path / "many")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines if "PNG files written" in line] == [
        "500/1200 PNG files written", "1000/1200 PNG files written"]
    assert len(os.listdir(tmp_path / "many")) == 1200


PEAK_RSS_SCRIPT = """
import resource, sys
import zoo
g = zoo.load("cgan_fashion_mnist_28")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
chunks = g.sample_chunks(10**9, labels=[1, 2])
for _ in range(3):
    next(chunks)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)  # MiB
"""


def test_sampling_a_billion_images_in_chunks_keeps_peak_memory_flat():
    """Labels are made per chunk: 10⁹ labels up front would be 4 GB (peak RSS, in a subprocess)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) < 1024, result.stdout  # measured 173 MiB; up front: 15 GiB
