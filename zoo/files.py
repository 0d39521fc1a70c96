"""Small file helpers: atomic JSON writes, a lock between processes, sha256 checksums, the checksummed
on-disk cache of computed arrays, and checks of the paths a command writes."""
import contextlib
import hashlib
import io
import json
import os

import numpy as np

from zoo.errors import UserError

# Computed arrays worth keeping between processes (reference features, rendered triangles); read at call time.
CACHE_DIR = os.environ.get("GAN_ZOO_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "gan_zoo"))


def write_atomically(path, data):
    """Write bytes or text to `path` through a temporary file and a rename: a kill mid-write leaves the
    previous file intact, never a truncated one."""
    temporary = f"{path}.tmp"
    with open(temporary, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    os.replace(temporary, path)
    return path


@contextlib.contextmanager
def exclusive(path):
    """Hold an exclusive lock on `path`.lock while the block runs: processes filling the same file (a
    study's parallel runs computing one reference cache) take turns, and the later ones find it done.
    POSIX flock, released by the kernel if the holder dies; no lock where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(f"{path}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached_arrays(path, compute):
    """({name: array}, was_cached): the .npz at `path` when its sha256 matches `path`.sha256, else
    `compute()`'s arrays, written there (atomically, with the checksum) first. A corrupt or partial file
    is computed again; processes asking at once compute it once (`exclusive`)."""
    with exclusive(path):
        cached = read_cached_arrays(path)
        if cached is not None:
            return cached, True
        buffer = io.BytesIO()
        np.savez(buffer, **compute())
        payload = buffer.getvalue()  # one copy of the bytes (the triangles' train split is 47 MB)
        write_atomically(path, payload)
        write_atomically(path + ".sha256", sha256_of_bytes(payload))
        return arrays_of(payload), False  # the same arrays a later hit reads


def read_cached_arrays(path):
    """The arrays of a cached .npz whose sha256 matches its `.sha256` file, else None."""
    checksum_path = path + ".sha256"
    if not (os.path.exists(path) and os.path.exists(checksum_path)):
        return None
    with open(path, "rb") as handle:
        payload = handle.read()
    with open(checksum_path) as handle:
        if sha256_of_bytes(payload) != handle.read().strip():
            return None
    return arrays_of(payload)


def arrays_of(npz_payload):
    with np.load(io.BytesIO(npz_payload)) as arrays:
        return {name: arrays[name] for name in arrays.files}


def write_json(path, payload):
    """Atomic JSON write (indented, sorted keys)."""
    write_atomically(path, json.dumps(payload, indent=2, sort_keys=True, default=str))


def read_json(path):
    """The JSON in `path`; a file that does not parse is a one-line UserError naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}); restore it from a copy (or, for a run's "
                        "train_state.json, delete it: the run resumes from its checkpoints without the history)") from None


def entries(directory):
    """The names in `directory`; None when it does not exist (see `remove_new_entries`)."""
    return set(os.listdir(directory)) if os.path.isdir(directory) else None


def remove_new_entries(directory, before):
    """Undo what a failed call created in `directory`: the entries not in `before` (None: the
    directory itself did not exist, and goes too if left empty); nothing else is touched.

    Entries that vanish meanwhile are fine: workers of one multi-worker run share the directory and
    may undo the same failed start at once."""
    import shutil

    if not os.path.isdir(directory):
        return
    for entry in set(os.listdir(directory)) - (before or set()):
        path = os.path.join(directory, entry)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
    with contextlib.suppress(OSError):  # gone already, or another worker wrote meanwhile
        if before is None and not os.listdir(directory):
            os.rmdir(directory)


def sha256_of_bytes(payload):
    return hashlib.sha256(payload).hexdigest()


def sha256_of(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path, expected, record, remedy):
    """`path`, after checking that it exists and that its sha256 is `expected` (as `record` lists it);
    otherwise a one-line UserError that ends with `remedy`."""
    if not os.path.isfile(path):
        raise UserError(f"{path} is missing; {remedy}")
    actual = sha256_of(path)
    if actual != expected:
        raise UserError(f"{path} is corrupt: its sha256 is {actual}, {record} records {expected}; {remedy}")
    return path


def writable_parent(path):
    """The nearest existing ancestor of `path` must be a writable directory."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {path}: cannot write under {parent} (permission denied or not a directory)")


def check_output_file(path, overwrite=False):
    """`path` can be written as a file: not a directory, not an existing file unless `overwrite`."""
    if os.path.isdir(path):
        raise UserError(f"--out {path} is a directory; pass a file path")
    if os.path.exists(path) and not overwrite:
        raise UserError(f"--out {path} exists; pass --overwrite to replace it")
    writable_parent(path)


def check_output_directory(path):
    """`path` can hold a directory of outputs: not an existing file, writable."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"--out {path} is a file; pass a directory (it is created if missing)")
    writable_parent(os.path.join(path, "x") if os.path.isdir(path) else path)
