"""TensorFlow's C++ start-up lines (oneDNN, CUDA, absl's "before absl::InitializeLog()"): hidden unless asked.

TensorFlow's libraries write them to file descriptor 2 while they load and find devices, through absl logging
that is not set up yet: TF_CPP_MIN_LOG_LEVEL does not reach them. So TensorFlow starts with descriptor 2 through a
filter that drops those lines (and passes anything else on), and TF_CPP_MIN_LOG_LEVEL=2 keeps its later info and
warning lines out."""
import os
import sys

LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"
HIDDEN = "GAN_ZOO_QUIET_TENSORFLOW"  # "1" or "0": this gan-zoo's choice, which the processes it starts follow


def hide_tensorflow_lines(verbose):
    """Whether TensorFlow's lines are hidden in this process: not with --verbose, nor when the user set
    TF_CPP_MIN_LOG_LEVEL below 2 (0, 1: they asked for TensorFlow's info lines; 2, 3: for fewer); a process gan-zoo
    started (launch's workers) does as its parent did. Sets the environment this process and its children read."""
    inherited = os.environ.get(HIDDEN)
    if verbose:
        hidden = False
    elif inherited in ("0", "1"):
        hidden = inherited == "1"
    else:
        hidden = os.environ.get(LOG_LEVEL, "2") not in ("0", "1")
    os.environ[HIDDEN] = "1" if hidden else "0"
    if hidden:
        os.environ.setdefault(LOG_LEVEL, "2")
    return hidden


START_UP_LINES = (r"absl::InitializeLog|\] oneDNN custom operations are on|cudart_stub|Could not find cuda drivers|"
                  r"cuda_platform|cuInit|Unable to register cu(DNN|FFT|BLAS) factory|cpu_feature_guard|"
                  r"This TensorFlow binary is optimized|To enable the following instructions|computation_placer|"
                  r"TF-TRT Warning|rebuild TensorFlow")  # what TensorFlow's libraries print as they load, harmless
FILTER = ("import re, sys\n"
          "for line in sys.stdin.buffer:\n"
          "    if not re.search(sys.argv[1].encode(), line):\n"
          "        sys.stderr.buffer.write(line); sys.stderr.buffer.flush()\n")


def start_tensorflow_quietly():
    """Import TensorFlow and list its devices with file descriptor 2 going through a filter process that drops
    the START_UP_LINES and passes every other line on. A process of its own, so a fatal message TensorFlow
    prints before it aborts (a CPU without the instructions it was built for) still reaches the user."""
    if "tensorflow" in sys.modules:
        return
    import subprocess

    sys.stderr.flush()
    saved = os.dup(2)
    sieve = subprocess.Popen([sys.executable, "-c", FILTER, START_UP_LINES], stdin=subprocess.PIPE, stdout=saved,
                             stderr=saved)
    try:
        os.dup2(sieve.stdin.fileno(), 2)
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sieve.stdin.close()  # the filter ends once it has passed everything on
        sieve.wait()
