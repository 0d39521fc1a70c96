"""One output policy for every command that writes (issue 30): an existing target is refused unless
--overwrite, before the work and again at the rename (one that appeared meanwhile is not replaced); a FIFO
or device is never written to nor replaced; the output is written beside and renamed in (a kill before the
rename, or at any step of a directory's swap, leaves the old one whole, and nothing else behind; what a
killed command left is settled by the next one); a directory output is replaced whole, and never through a
symbolic link. Plus the TF Serving version an export claims, and `cards`."""
import errno
import os
import signal
import stat
import subprocess
import sys

import pytest
from PIL import Image

import zoo
from hub_export import cli, saved_model
from zoo import files
from zoo.errors import UserError

from idx import write_fashion_mnist_subset

EXISTING = b"the user's file"
PRESET = "dcgan_fashion_mnist_28"

# (command, kind of output, the output's path under tmp_path, argv); {target} is that path
COMMANDS = [
    ("sample", "file", "grid.png", ["sample", PRESET, "--num", "4", "--out", "{target}"]),
    ("sample --format folder", "dir", "folder", ["sample", PRESET, "--num", "3", "--format", "folder",
                                                 "--out", "{target}"]),
    ("interpolate", "file", "walk.gif", ["interpolate", PRESET, "--seeds", "1,2", "--steps", "2", "--out", "{target}"]),
    ("style-mix", "file", "mix.png", ["style-mix", "stylegan_lite_fashion_mnist_32", "--rows", "0", "--columns", "1",
                                      "--out", "{target}"]),
    ("project", "dir", "projection", ["project", PRESET, "{picture}", "--steps", "2", "--frames", "2",
                                      "--out", "{target}"]),
    ("evaluate --out", "file", "eval.json", ["evaluate", PRESET, "--num-samples", "50", "--seeds", "1", "--metrics",
                                             "fid", "--no-untrained-baseline", "--out", "{target}"]),
    ("evaluate --plot", "file", "fid.png", ["evaluate", "stylegan_lite_fashion_mnist_32", "--num-samples", "50",
                                            "--seeds", "1", "--metrics", "fid", "--no-untrained-baseline",
                                            "--truncation", "0.7,1.0", "--plot", "{target}"]),
    ("memorization", "dir", "memorization", ["memorization", PRESET, "--num-samples", "1000", "--data-dir", "{fashion}",
                                             "--out", "{target}"]),
    ("make-preset", "dir", "presets/tiny", ["make-preset", "{run}", "--name", "tiny", "--out", "{tmp}/presets"]),
    ("train-evaluator", "dir", "evaluator", ["train-evaluator", "--epochs", "1", "--out", "{target}"]),
    ("export tflite", "file", "g.tflite", ["export", PRESET, "--format", "tflite", "--out", "{target}"]),
    ("export onnx", "file", "g.onnx", ["export", PRESET, "--format", "onnx", "--out", "{target}"]),
    ("export hub", "dir", "hub", ["export", PRESET, "--format", "hub", "--out", "{target}"]),
    ("export saved_model --version", "dir", "models/g/3", ["export", PRESET, "--out", "{tmp}/models", "--name", "g",
                                                            "--version", "3"]),
]
IDS = [row[0] for row in COMMANDS]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """What the commands read: a picture to project, a tiny finished run, a small Fashion-MNIST data_dir."""
    from zoo.train.config import TrainConfig
    from zoo.train.loop import train

    root = tmp_path_factory.mktemp("inputs")
    picture = root / "shirt.png"
    Image.fromarray(zoo.load(PRESET).sample_seeds([5])[0, :, :, 0]).save(picture)
    train(TrainConfig(recipe="dcgan", out=str(root / "run"), steps=1, batch_size=8, sample_every=100, verbose=0,
                      recipe_args={"width": 8, "latent_dim": 8}, dataset="triangles"))
    fashion = write_fashion_mnist_subset(root / "fashion", 2000, 1000)
    return {"picture": str(picture), "run": str(root / "run"), "fashion": str(fashion)}


def command_line(argv, tmp_path, target, inputs, *extra):
    return [part.format(target=target, tmp=tmp_path, **inputs) for part in argv] + list(extra)


def make_existing(target, kind):
    """The user's existing output: a file, or a directory holding one."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if kind == "file":
        with open(target, "wb") as handle:
            handle.write(EXISTING)
        return
    os.makedirs(target)
    with open(os.path.join(target, "mine.txt"), "wb") as handle:
        handle.write(EXISTING)


def unchanged(target, kind):
    path = target if kind == "file" else os.path.join(target, "mine.txt")
    return open(path, "rb").read() == EXISTING and (kind == "file" or os.listdir(target) == ["mine.txt"])


def leftovers(tmp_path):
    """Hidden names (our temporaries) anywhere under tmp_path."""
    return [os.path.join(root, name) for root, dirs, names in os.walk(tmp_path) for name in dirs + names
            if name.startswith(".")]


def one_line_error(capsys):
    error = capsys.readouterr().err.strip()
    assert error.startswith("gan-zoo: error: ") and "\n" not in error, error
    return error


@pytest.fixture
def fifo_deadline():
    """Writing into a FIFO blocks until a reader comes: a command that tried fails here after 60 s instead of
    hanging the suite."""
    def expired(signum, frame):
        raise TimeoutError("the command blocked on the FIFO (it opened it to write)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def no_work(monkeypatch):
    """Loading a model, a run or training an evaluator fails the test: a refusal must come before them."""
    from zoo import sampling
    from zoo.eval import classifier
    from zoo.presets import pretrained
    from zoo.train import run_directory

    def work(*args, **kwargs):
        raise AssertionError("the command started its work before checking its output")

    for module, name in ((pretrained, "load_generator"), (sampling, "load_target"),
                         (run_directory, "recipe_from_run"), (classifier, "train_evaluator")):
        monkeypatch.setattr(module, name, work)


@pytest.mark.parametrize("argv, kind, relative", [(argv, kind, relative) for _, kind, relative, argv in COMMANDS],
                         ids=IDS)
def test_an_existing_output_is_refused_before_the_work(argv, kind, relative, tmp_path, capsys, no_work):
    target = str(tmp_path / relative)
    make_existing(target, kind)
    inputs = {"picture": "p.png", "run": str(tmp_path / "run"), "fashion": "f"}
    assert cli.main(command_line(argv, tmp_path, target, inputs)) == 2
    error = one_line_error(capsys)
    expected = "exists; pass --overwrite to replace it" if kind == "file" else \
        "already holds TXT files; pass --overwrite to replace them (the directory is replaced whole)"
    assert target in error and expected in error, error
    assert unchanged(target, kind)


@pytest.mark.parametrize("argv, kind, relative", [(argv, kind, relative) for _, kind, relative, argv in COMMANDS],
                         ids=IDS)
def test_a_fifo_is_never_written_nor_replaced_even_with_overwrite(argv, kind, relative, tmp_path, capsys, no_work,
                                                                  fifo_deadline):
    """A FIFO stands for any non-regular file (as root, an --out naming a device node was replaced)."""
    target = str(tmp_path / relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.mkfifo(target)
    inputs = {"picture": "p.png", "run": str(tmp_path / "run"), "fashion": "f"}
    assert cli.main(command_line(argv, tmp_path, target, inputs, "--overwrite")) == 2
    error = one_line_error(capsys)
    assert f"{target} is a FIFO, not a regular file or directory" in error, error
    assert stat.S_ISFIFO(os.lstat(target).st_mode)


def counting_checks(patch, counted):
    """Count check_output's calls per path, in every module that calls it (the CLIs call files.check_output)."""
    from zoo.presets import packaging

    real = files.check_output

    def check_output(path, *args, **kwargs):
        counted.append(os.fspath(path))
        return real(path, *args, **kwargs)

    for module in (files, saved_model, packaging):
        patch.setattr(module, "check_output", check_output)


@pytest.mark.parametrize("name, kind, relative, argv", COMMANDS, ids=IDS)
def test_overwrite_replaces_the_output_whole_checked_once_and_a_kill_before_the_rename_leaves_the_old_one(
        name, kind, relative, argv, tmp_path, capsys, monkeypatch, inputs):
    """Killed at the last step: a file output's rename, or a directory output's swap (after every file in it
    was written)."""
    from zoo.eval import classifier

    def fake_evaluator_training(out, **kwargs):  # train-evaluator's 15 epochs are not what is tested here
        with open(os.path.join(out, classifier.WEIGHTS_FILE), "wb") as handle:
            handle.write(b"weights")
        return {"training": {}, "test_accuracy": 0.5, "sha256": "not checked here"}

    monkeypatch.setattr(classifier, "train_evaluator", fake_evaluator_training)
    target = str(tmp_path / relative)
    make_existing(target, kind)
    command = command_line(argv, tmp_path, target, inputs, "--overwrite")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:  # killed just before the output is renamed (swapped) in
        if kind == "file":
            patch.setattr(files, "replace_file", killed)
        for module in (files, saved_model) if kind == "dir" else ():
            patch.setattr(module, "replace_directory", killed)
        assert cli.main(command) == 130
    assert unchanged(target, kind)
    assert leftovers(tmp_path) == []
    capsys.readouterr()
    checked = []
    with monkeypatch.context() as patch:
        counting_checks(patch, checked)
        assert cli.main(command) == 0, capsys.readouterr().err
    assert checked.count(target) == 1, checked  # one check per command
    if kind == "file":
        assert os.path.isfile(target) and open(target, "rb").read() != EXISTING
    else:
        assert "mine.txt" not in os.listdir(target) and os.listdir(target)  # replaced whole, not added to
    assert leftovers(tmp_path) == []


def test_sample_folder_overwrite_leaves_only_the_new_files_and_counts_them(tmp_path, capsys):
    out = tmp_path / "folder"
    assert cli.main(["sample", PRESET, "--num", "5", "--format", "folder", "--out", str(out)]) == 0
    assert cli.main(["sample", PRESET, "--num", "2", "--format", "folder", "--out", str(out), "--overwrite"]) == 0
    assert sorted(os.listdir(out)) == ["000000.png", "000001.png"]
    assert capsys.readouterr().out.splitlines()[-1] == f"samples: 2 PNG files in {out}"


@pytest.mark.parametrize("argv", [
    ["train", "dcgan", "--quiet", "--out", "{fifo}"],
    ["finetune", PRESET, "--data", "triangles", "--steps", "1", "--out", "{fifo}"],
    ["study", "--losses", "hinge", "--out", "{fifo}"],
    ["export", PRESET, "--out", "{fifo}"],
], ids=["train", "finetune", "study", "export saved_model"])
def test_commands_working_in_a_directory_refuse_a_fifo(argv, tmp_path, capsys, fifo_deadline):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    assert cli.main([part.format(fifo=fifo) for part in argv]) == 2
    assert f"--out {fifo} is a FIFO, not a regular file or directory" in one_line_error(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["fifo"]


def test_write_atomically_never_replaces_a_non_regular_file_and_leaves_no_temporary(tmp_path, fifo_deadline):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match=f"{fifo} is a FIFO, not a regular file"):
        files.write_atomically(str(fifo), b"data")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["fifo"]
    files.write_atomically(str(tmp_path / "a.json"), "{}")
    assert sorted(os.listdir(tmp_path)) == ["a.json", "fifo"]


def test_a_directory_output_never_replaces_the_current_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "mine.txt").write_bytes(EXISTING)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sample", PRESET, "--num", "2", "--format", "folder", "--out", ".", "--overwrite"]) == 2
    assert "holds the current directory" in one_line_error(capsys)
    assert os.listdir(tmp_path) == ["mine.txt"]


def test_two_exports_of_one_name_claim_two_versions(tmp_path, monkeypatch):
    """The second export counted the versions before the first one finished (both saw version 1 free):
    the rename that claims a version fails for it, and it takes version 2; version 1 stays the first's."""
    generator = zoo.load(PRESET)
    first = saved_model.export_serving(generator, str(tmp_path), "g")
    assert first == str(tmp_path / "g" / "1")
    first_files = sorted(os.listdir(first))
    counted = iter([1])
    real_next_version = saved_model.next_version
    monkeypatch.setattr(saved_model, "next_version", lambda model_dir: next(counted, None) or real_next_version(model_dir))
    second = saved_model.export_serving(generator, str(tmp_path), "g")
    assert second == str(tmp_path / "g" / "2")
    assert sorted(os.listdir(first)) == first_files and sorted(os.listdir(tmp_path / "g")) == ["1", "2"]
    with pytest.raises(UserError, match=r"--version .*g/2 already holds files; pass --overwrite"):
        saved_model.export_serving(generator, str(tmp_path), "g", version=2)


def test_cards_regenerate_their_files_atomically_and_never_into_a_fifo(tmp_path, capsys, fifo_deadline):
    from zoo.presets import store

    first = store.list_models()[0]
    fifo = tmp_path / f"{first}.md"
    os.mkfifo(fifo)
    assert cli.main(["cards", "--out", str(tmp_path), "--readme", ""]) == 2
    assert f"{fifo} is a FIFO, not a regular file" in one_line_error(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


@pytest.mark.parametrize("marker", ["run.json", ".lock"])
def test_overwrite_never_replaces_a_training_run(tmp_path, capsys, marker):
    """A directory output is replaced whole, but never when it is a run directory (its checkpoints would go)."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / marker).write_text("{}")
    (run / "checkpoints" / "ckpt-1.index").write_bytes(EXISTING)
    assert cli.main(["sample", PRESET, "--num", "2", "--format", "folder", "--overwrite", "--out", str(run)]) == 2
    assert (f"--out {run} is a training run directory; outputs never replace a run: choose another --out"
            in capsys.readouterr().err)
    with pytest.raises(UserError, match="is a training run directory"):  # also at the swap, if it became one meanwhile
        (tmp_path / "new").mkdir()
        files.replace_directory(str(tmp_path / "new"), str(run))
    assert (run / "checkpoints" / "ckpt-1.index").read_bytes() == EXISTING


def write_new(temporary, kind):
    """The command's own output, in the temporary it was given."""
    with open(temporary if kind == "file" else os.path.join(temporary, "new.txt"), "wb") as handle:
        handle.write(b"new")


def no_hard_links(source, destination):
    raise OSError(errno.EPERM, "Operation not permitted")  # as link(2) on FAT


@pytest.mark.parametrize("hard_links", [True, False], ids=["hard links", "no hard links"])
@pytest.mark.parametrize("kind, appears, message", [
    ("file", "file", "exists; pass --overwrite to replace it"),
    ("file", "dir", "is a directory; pass a file path"),
    ("dir", "dir", "already holds TXT files; pass --overwrite to replace them"),
    ("dir", "file", "is a file; pass a directory"),
])
def test_the_rename_never_replaces_an_output_that_appeared_while_the_command_worked(
        kind, appears, message, hard_links, tmp_path, monkeypatch):
    """Checked free before the work, created by another process meanwhile: without --overwrite the last step
    is one that fails when the name is taken (it replaced it silently), the refusal is check_output's, and the
    temporary goes. On a filesystem without hard links too."""
    if not hard_links:
        monkeypatch.setattr(os, "link", no_hard_links)
    target = str(tmp_path / "out")
    output = files.check_output(target, False, kind)
    with pytest.raises(UserError, match=f"--out {target} {message}"):
        with files.atomic_output(output) as temporary:
            write_new(temporary, kind)
            make_existing(target, appears)
    assert unchanged(target, appears) and leftovers(tmp_path) == []


@pytest.mark.parametrize("hard_links", [True, False], ids=["hard links", "no hard links"])
@pytest.mark.parametrize("kind", ["file", "dir"])
def test_a_new_output_is_written_and_overwrite_replaces_one_that_appeared(kind, hard_links, tmp_path, monkeypatch):
    if not hard_links:
        monkeypatch.setattr(os, "link", no_hard_links)
    new, appeared = str(tmp_path / "new"), str(tmp_path / "appeared")
    with files.atomic_output(new, False, kind) as temporary:
        write_new(temporary, kind)
    with files.atomic_output(files.check_output(appeared, True, kind)) as temporary:
        write_new(temporary, kind)
        make_existing(appeared, kind)
    for path in (new, appeared):
        assert open(path if kind == "file" else os.path.join(path, "new.txt"), "rb").read() == b"new"
        assert kind == "file" or os.listdir(path) == ["new.txt"]
    assert leftovers(tmp_path) == []


def test_a_command_does_not_replace_an_output_created_while_it_worked(tmp_path, capsys, monkeypatch):
    """`gan-zoo sample` wrote its grid with an atomic write that replaced whatever was there by then."""
    from zoo.presets import packaging

    target = tmp_path / "grid.png"
    real_sample_grid = packaging.sample_grid

    def another_process_writes_meanwhile(*args, **kwargs):
        target.write_bytes(EXISTING)
        return real_sample_grid(*args, **kwargs)

    monkeypatch.setattr(packaging, "sample_grid", another_process_writes_meanwhile)
    assert cli.main(["sample", PRESET, "--num", "4", "--out", str(target)]) == 2
    assert one_line_error(capsys) == f"gan-zoo: error: --out {target} exists; pass --overwrite to replace it"
    assert target.read_bytes() == EXISTING and leftovers(tmp_path) == []


@pytest.mark.parametrize("step, swapped", [(0, False), (1, False), (2, True)],
                         ids=["at moving the old one aside", "old moved aside", "new moved in"])
def test_an_interrupted_directory_swap_loses_nothing(step, swapped, tmp_path, monkeypatch):
    """Interrupted at each step of replace_directory (Ctrl-C, a failing rename): the old directory is back
    whole, or the swap is complete; either way no leftover."""
    target = str(tmp_path / "out")
    make_existing(target, "dir")
    real_rename, renamed = os.rename, []

    def rename(source, destination):
        if step == 0:
            raise KeyboardInterrupt
        real_rename(source, destination)
        renamed.append(destination)
        if len(renamed) == step:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with files.atomic_output(target, True, "dir") as temporary:
            write_new(temporary, "dir")
            monkeypatch.setattr(os, "rename", rename)
    monkeypatch.undo()
    assert os.listdir(target) == ["new.txt"] if swapped else unchanged(target, "dir")
    assert leftovers(tmp_path) == []


KILLED = """
import os, sys
from zoo import files
path, kind, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
real_rename, renamed = os.rename, []
def rename(source, destination):
    real_rename(source, destination)
    renamed.append(destination)
    if len(renamed) == step:
        os._exit(9)
os.rename = rename
with files.atomic_output(path, True, kind) as temporary:
    with open(temporary if kind == "file" else os.path.join(temporary, "new.txt"), "w") as handle:
        handle.write("new")
    if step == 0:
        os._exit(9)
"""
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("kind, step, swapped", [("file", 0, False), ("dir", 0, False), ("dir", 1, False),
                                                  ("dir", 2, True)],
                         ids=["file, while writing", "dir, while writing", "dir, old moved aside", "dir, new moved in"])
def test_what_a_killed_command_left_is_settled_by_the_next_one(kind, step, swapped, tmp_path):
    """SIGKILL (no cleanup runs) while writing, or between the steps of a directory's swap: what it left is
    hidden beside the output; the next command writing that output puts a directory moved aside back (its
    output was missing), removes the rest, and checks what is there: nothing is lost."""
    target = str(tmp_path / "out")
    make_existing(target, kind)
    killed = subprocess.run([sys.executable, "-c", KILLED, target, kind, str(step)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr
    assert leftovers(tmp_path) and (os.path.exists(target) or step == 1)
    with pytest.raises(UserError, match="exists; pass --overwrite|already holds TXT files"):
        files.check_output(target, False, kind)
    assert os.listdir(target) == ["new.txt"] if swapped else unchanged(target, kind)
    assert leftovers(tmp_path) == []


def test_leftovers_of_a_running_command_another_machine_or_another_output_are_kept(tmp_path):
    """Only a writer that is gone has its leftovers settled: never a running process's (its pid is alive, even
    if reused), another machine's or container's (its pid means nothing here), nor another output's."""
    tag = files.machine_tag()
    elsewhere = "0" * 8 if tag != "0" * 8 else "1" * 8
    kept = [f".grid.png.tmp-{tag}-{os.getpid()}-0123abcd.png", f".grid.png.old-{elsewhere}-999999-0123abcd.png",
            f".other.png.tmp-{tag}-{os.getpid()}-0123abcd.png", ".grid.png.tmp-12345-0123abcd.png"]
    for name in kept:
        (tmp_path / name).write_bytes(b"partial")
    files.check_output(str(tmp_path / "grid.png"))
    assert sorted(os.listdir(tmp_path)) == sorted(kept)


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["", "--overwrite"])
def test_a_symbolic_link_is_never_a_directory_output(overwrite, tmp_path, capsys):
    """A directory output is replaced whole: through a link, the directory it points to would be; refused in
    one line (with --overwrite the link was replaced and left beside, hidden)."""
    elsewhere, link = tmp_path / "elsewhere", tmp_path / "link"
    make_existing(str(elsewhere), "dir")
    link.symlink_to(elsewhere)
    assert cli.main(["sample", PRESET, "--num", "2", "--format", "folder", "--out", str(link), *overwrite]) == 2
    assert (f"--out {link} is a symbolic link (to {elsewhere}); pass the directory itself or a new path: a directory "
            "output is replaced whole, never through a link") in one_line_error(capsys)
    assert os.path.islink(link) and unchanged(str(elsewhere), "dir") and leftovers(tmp_path) == []
    (tmp_path / "new").mkdir()
    with pytest.raises(UserError, match="is a symbolic link"):  # also at the swap, if it became one meanwhile
        files.replace_directory(str(tmp_path / "new"), str(link))
    assert os.path.islink(link) and unchanged(str(elsewhere), "dir")


def test_convert_replaces_a_file_only_when_asked(tmp_path):
    """A library caller of hub_export.convert gets the command's policy (its default replaced the file)."""
    from hub_export import convert

    target = tmp_path / "g.tflite"
    target.write_bytes(EXISTING)
    with pytest.raises(UserError, match=f"--out {target} exists; pass --overwrite to replace it"):
        convert.convert(None, str(target), "tflite")  # refused before the generator is used
    assert target.read_bytes() == EXISTING and leftovers(tmp_path) == []
