"""gan-zoo starts fast and quiet: --help and list import no TensorFlow (each in a fresh process), the names --help
shows are the registered ones, and the README's sample command prints none of TensorFlow's C++ start-up lines."""
import os
import re
import shlex
import subprocess
import sys

import pytest

from zoo.cli import declared, quiet

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
TENSORFLOW_LINE = re.compile(r"oneDNN|cuda|absl|[IWE]0000|tensorflow/")


def gan_zoo(argv, cwd=None, python_options=()):
    """`gan-zoo argv` in a fresh process, with neither TensorFlow's log level nor gan-zoo's choice inherited."""
    env = {key: value for key, value in os.environ.items() if key not in (quiet.LOG_LEVEL, quiet.HIDDEN)}
    return subprocess.run([sys.executable, *python_options, "-m", "hub_export.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["train", "--help"], ["evaluate", "--help"],
                                  ["serve", "--help"], ["demo", "--help"]], ids=" ".join)
def test_help_and_list_import_no_tensorflow(argv):
    done = gan_zoo(argv, python_options=("-X", "importtime"))
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert done.returncode == 0 and done.stdout, done.stderr[-2000:]
    heavy = [name for name in imported if name.split(".")[0] in ("tensorflow", "keras")]
    assert heavy == [], f"gan-zoo {' '.join(argv)} imported {heavy[:5]}: see which of ours imports it in -X importtime"


def test_the_names_help_shows_are_the_registered_ones():
    import recipes
    from hub_export import demo, server
    from zoo.eval import metric_registry

    assert declared.recipe_names() == recipes.list_recipes()
    metrics = declared.metrics()
    assert list(metrics) == list(metric_registry.METRICS)
    assert tuple(name for name, default in metrics.items() if default) == metric_registry.DEFAULT_METRICS
    assert declared.constants("hub_export.demo")["DEFAULT_PORT"] == demo.DEFAULT_PORT
    limits = declared.constants("hub_export.server")
    for name in ("DEFAULT_MAX_BATCH", "DEFAULT_MAX_REQUEST_BYTES", "DEFAULT_MAX_PIXELS", "DEFAULT_TIMEOUT_SECONDS"):
        assert limits[name] == getattr(server, name), name


def test_the_store_lists_and_reads_cards_without_tensorflow():
    """`gan-zoo list` uses zoo.presets.store itself: listing and reading cards import no TensorFlow."""
    code = ("import sys; from zoo.presets import store; [store.card(n) for n in store.list_models()]; "
            "print('tensorflow' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


@pytest.mark.parametrize("verbose, user_level, inherited, hidden", [
    (False, None, None, True),  # a user's gan-zoo
    (True, None, None, False),
    (False, "0", None, False),  # the user's own TF_CPP_MIN_LOG_LEVEL asks for TensorFlow's lines
    (False, "3", None, True),  # ... or for fewer: they stay hidden (was: shown, found by review)
    (False, "2", "1", True),  # launch's worker of a quiet gan-zoo (it set the level itself)
    (False, None, "0", False),  # launch's worker of a gan-zoo --verbose
])
def test_tensorflow_lines_are_hidden_unless_asked(verbose, user_level, inherited, hidden, monkeypatch):
    for variable, value in ((quiet.LOG_LEVEL, user_level), (quiet.HIDDEN, inherited)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    assert quiet.hide_tensorflow_lines(verbose) is hidden
    assert os.environ[quiet.HIDDEN] == ("1" if hidden else "0")  # what the processes it starts follow
    assert os.environ.get(quiet.LOG_LEVEL) == (user_level or "2" if hidden else user_level)


def readme_sample_command():
    """The README's first `gan-zoo sample` command, drawing 4 images instead of 64."""
    line = next(line for line in open(README, encoding="utf-8") if "gan-zoo sample " in line)
    argv = shlex.split(line.split("gan-zoo ", 1)[1], comments=True)
    argv[argv.index("--num") + 1] = "4"
    return argv


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_the_readme_sample_command_prints_no_tensorflow_start_up_lines(verbose, tmp_path):
    """With --verbose they may show (machines differ); without, none of them."""
    argv = readme_sample_command()
    done = gan_zoo(["--verbose", *argv] if verbose else argv, tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("samples: "), done.stderr[-2000:]
    assert os.path.isfile(tmp_path / argv[argv.index("--out") + 1])
    if not verbose:
        assert [line for line in done.stderr.splitlines() if TENSORFLOW_LINE.search(line)] == [], done.stderr


def test_a_fatal_message_while_tensorflow_loads_still_reaches_the_user(tmp_path):
    """Found by review: with descriptor 2 on /dev/null, a message TensorFlow prints before it aborts (a CPU
    without the instructions it was built for) vanished and the user saw only exit status 134. A stand-in
    `tensorflow` prints a start-up line and a fatal one on descriptor 2, then aborts."""
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'I0000 00:00:1 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "os.write(2, b'The TensorFlow library was compiled to use AVX instructions, but these are not available\\n')\n"
        "os.abort()\n")
    code = "from zoo.cli import quiet; quiet.hide_tensorflow_lines(False); quiet.start_tensorflow_quietly()"
    environment = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL",
                                                                                  "GAN_ZOO_QUIET_TENSORFLOW")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**environment, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    assert done.returncode != 0
    assert "compiled to use AVX instructions, but these are not available" in done.stderr, done.stderr
    assert "oneDNN custom operations" not in done.stderr, done.stderr


@pytest.mark.parametrize("argv, verbose", [(["sample", "m", "--out", "x.png"], False),
                                           (["--verbose", "sample", "m", "--out", "x.png"], True),
                                           (["sample", "m", "--out", "x.png", "--verbose"], True),  # was refused
                                           (["serve", "models", "--verbose"], True)])
def test_verbose_goes_before_or_after_the_verb(argv, verbose):
    from hub_export.cli import build_parser

    assert build_parser().parse_args(argv).verbose is verbose
