"""`gan-zoo`, the command line: parse, call the library, print. One module per group of verbs:

  train      train, finetune, launch, make-preset        (training runs, and presets made from them)
  sample     sample, interpolate, style-mix, attention, project   (drawing from a generator)
  evaluate   evaluate, memorization, train-evaluator, study   (measuring)
  presets    list, card, cards                            (the shipped presets)
  options    argument types, checks and the --help formatter the groups share
  declared   names --help shows from modules that import TensorFlow, read from their source
  quiet      TensorFlow's C++ start-up lines, hidden unless --verbose
  app        build_parser and main

Building the parser imports no TensorFlow: a handler imports the library when it runs.
hub_export.cli adds export, serve and demo (the `gan-zoo` entry point)."""
from zoo.cli.app import build_parser, interrupted_message, main

__all__ = ["build_parser", "interrupted_message", "main"]
