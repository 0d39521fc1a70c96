"""Errors the CLI prints as one line, without a traceback, the one line an exception is told by, and SIGTERM
turned into an interrupt."""
import contextlib
import signal
import threading


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


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the block runs, SIGTERM (timeout, docker stop, Kubernetes, Slurm preemption) raises Terminated,
    a KeyboardInterrupt, in the main thread: the run saves a checkpoint and stops as on Ctrl-C. Elsewhere
    than the main thread signals cannot be handled, and the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
