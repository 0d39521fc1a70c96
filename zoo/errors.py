"""Errors the CLI prints as one line, without a traceback, the one line an exception is told by, and the stop
signals (SIGTERM, SIGINT) turned into an interrupt: at once, or recorded until every worker of a multi-worker
run agrees to stop (`StopRequest`)."""
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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)  # in this order of precedence when workers received different ones


@contextlib.contextmanager
def handling(signums, handler):
    """While the block runs, `handler(signum, frame)` handles these signals. Elsewhere than the main thread
    signals cannot be handled, and the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, earlier in previous.items():
            signal.signal(signum, signal.SIG_DFL if earlier is None else earlier)


def sigterm_as_interrupt():
    """While the block runs, SIGTERM (timeout, docker stop, Kubernetes, Slurm preemption) raises Terminated,
    a KeyboardInterrupt, in the main thread: the run saves a checkpoint and stops as on Ctrl-C."""
    def stop(signum, frame):
        raise Terminated()

    return handling((signal.SIGTERM,), stop)


class StopRequest:
    """SIGTERM and SIGINT recorded instead of raised, for a process that may stop only where its peers stop too
    (a multi-worker run: each worker votes, and all stop after the same step; `gan-zoo launch`: it forwards the
    signal to its workers and waits for them). `signum` is the first stop signal received; `agreed`, the one the
    workers agreed to stop for (a worker that received none stops for its peers' signal)."""

    def __init__(self):
        self.signum = self.agreed = None

    def record(self, signum, frame=None):
        self.signum = self.signum or signum

    def recording(self):
        """While the block runs, stop signals are recorded here (a second one changes nothing)."""
        return handling(STOP_SIGNALS, self.record)

    def vote(self):
        """This process's vote: one-hot over STOP_SIGNALS of the signal received (all zeros before one)."""
        return [float(self.signum == signum) for signum in STOP_SIGNALS]

    def agree(self, votes):
        """From the votes summed over every worker: whether all stop now (and for which signal, in `agreed`)."""
        self.agreed = next((signum for signum, count in zip(STOP_SIGNALS, votes) if count > 0), None)
        return self.agreed is not None

    def interrupt(self):
        """The exception for the agreed signal: Terminated for SIGTERM, KeyboardInterrupt for SIGINT (Ctrl-C)."""
        return Terminated() if self.agreed == signal.SIGTERM else KeyboardInterrupt()
