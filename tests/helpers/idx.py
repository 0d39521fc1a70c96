"""IDX files (the Fashion-MNIST format) written by tests: fakes, and real subsets that make a test's
"whole dataset" small."""
import gzip

import numpy as np

from zoo.data import datasets


def idx_bytes(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_file(path, data, gz):
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_idx(directory, prefix, images, labels, gz=True):
    write_file(directory / f"{prefix}-images-idx3-ubyte", idx_bytes(images, 0x803), gz)
    write_file(directory / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels, 0x801), gz)


def write_fashion_mnist_subset(directory, train_count, test_count):
    """The first `train_count` training and `test_count` test images of the installed Fashion-MNIST, as a
    data_dir of IDX files."""
    directory.mkdir(parents=True, exist_ok=True)
    for split, prefix, count in (("train", "train", train_count), ("test", "t10k", test_count)):
        images_path, labels_path = datasets._find_idx_files(split, None)
        images = datasets._read_idx(images_path, 0x00000803, 3)[:count]
        labels = datasets._read_idx(labels_path, 0x00000801, 1)[:count]
        write_idx(directory, prefix, images, labels)
    return directory
