"""Small file helpers: the output policy of every command that writes (checked once, before the work; written
beside and moved in by a step that replaces nothing without --overwrite, never a non-regular file nor a
directory through a symbolic link; what killed writers left settled by the next), atomic writes, locks between
processes (a run directory's, a shared file's), sha256 checksums and the checksummed on-disk cache of computed
arrays."""
import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import socket
import stat
import typing
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
    (a device, a FIFO, a directory) is refused, never replaced; a regular one is (a command's output goes
    through `atomic_output`, which replaces only with --overwrite)."""
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
    by extension still do), for writing it before the rename. It names its writer (`machine_tag`, pid), so
    that a later writer of `path` knows a leftover of a killed one (`settle_leftovers`)."""
    directory, base = os.path.split(os.path.abspath(path))
    name = f".{base}.{tag}-{machine_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{os.path.splitext(base)[1]}"
    return os.path.join(directory, name)


def machine_tag():
    """8 hex digits naming this machine and pid namespace (host name, /proc/self/ns/pid where there is one):
    the pid in a leftover's name is looked up only where it was given."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha256(f"{socket.gethostname()} {namespace}".encode()).hexdigest()[:8]


LEFTOVER = r"\.(?P<base>.+?)\.(?P<tag>tmp|old)-(?P<machine>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}"


def settle_leftovers(directory, base=None):
    """Finish what killed writers left in `directory`, beside the output named `base` (its temporaries' own
    temporaries too) or beside any: a directory an interrupted swap moved aside (`replace_directory`) goes
    back in place when its output is missing; other leftovers are removed. Only those of a writer that is
    gone (`writer_gone`): another running command's, another machine's or container's, and names `sibling`
    did not make are never touched."""
    for name, output, tag in stale_leftovers(directory, base):
        leftover, path = os.path.join(directory, name), os.path.join(directory, output)
        with contextlib.suppress(OSError):  # another process settling the same leftover at once
            if tag == "old" and not os.path.lexists(path):
                os.rename(leftover, path)
            else:
                discard(leftover)


def stale_leftovers(directory, base=None):
    """(name, output's name, "tmp" or "old") of each leftover in `directory` (of `base`, see
    `settle_leftovers`) whose writer is gone, the most recently moved first."""
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
        match = leftover_match(name, base)
        if match and writer_gone(match["machine"], int(match["pid"])):
            with contextlib.suppress(OSError):
                found.append((os.lstat(os.path.join(directory, name)).st_ctime, name, match["base"], match["tag"]))
    return [(name, output, tag) for _, name, output, tag in sorted(found, reverse=True)]


def leftover_match(name, base=None):
    """The LEFTOVER match of `name` when it is a leftover of the output `base` (None: of any), else None."""
    match = re.match(LEFTOVER, name)
    return match if match and (base is None or match["base"] in (base, f".{base}")) else None


def writer_gone(machine, pid):
    """Whether the process `pid` of `machine` (`machine_tag`) is known to have exited: it ran here and no
    process has its pid. A running pid (even a reused one) or another machine's: not known."""
    if os.name != "posix" or machine != machine_tag():  # (os.kill(pid, 0) would end a process on Windows)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: another user's process, running
        return False
    return False


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


class Output(typing.NamedTuple):
    """An output that passed `check_output`: `atomic_output` writes it without checking again."""
    path: str
    overwrite: bool
    kind: str  # "file", "dir" (replaced whole) or "base" (a directory worked in and added to)
    flag: str

    def __fspath__(self):
        return self.path


ACCEPTED = {"file": "a file path", "dir": "a directory (it is created if missing)",
            "base": "a directory (it is created if missing)"}


def check_output(path, overwrite=False, kind="file", flag="--out"):
    """The output policy, checked once per command, before the work: `path` is a new file or directory
    (`kind` "file", "dir"), or an existing one of that kind when `overwrite` (an empty directory counts as new;
    a directory output is never a symbolic link); or ("base") a directory the command works in and adds to
    (a run, a study, a base of exports), new or not. Never a device, FIFO or socket; under a writable
    directory. What killed writers of `path` left beside it is settled first (`settle_leftovers`). Returns
    the `Output` that `atomic_output` writes."""
    path = os.fspath(path)
    if kind != "base":
        settle_leftovers(*os.path.split(os.path.abspath(path)))
    refuse_special(path, f"{flag} {path}", ACCEPTED[kind])
    if kind == "file" and os.path.isdir(path):
        raise UserError(f"{flag} {path} is a directory; pass a file path")
    if kind != "file" and os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"{flag} {path} is a file; pass a directory (it is created if missing)")
    if kind == "file" and os.path.exists(path) and not overwrite:
        raise UserError(f"{flag} {path} exists; pass --overwrite to replace it")
    if kind == "dir" and os.path.isdir(path):
        check_directory_output(path, overwrite, flag)
    writable_parent(os.path.join(path, "x") if kind == "base" and os.path.isdir(path) else path, flag)
    return Output(path, overwrite, kind, flag)


def check_directory_output(path, overwrite, flag):
    """An existing directory output: replaced whole, so only with `overwrite`, never through a symbolic link,
    never a run directory nor one holding the current directory."""
    refuse_link(path, flag)
    refuse_enclosing(path, flag)
    refuse_run_directory(path, flag)
    held = os.listdir(path)
    if held and not overwrite:
        raise UserError(f"{flag} {path} already holds {describe_entries(held)}; pass --overwrite to replace them "
                        "(the directory is replaced whole)")


def refuse_link(path, flag):
    """A directory output is replaced whole: a symbolic link would have the directory it points to deleted."""
    if os.path.islink(path):
        raise UserError(f"{flag} {path} is a symbolic link (to {os.readlink(path)}); pass the directory itself or a "
                        "new path: a directory output is replaced whole, never through a link")


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
def atomic_output(output, overwrite=False, kind="file", flag="--out"):
    """Write one output, file or directory, by the output policy: `output` is an `Output` of `check_output`
    (checked before the work, not again) or a path, checked here with the other arguments. The block writes
    into the temporary path it is given (beside the output), which `publish` moves in when the block
    succeeds. If the block fails or is interrupted, the temporary is removed and the output is as it was."""
    if not isinstance(output, Output):
        output = check_output(output, overwrite, kind, flag)
    created = missing_ancestor(output.path)
    os.makedirs(os.path.dirname(os.path.abspath(output.path)), exist_ok=True)
    temporary = sibling(output.path)
    if output.kind == "dir":
        os.mkdir(temporary)
    try:
        yield temporary
        publish(temporary, output)
    except BaseException:
        discard(temporary)
        if created:
            remove_empty_directories(os.path.dirname(os.path.abspath(output.path)), created)
        raise


def write_output(output, write, *args):
    """Write `output` (an `Output` or a path, see `atomic_output`) with `write(temporary, *args)`; its path."""
    with atomic_output(output) as temporary:
        write(temporary, *args)
    return os.fspath(output)


REFUSED_AT_RENAME = (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR)


def publish(temporary, output):
    """Move the finished `temporary` in at the output's path: over what is there when `overwrite`
    (`replace_file`, `replace_directory`), else by a step that fails if anything appeared there while the
    command worked (a file: `link_new`; a directory: a rename), and the refusal is check_output's, in one line."""
    path = output.path
    if output.overwrite:
        replace_file(temporary, path) if output.kind == "file" else replace_directory(temporary, path, output.flag)
        return
    try:
        link_new(temporary, path) if output.kind == "file" else os.rename(temporary, path)  # at most an empty
        # directory is replaced (it counts as new): rename(2) fails on anything else
    except OSError as error:
        if error.errno not in REFUSED_AT_RENAME:
            raise
        check_output(path, False, output.kind, output.flag)  # says what is there now
        raise UserError(f"{output.flag} {path} was created while this command ran; pass --overwrite to replace "
                        "it") from None


NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS)


def link_new(temporary, path):
    """Give the finished file `temporary` the name `path` only if nothing has it: a hard link, then the
    temporary name removed; on a filesystem without hard links, `path` created exclusively, then replaced."""
    try:
        os.link(temporary, path)
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        os.replace(temporary, path)
        return
    os.remove(temporary)


def replace_directory(temporary, path, flag="--out"):
    """Swap the finished directory `temporary` in at `path`; an existing `path` is moved aside first and
    removed only after the swap. Interrupted between the two renames, the old one is moved back; killed
    there, it stays beside under a hidden name, and the next check of `path` moves it back
    (`settle_leftovers`). Never through a symbolic link, never over a run directory."""
    refuse_special(path, f"{flag} {path}", "a directory")
    if not os.path.lexists(path):
        os.rename(temporary, path)
        return
    if not os.path.isdir(path):
        raise UserError(f"{flag} {path} is a file; pass a directory (it is created if missing)")
    refuse_link(path, flag)
    refuse_run_directory(path, flag)
    old = sibling(path, "old")
    try:
        os.rename(path, old)
        os.rename(temporary, path)
    except BaseException:
        if os.path.lexists(old) and not os.path.lexists(path):  # not swapped: the old one back
            os.rename(old, path)
        raise
    finally:
        if not os.path.lexists(temporary):  # swapped (even if interrupted just after): the old one goes
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
    directory is touched (the directory is created if missing and `create`); then what killed writers left
    there is settled (`settle_leftovers`); yields the directory's entries from then (None: it did not exist).
    A new directory holding only the lock afterwards is removed again. POSIX flock, released by the kernel if
    the holder dies; no lock where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield entries(directory)
        return
    before = entries(directory)
    if before is None and not create:
        yield None  # nothing to protect: the caller reports the missing directory
        return
    try:
        handle = acquire(directory, name, fcntl, flag)
    except UserError:
        if before is None:  # made for the lock, which failed (a holder's lock stays: rmdir fails)
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        raise
    try:
        if before is not None:
            settle_leftovers(directory)
            before = entries(directory) - ({name} - before)  # less what was settled, a lock file we made aside
        yield before
    finally:
        if before is None:
            with contextlib.suppress(OSError):
                if os.listdir(directory) == [name]:
                    os.remove(os.path.join(directory, name))
                    os.rmdir(directory)
        handle.close()  # releases the lock


LOCK_ATTEMPTS = 5  # a lock file or directory removed under us (by its last holder) this many times in a row: refused


def acquire(directory, name, fcntl, flag):
    """The open, flock-ed lock file (its content: our pid). A lock file (or its new directory) removed by its
    last holder meanwhile is not the lock any more: take the one now at the path."""
    path = os.path.join(directory, name)
    for _ in range(LOCK_ATTEMPTS):
        try:
            os.makedirs(directory, exist_ok=True)
            handle = open(path, "a+")
        except FileNotFoundError:  # the directory went between the two steps
            continue
        lock_now(handle, fcntl, directory, flag)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                handle.seek(0)
                handle.truncate()
                handle.write(str(os.getpid()))
                handle.flush()
                return handle
        handle.close()
    raise UserError(f"{flag} {directory} (or its lock file {name}) was removed {LOCK_ATTEMPTS} times while its lock "
                    "was being taken; make sure nothing else deletes it, then rerun")


def lock_now(handle, fcntl, directory, flag):
    """flock the open lock file `handle` without waiting; held by another process, or impossible on this
    filesystem, a one-line UserError (the handle closed, a lock file nobody wrote to removed)."""
    try:
        flock(handle, fcntl, fcntl.LOCK_EX | fcntl.LOCK_NB, f"{flag} {directory}")
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        remedy = f"wait for it or choose another {flag}" if flag.startswith("--") else "wait for it to finish"
        raise UserError(f"{flag} {directory} is in use by another gan-zoo process (pid {pid}); {remedy}") from None
    except UserError:
        handle.close()
        with contextlib.suppress(OSError):
            if os.path.getsize(handle.name) == 0:
                os.remove(handle.name)
        raise


NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP)


def flock(handle, fcntl, operation, name):
    """fcntl.flock; on a filesystem without locks (ENOLCK: some NFS mounts) a one-line UserError naming `name`."""
    try:
        fcntl.flock(handle, operation)
    except OSError as error:
        if error.errno not in NO_LOCKS:
            raise
        raise UserError(f"{name} is on a filesystem that does not support file locks ({error.strerror}); run on a "
                        "local disk") from None


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
        flock(handle, fcntl, fcntl.LOCK_EX, f"{path}.lock")
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
