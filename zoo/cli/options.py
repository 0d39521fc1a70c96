"""What gan-zoo's verb groups share: argument types, the check of the sampling options, the --help formatter."""
import argparse
import copy
import json
import os

from zoo.errors import UserError


def parse_setting(text):
    """KEY=VALUE with VALUE parsed as JSON when it is JSON (numbers, true/false/null, lists), else a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def comma_separated(convert, what, example):
    """An argparse type: "a,b" → [convert("a"), convert("b")]; a part `convert` refuses, or no part at all
    ("", ","), is an error saying what is accepted."""
    def parse(text):
        try:
            values = [convert(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError:
            values = None
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, e.g. {example}; received {text!r}")
        return values

    return parse


parse_floats = comma_separated(float, "numbers", "0.5,0.7,1.0")
parse_ints = comma_separated(int, "integers", "0,1,2")


def parse_names(text):
    """Comma-separated names, blanks dropped: 'fid, kid' → ['fid', 'kid']."""
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_figure(text):
    path, _, caption = text.partition("=")
    if not path.endswith(".png") or not os.path.isfile(path) or not caption:
        raise argparse.ArgumentTypeError(f"expected PNG=CAPTION with an existing .png file; received {text!r}")
    return path, caption


def parse_classes(text):
    """Comma-separated class ids or names: '7,9' or 'sneaker,ankle boot'."""
    return [int(part) if part.strip().isdigit() else part.strip() for part in text.split(",") if part.strip()]


def refuse_sampling_options(recipe, target, labels, truncations):
    """--labels and --truncation choose what a z → image model draws: for other models they are refused, not ignored."""
    from recipes.capabilities import SAMPLE

    if SAMPLE not in recipe.capabilities and (labels is not None or any(psi != 1.0 for psi in truncations)):
        raise UserError(f"--labels and --truncation apply to z → image models; {target} does "
                        f"{recipe.task.replace('_', '-')}")


def default_note(action):
    """"(default: 64)" for an option whose default says something (not None, False or []), else ""."""
    default = action.default
    if default is None or default is False or default == [] or default is argparse.SUPPRESS \
            or not (action.option_strings or action.nargs == "?"):
        return ""
    shown = ", ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
    return f"(default: {shown.replace('%', '%%')})"


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """--help that ends each option's line with its default, unless its help already says it in words."""

    def _get_help_string(self, action):
        note = default_note(action)
        return action.help if not note or "(default" in (action.help or "") else f"{action.help} {note}"

    def _format_action(self, action):
        if action.help is None and default_note(action):  # argparse prints no line for an option without help
            action = copy.copy(action)
            action.help = default_note(action)
        return super()._format_action(action)
