"""Errors the CLI prints as one line, without a traceback, and the one line an exception is told by."""


class UserError(ValueError):
    """Bad input from a user: the message says what was wrong and what is accepted."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt of the main thread (training saves and stops as on Ctrl-C)."""

    exit_status = 128 + 15  # the shell's status of a process ended by SIGTERM


def first_line(error):
    """The first line of an exception's message, or its type's name when it has none."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
