"""Test setup: TensorFlow quiet, and two logical CPU devices so MirroredStrategy can be tested here."""
import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Tiny test runs train without XLA unless a test asks for it (tests/zoo/test_training.py pins the default
# path: XLA steps equal graph steps, and a stopped XLA run resumes exactly): compiling each of the suite's
# ~50 tiny runs cost 6–7 s apiece. Subprocesses inherit it.
os.environ.setdefault("GAN_ZOO_XLA", "0")

import pytest  # noqa: E402
from shared_runs import shared_directory  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(scope="session", autouse=True)
def shared_cache(tmp_path_factory):
    """Reference features and rendered triangles are computed once per test session (shared by the xdist
    workers and the processes tests start; `files.cached_arrays` locks), never into the user's cache."""
    from zoo import files

    directory = shared_directory(tmp_path_factory, "gan_zoo_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "CACHE_DIR", str(directory))
        patch.setenv("GAN_ZOO_CACHE", str(directory))
        yield str(directory)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~20 s; deselect with -m 'not slow'")


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the default dtype policy and a clean Keras graph state. Without a forced
    garbage collection: a full `gc.collect()` after every test cost 2.3 s on average (12 of the suite's
    52 minutes on 2 cores, measured with --durations); Python's own collector still runs."""
    import keras

    keras.config.set_dtype_policy("float32")
    yield
    keras.backend.clear_session(free_memory=False)


_collective_key_bases = itertools.count(1000, 1000)


@pytest.fixture(autouse=True)
def _own_collective_keys(monkeypatch):
    """Every MirroredStrategy numbers its collectives from the same group and instance keys, and the
    runtime remembers each key's shape: a second strategy over the same devices in this process
    would abort with "Shape mismatch in the collective instance". TF's hook `_collective_key_base`
    gives each test's strategies keys of their own."""
    monkeypatch.setattr(tf.distribute.MirroredStrategy, "_collective_key_base", next(_collective_key_bases))
