"""Where a number came from: the command, the machine and the library versions."""
import os
import platform
import shlex
import sys


def command_line(argv=None):
    """The command as a user would retype it: `gan-zoo ...`."""
    argv = sys.argv[1:] if argv is None else argv
    return shlex.join(["gan-zoo", *argv])


def machine():
    """CPU, cores, memory, accelerators, Python/TensorFlow/Keras versions."""
    import keras
    import tensorflow as tf

    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def describe_machine(machine):
    """One line for a `machine()` record."""
    if not machine:
        return "an unrecorded machine"
    gpus = f", GPUs {machine['gpus']}" if machine.get("gpus") else ", no GPU"
    return (f"{machine['cpu_cores']} CPU cores ({machine['processor']}), {machine['memory_gib']} GiB{gpus}; "
            f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}")
