"""Fixtures shared by the zoo tests: the shipped evaluator, and one reference-feature cache per session."""
import pytest

from zoo import evaluation
from zoo.metrics import features


@pytest.fixture(scope="session")
def evaluator_features():
    return features.fashion_mnist_evaluator()


@pytest.fixture(scope="session", autouse=True)
def shared_cache(tmp_path_factory):
    """The real test split's features are extracted once per session, never into the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        directory = str(tmp_path_factory.mktemp("cache"))
        patch.setattr(evaluation, "CACHE_DIR", directory)
        yield directory
