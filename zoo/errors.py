"""Errors the CLI prints as one line, without a traceback."""


class UserError(ValueError):
    """Bad input from a user: the message says what was wrong and what is accepted."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
