"""README.md's fenced code blocks, as written: every Python block is executed, every `gan-zoo` line is parsed by
the real argument parser (an unknown flag or a bad value fails), and the cheap commands run for real, in one
working directory, block after block (the TFSMLayer block loads what the export block wrote).

Where a block would take long, the README says how the test shrinks it, in HTML comments right before the block:
`<!-- readme-test: replace "OLD" "NEW" -->` substitutes text in the block before it runs, and
`<!-- readme-test: parse-only "PREFIX" (why) -->` only parses the block's lines that start with PREFIX (each
repeatable; OLD and PREFIX must occur in the block, so a stale marker fails). Commands that train or serve are
parsed only (PARSE_ONLY says why); a line the test cannot check fails, so a new kind of line gets a decision."""
import os
import re
import shlex
from dataclasses import dataclass, field

import pytest

from hub_export import cli as hub_cli
from zoo import cli as zoo_cli

README = os.path.join(os.path.dirname(__file__), "..", "README.md")
REPLACE = re.compile(r'<!-- readme-test: replace "([^"]*)" "([^"]*)" -->')
PARSE_ONLY_MARKER = re.compile(r'<!-- readme-test: parse-only "([^"]*)" \(.+\) -->')
RUN = {"list", "card", "sample", "interpolate", "evaluate", "export", "style-mix"}  # seconds each, shrunk
PARSE_ONLY = {
    "train": "minutes to hours; tests/zoo/test_training.py trains tiny runs through the same code",
    "finetune": "minutes; tests/zoo/test_registry.py fine-tunes a preset for a few steps",
    "launch": "several training processes; tests/zoo/test_multi_worker.py launches two",
    "study": "dozens of training runs; tests/zoo/test_study.py runs a tiny study",
    "serve": "a server that runs until stopped; tests/hub_export/test_server.py serves the same requests",
    "demo": "a server; tests/hub_export/test_demo.py drives the page",
}
OTHER_COMMANDS = {  # lines of other programs, and why the test does not run them
    ("pip", "install"): "installs the package: the suite runs where it is installed",
    ("python", "-m", "pytest"): "the suite itself",
    ("export",): "sets TF_CONFIG for the multi-worker line after it, which is parsed only",
    ("curl",): "a request to `gan-zoo serve`: tests/hub_export/test_server.py sends it to a running server",
}
RUN_DIRECTORY_COMMANDS = ("train", "finetune", "study")  # --out is a run (or study) directory


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    replacements: list = field(default_factory=list)
    parse_only: list = field(default_factory=list)  # line prefixes

    def shrunk(self):
        """The block's text after its markers' replacements (each must apply)."""
        text = self.text
        for old, new in self.replacements:
            assert old in text, f"README.md block at line {self.line}: its marker replaces {old!r}, not in the block"
            text = text.replace(old, new)
        for prefix in self.parse_only:
            assert prefix in text, f"README.md block at line {self.line}: its parse-only {prefix!r} is not in the block"
        return text

    def runs(self, tokens):
        """Whether a `gan-zoo` line runs (else it is parsed only)."""
        line = shlex.join(tokens)
        return parser().parse_args(tokens[1:]).command in RUN and not any(map(line.startswith, self.parse_only))


def readme_blocks(text):
    """Every fenced block of a Markdown text, with the replacements of the markers just before it."""
    blocks, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        if not lines[index].startswith("```"):
            index += 1
            continue
        first = index
        while first > 0 and lines[first - 1].startswith("<!--"):
            first -= 1
        markers = "\n".join(lines[first:index])
        assert markers.count("readme-test:") == len(REPLACE.findall(markers) + PARSE_ONLY_MARKER.findall(markers)), \
            f"README.md line {first + 1}: a readme-test marker this test does not understand: {markers}"
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        blocks.append(Block(index + 1, lines[index][3:].strip(), "\n".join(lines[index + 1:end]) + "\n",
                            REPLACE.findall(markers), PARSE_ONLY_MARKER.findall(markers)))
        index = end + 1
    return blocks


def shell_commands(text):
    """The commands of a shell block as token lists: continuations joined, comments dropped, `&&` split."""
    commands = []
    for line in text.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        while tokens:
            end = tokens.index("&&") if "&&" in tokens else len(tokens)
            commands.append(tokens[:end])
            tokens = tokens[end + 1:]
    return commands


def parser():
    return zoo_cli.build_parser((hub_cli.add_export_parser, hub_cli.add_serve_parser, hub_cli.add_demo_parser))


def parsed(argv, where):
    """argparse's namespace for `gan-zoo argv`; a usage error fails the test with argparse's message."""
    try:
        return parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `gan-zoo {shlex.join(argv)}` is refused by the argument parser (see stderr)")


def output_directory(argv, where):
    """Where a training-type line writes (its run directory), or None for other commands."""
    args = parsed(argv, where)
    if args.command == "launch":
        return output_directory(["train", *[a for a in args.train_args if a != "--"]], where)
    return os.path.normpath(args.out) if args.command in RUN_DIRECTORY_COMMANDS else None


def colliding_outputs(commands, where):
    """Run directories two `gan-zoo` lines of one block both write: the second would be refused as another run."""
    seen, collisions = {}, []
    for argv in commands:
        out = output_directory(argv, where)
        if out is not None and out in seen and seen[out] != argv:
            collisions.append(out)
        seen.setdefault(out, argv)
    return collisions


def gan_zoo_lines(block):
    return [tokens[1:] for tokens in shell_commands(block.shrunk()) if tokens[0] == "gan-zoo"]


def check_other_command(tokens, where):
    if not any(tuple(tokens[:len(prefix)]) == prefix for prefix in OTHER_COMMANDS):
        pytest.fail(f"{where}: the README test does not know how to check `{shlex.join(tokens)}`: run it, parse "
                    "it or list it in OTHER_COMMANDS with the reason")


BLOCKS = readme_blocks(open(README, encoding="utf-8").read())


def test_the_readme_has_the_blocks_this_test_runs():
    assert {block.language for block in BLOCKS} == {"", "python"}  # shell and Python, nothing unchecked
    assert sum(block.language == "python" for block in BLOCKS) >= 3
    assert sum(len(gan_zoo_lines(block)) for block in BLOCKS) >= 30


def test_every_gan_zoo_line_parses_and_no_two_lines_of_a_block_write_one_run():
    for block in BLOCKS:
        if block.language:
            continue
        where = f"README.md block at line {block.line}"
        lines = gan_zoo_lines(block)
        for argv in lines:
            args = parsed(argv, where)
            assert args.command in RUN or args.command in PARSE_ONLY, f"{where}: decide whether `{args.command}` runs"
        assert not colliding_outputs(lines, where), f"{where}: two lines write the same run directory"


def test_the_collision_check_catches_two_finetunes_into_one_run():
    """The README's two finetune lines once shared `--out runs/ft`: the second would be refused (another run)."""
    lines = [["finetune", "dcgan_fashion_mnist_28", "--data", "a/", "--out", "runs/ft"],
             ["finetune", "dcgan_fashion_mnist_28", "--data", "b/", "--set", "augment=cutout", "--out", "runs/ft/"]]
    assert colliding_outputs(lines, "example") == ["runs/ft"]
    assert colliding_outputs([lines[0], lines[0]], "example") == []  # the same command again resumes


def test_the_readme_blocks_run(tmp_path, monkeypatch, capsys):
    """Block after block in one directory; PARSE_ONLY commands and OTHER_COMMANDS are not run (see why there)."""
    monkeypatch.chdir(tmp_path)
    ran = []
    for block in BLOCKS:
        where = f"README.md block at line {block.line}"
        if block.language == "python":
            exec(compile(block.shrunk(), where, "exec"), {"__name__": "readme"})
            ran.append(where)
            continue
        for tokens in shell_commands(block.shrunk()):
            if tokens[0] != "gan-zoo":
                check_other_command(tokens, where)
                continue
            parsed(tokens[1:], where)
            if block.runs(tokens):
                code = hub_cli.main(tokens[1:])
                assert code == 0, f"{where}: `{shlex.join(tokens)}` exited with {code}: {capsys.readouterr().err[-2000:]}"
                ran.append(shlex.join(tokens))
    assert {line.split()[1] for line in ran if line.startswith("gan-zoo ")} == RUN, ran  # each kind ran somewhere
