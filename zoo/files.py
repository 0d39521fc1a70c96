"""Small file helpers: atomic JSON writes and sha256 checksums."""
import hashlib
import json
import os


def write_json(path, payload):
    """Atomic JSON write: a kill mid-write leaves the previous file intact."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)
    os.replace(temporary, path)


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def sha256_of(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
