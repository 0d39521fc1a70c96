"""Test setup: TensorFlow quiet, and two logical CPU devices so MirroredStrategy can be tested here."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~20 s; deselect with -m 'not slow'")


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from the default dtype policy and a clean Keras graph state."""
    import keras

    keras.config.set_dtype_policy("float32")
    yield
    keras.backend.clear_session()
