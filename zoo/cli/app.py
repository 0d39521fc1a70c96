"""The `gan-zoo` program: its parser (every verb group's subcommands, and --verbose) and `main` (exit codes,
one-line errors, TensorFlow started quietly)."""
import argparse
import sys

from zoo.cli import evaluate, presets, quiet, sample, train
from zoo.cli.options import DefaultsHelpFormatter
from zoo.errors import Terminated, TrainingDiverged, UserError

SUBCOMMANDS = (train.add_train, evaluate.add_train_evaluator, evaluate.add_evaluate, evaluate.add_memorization,
               sample.add_style_mix, presets.add_list, sample.add_sample, sample.add_interpolate, sample.add_attention,
               sample.add_project,
               train.add_finetune, presets.add_card, train.add_make_preset, presets.add_cards, train.add_launch,
               evaluate.add_study)  # in the order --help lists them
WITHOUT_TENSORFLOW = ("list", "launch")  # the commands that never import TensorFlow (launch: its workers do)
CHECKPOINTING_COMMANDS = ("train", "finetune", "launch", "study")  # the commands that save a checkpoint on Ctrl-C


def build_parser(extra_parsers=()):
    """The `gan-zoo` parser; `extra_parsers` add subcommands of packages that import zoo
    (hub_export's export and serve: imports go hub_export → zoo, never back)."""
    parser = argparse.ArgumentParser(prog="gan-zoo", description="GAN Zoo: train, sample and evaluate GANs",
                                     formatter_class=DefaultsHelpFormatter)
    add_verbose(parser, False)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in (*SUBCOMMANDS, *extra_parsers):
        add_parser(subparsers)
    for subcommand in subparsers.choices.values():
        subcommand.formatter_class = DefaultsHelpFormatter
        add_verbose(subcommand, argparse.SUPPRESS)  # also after the verb: `gan-zoo sample ... --verbose`
    return parser


def add_verbose(parser, default):
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show TensorFlow's C++ start-up and log lines (hidden unless TF_CPP_MIN_LOG_LEVEL is 0 or 1)")


def interrupted_message(command):
    """What Ctrl-C left behind: training commands saved a checkpoint; the others stopped without finishing."""
    if command in CHECKPOINTING_COMMANDS:
        return "interrupted; a checkpoint was saved: rerun the same command to resume"
    return f"{command} interrupted before it finished; rerun the command to start it again"


def main(argv=None, extra_parsers=()):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(extra_parsers).parse_args(argv)
    args.argv = argv  # for provenance: the command as typed
    try:
        if quiet.hide_tensorflow_lines(args.verbose) and args.command not in WITHOUT_TENSORFLOW:
            quiet.start_tensorflow_quietly()
        return args.handler(args)
    except UserError as error:
        print(f"gan-zoo: error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"gan-zoo: {error}", file=sys.stderr)
        return 1
    except Terminated:
        print("gan-zoo: stopped by SIGTERM (exit status 143); a training run keeps its last checkpoint: rerun the "
              "same command to resume", file=sys.stderr)
        return Terminated.exit_status
    except KeyboardInterrupt:
        print(f"gan-zoo: {interrupted_message(args.command)}", file=sys.stderr)
        return 130
