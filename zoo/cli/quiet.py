"""TensorFlow's C++ start-up lines (oneDNN, CUDA, absl's "before absl::InitializeLog()"): hidden unless asked.

TensorFlow's libraries write them to file descriptor 2 while they load and find devices, through absl logging
that is not set up yet: TF_CPP_MIN_LOG_LEVEL does not reach them. So TensorFlow starts with descriptor 2 on
/dev/null, and TF_CPP_MIN_LOG_LEVEL=2 keeps its later info and warning lines out."""
import os
import sys

LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
HIDDEN = "GAN_ZOO_QUIET_TENSORFLOW"  # "1" or "0": this gan-zoo's choice, which the processes it starts follow


def hide_tensorflow_lines(verbose):
    """Whether TensorFlow's lines are hidden in this process: not with --verbose, nor when the user set
    TF_CPP_MIN_LOG_LEVEL; a process gan-zoo started (launch's workers) does as its parent did. Sets the
    environment this process and its children read."""
    inherited = os.environ.get(HIDDEN)
    if verbose:
        hidden = False
    elif inherited in ("0", "1"):
        hidden = inherited == "1"
    else:
        hidden = LOG_LEVEL not in os.environ
    os.environ[HIDDEN] = "1" if hidden else "0"
    if hidden:
        os.environ.setdefault(LOG_LEVEL, "2")
    return hidden


def start_tensorflow_quietly():
    """Import TensorFlow and list its devices with file descriptor 2 on /dev/null (nothing once it is imported).
    An import error still shows: it is raised after descriptor 2 is back."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
