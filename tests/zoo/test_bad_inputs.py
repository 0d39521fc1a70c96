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
    return {"dir": str(tmp_path), "png": str(tmp_path / "mine.png"), "tflite": str(tmp_path / "mine.tflite"),
            "folder": str(tmp_path / "folder"), "under_file": str(tmp_path / "mine.png" / "x.png")}


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
])
def test_cli_refuses_with_one_line_and_touches_nothing(argv, message, tmp_path, capsys):
    paths = workspace(tmp_path)
    before = {name: sorted(files) for name, _, files in os.walk(tmp_path)}
    assert cli.main([part.format(**paths) for part in argv]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("gan-zoo: error: ") and "\n" not in error and message.format(**paths) in error, error
    assert {name: sorted(files) for name, _, files in os.walk(tmp_path)} == before  # nothing created
    for path in (paths["png"], paths["tflite"], os.path.join(paths["folder"], "000000.png")):
        assert open(path, "rb").read() == EXISTING  # nothing overwritten


def test_overwrite_replaces_the_file(tmp_path, capsys):
    paths = workspace(tmp_path)
    assert cli.main(["sample", "dcgan_fashion_mnist_28", "--num", "4", "--out", paths["png"], "--overwrite"]) == 0
    assert open(paths["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
