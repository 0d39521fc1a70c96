"""Small file helpers: the output policy of every command that writes (checked before the work, written
beside and renamed, never over a non-regular file), atomic writes, locks between processes (a run
directory's, a shared file's), sha256 checksums and the checksummed on-disk cache of computed arrays."""
import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import uuid

import numpy as np

from zoo.errors import UserError

# Computed arrays worth keeping between processes (reference features, rendered triangles); read at call time.
CACHE_DIR = os.environ.get("GAN_ZOO_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "gan_zoo"))


def cache_path(*parts):
    """The path `parts` in the on-disk cache (CACHE_DIR), its directory created; a cache that cannot be used (a file,
    or a directory that cannot be written) is a one-line UserError naming the variable that chooses it."""
    path = os.path.join(CACHE_DIR, *parts)
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        usable = os.access(directory, os.W_OK | os.X_OK)
        reason = "permission denied"
    except OSError as error:
        usable, reason = False, error.strerror
    if not usable:
        raise UserError(f"the cache directory {CACHE_DIR} cannot be used ({directory}: {reason}); set GAN_ZOO_CACHE "
                        "to a writable directory (default ~/.cache/gan_zoo)")
    return path


def write_atomically(path, data):
    """Write bytes or text to `path` through a temporary file beside it and a rename: a kill mid-write
    leaves the previous file intact, never a truncated one. A `path` that exists and is not a regular file
    (a device, a FIFO, a directory) is refused, never replaced."""
    path = os.fspath(path)
    refuse_special(path, f"{path}", "a regular file")
    temporary = sibling(path)
    try:
        with open(temporary, "wb" if isinstance(data, bytes) else "w") as handle:
            handle.write(data)
        replace_file(temporary, path)
    except BaseException:
        discard(temporary)
        raise
    return path


def copy_atomically(source, path):
    """Copy the file `source` to `path` as `write_atomically` writes (never into a FIFO or device)."""
    with open(source, "rb") as handle:
        return write_atomically(path, handle.read())


def sibling(path, tag="tmp"):
    """A fresh hidden name beside `path` (same directory, same extension: writers that pick the format
    by extension still do), for writing it before the rename."""
    directory, base = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{base}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}{os.path.splitext(base)[1]}")


def discard(path):
    """Remove a temporary file or directory of ours, if it is there."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)


def special_kind(path):
    """What `path` is when it exists and is neither a regular file nor a directory ("a FIFO", "a
    character device", ...; symbolic links followed), else None."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # not there (writable_parent reports a file on the way)
        return "a broken symbolic link" if os.path.islink(path) else None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def refuse_special(path, name, accepted):
    kind = special_kind(path)
    if kind:
        raise UserError(f"{name} is {kind}, not a regular file or directory; pass {accepted} (outputs are written "
                        "beside and renamed: a device or FIFO is never replaced)")


def replace_file(temporary, path):
    """Rename the finished `temporary` over `path`, unless `path` became a directory or special file meanwhile."""
    refuse_special(path, path, "a regular file")
    if os.path.isdir(path) and not os.path.islink(path):
        raise UserError(f"{path} is a directory; pass a file path")
    os.replace(temporary, path)


def check_output(path, overwrite=False, kind="file", flag="--out"):
    """The output policy, checked before the work: `path` is a new file or directory (`kind`), or an
    existing one of that kind when `overwrite` (an empty directory counts as new); never a device, FIFO or
    socket; under a writable directory. See `atomic_output` for the writing."""
    path = os.fspath(path)
    accepted = "a file path" if kind == "file" else "a directory (it is created if missing)"
    refuse_special(path, f"{flag} {path}", accepted)
    if kind == "file" and os.path.isdir(path):
        raise UserError(f"{flag} {path} is a directory; pass a file path")
    if kind == "dir" and os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"{flag} {path} is a file; pass a directory (it is created if missing)")
    if kind == "file" and os.path.exists(path) and not overwrite:
        raise UserError(f"{flag} {path} exists; pass --overwrite to replace it")
    if kind == "dir" and os.path.isdir(path):
        refuse_enclosing(path, flag)
        refuse_run_directory(path, flag)
        held = os.listdir(path)
        if held and not overwrite:
            raise UserError(f"{flag} {path} already holds {describe_entries(held)}; pass --overwrite to replace them "
                            "(the directory is replaced whole)")
    writable_parent(path, flag)


def refuse_enclosing(path, flag):
    """A directory output is replaced whole: never the current directory, one of its ancestors or home."""
    real, here, home = (os.path.realpath(p) for p in (path, os.getcwd(), os.path.expanduser("~")))
    if real == home or os.path.commonpath([real, here]) == real:
        raise UserError(f"{flag} {path} holds the current directory (or is the home or root directory) and would be "
                        "replaced whole; pass a directory of its own")


def refuse_run_directory(path, flag):
    """A training run directory (its run.json or lock) is never an output replaced whole, --overwrite or not."""
    if any(os.path.lexists(os.path.join(path, name)) for name in ("run.json", LOCK_FILE)):
        raise UserError(f"{flag} {path} is a training run directory; outputs never replace a run: choose another "
                        f"{flag}")


def describe_entries(names):
    """"PNG files" when every entry has one extension, else "files"."""
    extensions = {os.path.splitext(name)[1].lstrip(".").upper() for name in names}
    return f"{extensions.pop()} files" if len(extensions) == 1 and "" not in extensions else "files"


@contextlib.contextmanager
def atomic_output(path, overwrite=False, kind="file", flag="--out"):
    """Write one output, file or directory (`kind`), by the output policy: `check_output` first, then
    the block writes into the temporary path it is given (beside `path`), which is renamed over `path`
    when the block succeeds. An existing directory is replaced whole (moved aside, then removed after the
    swap). If the block fails or is interrupted, the temporary is removed and `path` is as it was."""
    check_output(path, overwrite, kind, flag)
    path = os.fspath(path)
    created = missing_ancestor(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = sibling(path)
    if kind == "dir":
        os.mkdir(temporary)
    try:
        yield temporary
        if kind == "file":
            replace_file(temporary, path)
        else:
            replace_directory(temporary, path, flag)
    except BaseException:
        discard(temporary)
        if created:
            remove_empty_directories(os.path.dirname(os.path.abspath(path)), created)
        raise


def replace_directory(temporary, path, flag="--out"):
    """Swap the finished directory `temporary` in at `path`; an existing `path` is moved aside first and
    removed only after the swap (a kill in between leaves it beside, under a hidden name)."""
    refuse_special(path, f"{flag} {path}", "a directory")
    if not os.path.lexists(path):
        os.rename(temporary, path)
        return
    if not os.path.isdir(path):
        raise UserError(f"{flag} {path} is a file; pass a directory (it is created if missing)")
    refuse_run_directory(path, flag)
    old = sibling(path, "old")
    os.rename(path, old)
    try:
        os.rename(temporary, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def missing_ancestor(path):
    """The outermost directory above `path` that does not exist yet (atomic_output creates it), or None."""
    parent, missing = os.path.dirname(os.path.abspath(path)), None
    while not os.path.exists(parent):
        parent, missing = os.path.dirname(parent), parent
    return missing


def remove_empty_directories(directory, up_to):
    """Remove `directory` and its parents up to and including `up_to` while they are empty."""
    while True:
        try:
            os.rmdir(directory)
        except OSError:
            return
        if directory == up_to:
            return
        directory = os.path.dirname(directory)


LOCK_FILE = ".lock"


@contextlib.contextmanager
def locked_directory(directory, name=LOCK_FILE, flag="--out", create=True):
    """Hold `directory`/`name` locked while the block runs, or refuse at once with a one-line UserError naming
    the holder's pid: one gan-zoo process works in a run directory at a time. Taken before anything in the
    directory is touched (the directory is created if missing and `create`); yields the directory's entries
    from before (None: it did not exist). A new directory holding only the lock afterwards is removed again.
    POSIX flock, released by the kernel if the holder dies; no lock where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield entries(directory)
        return
    before = entries(directory)
    if before is None and not create:
        yield None  # nothing to protect: the caller reports the missing directory
        return
    handle = acquire(directory, name, fcntl, flag)
    try:
        yield before
    finally:
        if before is None:
            with contextlib.suppress(OSError):
                if os.listdir(directory) == [name]:
                    os.remove(os.path.join(directory, name))
                    os.rmdir(directory)
        handle.close()  # releases the lock


def acquire(directory, name, fcntl, flag):
    """The open, flock-ed lock file (its content: our pid). A lock file removed by its last holder while we
    waited is not the lock any more: take the one now at the path."""
    path = os.path.join(directory, name)
    while True:
        os.makedirs(directory, exist_ok=True)
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            handle.close()
            remedy = f"wait for it or choose another {flag}" if flag.startswith("--") else "wait for it to finish"
            raise UserError(f"{flag} {directory} is in use by another gan-zoo process (pid {pid}); {remedy}") from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                handle.seek(0)
                handle.truncate()
                handle.write(str(os.getpid()))
                handle.flush()
                return handle
        handle.close()


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
    may undo the same failed start at once. Lock files (`locked_directory`) are left to their holders."""
    import shutil

    if not os.path.isdir(directory):
        return
    for entry in set(os.listdir(directory)) - (before or set()):
        if entry.startswith(LOCK_FILE):  # a lock is its holder's to remove (see locked_directory)
            continue
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


MAX_VERIFIED_BYTES = 2**31  # larger files are refused before hashing (seconds per GiB; a sparse file listed on a card
# would take minutes): no recipe's weights come near it (DCGAN at 256 px, the largest size zoo.train takes: 0.2 GB)


def verified(path, expected, record, remedy):
    """`path`, after checking that it exists, is at most MAX_VERIFIED_BYTES and that its sha256 is `expected` (as
    `record` lists it); otherwise a one-line UserError that ends with `remedy`."""
    if not os.path.isfile(path):
        raise UserError(f"{path} is missing; {remedy}")
    if os.path.getsize(path) > MAX_VERIFIED_BYTES:
        raise UserError(f"{path} is {os.path.getsize(path)} bytes, more than any file {record} can list (at most "
                        f"{MAX_VERIFIED_BYTES}): not hashed; {remedy}")
    actual = sha256_of(path)
    if actual != expected:
        raise UserError(f"{path} is corrupt: its sha256 is {actual}, {record} records {expected}; {remedy}")
    return path


def writable_parent(path, flag="--out"):
    """The nearest existing ancestor of `path` must be a writable directory."""
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot write under {parent} (permission denied or not a directory)")


def check_plain_name(name, flag):
    """`name` is one path component (a preset's or model's directory name): not empty, not . or .., no
    separator, so what it names stays inside its --out."""
    separators = {os.sep, os.altsep} - {None}
    if not name or name in (".", "..") or any(separator in name for separator in separators) or "\0" in name:
        raise UserError(f"{flag} {name!r} must be a plain name (no path separators, not '.' or '..'): it names a "
                        "directory inside --out")
    return name


def check_output_file(path, overwrite=False):
    """`path` can be written as a file (`check_output`)."""
    check_output(path, overwrite, "file")


def check_output_directory(path):
    """`path` can be a directory a command works in and adds to (a run directory, a base of exports):
    a directory or nothing yet, writable; never a file, device or FIFO."""
    refuse_special(path, f"--out {path}", "a directory (it is created if missing)")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"--out {path} is a file; pass a directory (it is created if missing)")
    writable_parent(os.path.join(path, "x") if os.path.isdir(path) else path)
