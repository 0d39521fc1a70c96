"""What one test session computes once and its xdist workers share: a directory they all see, and tiny
training runs made in it once (tracing a recipe's step is most of a tiny run's cost)."""
import os

TINY_CYCLEGAN = {"width": 4, "num_blocks": 1, "discriminator_width": 4, "discriminator_layers": 1, "pool_size": 4}


def shared_directory(tmp_path_factory, name):
    """A directory of this test session that every xdist worker sees (each worker has its own basetemp
    below the session's): for what the workers compute once and then only read."""
    base = tmp_path_factory.getbasetemp()
    directory = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    directory.mkdir(exist_ok=True)
    return directory


def trained_once(run, config):
    """`run` (a path) trained by `config` unless an earlier call finished it: the first worker trains, a
    worker asking meanwhile waits for it (a lock file), later ones find it completed. A failed start leaves
    nothing for the next one to resume. Tests must only read it."""
    import shutil

    from zoo.files import exclusive, read_json
    from zoo.train.loop import train

    with exclusive(str(run)):
        state = run / "train_state.json"
        if not (state.exists() and read_json(str(state)).get("status") == "completed"):
            try:
                train(config)
            except BaseException:
                shutil.rmtree(run, ignore_errors=True)
                raise
    return run
