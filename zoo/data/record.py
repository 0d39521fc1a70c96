"""The data record: what a generator's images are of, travelling with the model.

One `DataRecord` per run (run.json "data_record") and per preset (card.json "data"): the dataset (a name or a
folder), the (h, w) of its own images, the channels and (h, w) canvas the generator draws, the padding around the
dataset's frame when training padded its images onto the canvas (crop="pad"), and its class names. Sampling,
evaluation, projection and the demo read it instead of assuming Fashion-MNIST. Runs and presets made before it was
recorded get it from their training configuration (`from_description`): nothing on disk needs rewriting.
"""
import dataclasses
import os
from typing import Optional

from zoo.errors import UserError

RECORD_KEY = "data_record"  # the record's key in a run's run.json and in a target's description


@dataclasses.dataclass(frozen=True)
class DataRecord:
    """What a generator's images are of. `native`: the dataset's own (h, w), None when its images differ in size;
    `canvas`: the generator's (h, w); `padding`: (top, left, bottom, right) pixels of canvas around the dataset's
    frame when training padded the images (else None); `crop`: how training brought images to the canvas
    (none = resize, center, random, pad); `domains`: the two domains of an unpaired run."""

    dataset: str
    native: Optional[tuple]
    channels: int
    canvas: tuple
    padding: Optional[tuple] = None
    class_names: Optional[tuple] = None
    split: str = "train"
    crop: str = "none"
    domains: Optional[tuple] = None

    @property
    def frame(self):
        """(h, w) of the dataset's image inside the canvas: the native size when padded, else the whole canvas."""
        return self.native if self.padding else self.canvas

    @property
    def padded_from(self):
        """The native (h, w) a padded canvas holds, None when the images fill the canvas."""
        return self.native if self.padding else None

    @property
    def is_folder(self):
        return os.path.isdir(self.dataset)

    def describe(self):
        """"folder my_color_folder (64×64×3)" or "fashion_mnist (28×28×1)": the data and the frame scored."""
        name = f"folder {os.path.basename(os.path.normpath(self.dataset))}" if self.is_folder else self.dataset
        return f"{name} ({self.frame[0]}×{self.frame[1]}×{self.channels})"

    def has_split(self, split):
        """Whether the data has `split`: a folder has "train" (its images) and its subfolders' names."""
        return not self.is_folder or split == "train" or os.path.isdir(os.path.join(self.dataset, split))

    def load_options(self):
        """datasets.load's image_size, channels and crop that give real images in the frame generated images are
        scored in: the dataset's own images for a padded canvas, else as training fed them (a random crop as a
        centred one: reproducible)."""
        if self.padding or self.canvas == self.native:
            return {"image_size": None, "channels": self.channels, "crop": "none"}
        return {"image_size": self.canvas, "channels": self.channels,
                "crop": "center" if self.crop == "random" else self.crop}

    def get(self, key, default=None):
        """Deprecated dict-style read, for code written when `g.data` was the training configuration (run.json's
        "data"): the field `key` ("image_size": the canvas), else `default`."""
        if key == "image_size":
            return self.canvas
        return getattr(self, key) if key in {field.name for field in dataclasses.fields(self)} else default

    def to_json(self):
        return {field.name: list(value) if isinstance(value, tuple) else value
                for field in dataclasses.fields(self) for value in [getattr(self, field.name)]}

    @classmethod
    def from_json(cls, payload):
        """The record of `to_json`; anything else is a one-line UserError."""
        names = {field.name for field in dataclasses.fields(cls)}
        if not isinstance(payload, dict) or not {"dataset", "native", "channels", "canvas"} <= set(payload) \
                or not set(payload) <= names:
            raise UserError(f"not a data record: {payload!r}; expected an object with dataset, native, channels, "
                            f"canvas and optionally {', '.join(sorted(names - {'dataset', 'native', 'channels', 'canvas'}))}")
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in payload.items()})


def padding_of(native, canvas):
    """(top, left, bottom, right) that centre `native` (h, w) on `canvas` (h, w), as datasets' crop="pad" does."""
    top, left = (canvas[0] - native[0]) // 2, (canvas[1] - native[1]) // 2
    return top, left, canvas[0] - native[0] - top, canvas[1] - native[1] - left


def resolve(data, image_shape, data_dir=None):
    """The record of a training configuration `data` (run.json's "data": dataset, split, image_size, crop,
    channels, classes, domains) for a generator of `image_shape` (h, w, c). The dataset's native size and class
    names are read from its source (Fashion-MNIST's and the triangles' are known); an unpaired run of two folders
    describes its first domain's folder."""
    from zoo.data import datasets

    data = data or {}
    dataset = str(data.get("dataset") or "fashion_mnist")
    domains = tuple(data["domains"]) if data.get("domains") else None
    source = str(domains[0]) if domains and os.path.isdir(str(domains[0])) else dataset
    canvas = (int(image_shape[0]), int(image_shape[1]))
    native, class_names = datasets.describe(source, data.get("split") or "train", data_dir=data_dir,
                                            image_size=canvas)
    crop = data.get("crop") or "none"
    padded = crop == "pad" and native is not None and native != canvas
    return DataRecord(dataset=dataset, native=native, channels=int(image_shape[2]), canvas=canvas,
                      padding=padding_of(native, canvas) if padded else None, class_names=class_names,
                      split=data.get("split") or "train", crop=crop, domains=domains)


def from_description(description, image_shape, data_dir=None):
    """The record a run's run.json or a target's description carries (`RECORD_KEY`); one made before records were
    kept is resolved from its training configuration ("data"; none: a Fashion-MNIST generator, as the zoo assumed
    then). A folder that is gone leaves the native size unknown."""
    description = description or {}
    stored = description.get(RECORD_KEY)
    if stored is not None:
        return stored if isinstance(stored, DataRecord) else DataRecord.from_json(stored)
    data = description.get("data")
    try:
        return resolve(data, image_shape, data_dir)
    except UserError:  # the data moved or went away since: what the configuration says, native size unknown
        data = data or {}
        return DataRecord(dataset=str(data.get("dataset")), native=None, channels=int(image_shape[2]),
                          canvas=(int(image_shape[0]), int(image_shape[1])), split=data.get("split") or "train",
                          crop=data.get("crop") or "none", domains=tuple(data["domains"]) if data.get("domains") else None)


def of_card(card, image_shape=None, data_dir=None):
    """The record of a preset's card: card["data"], or for a card made before, resolved from its training data
    for a generator of `image_shape` (default: the card's)."""
    return from_description({RECORD_KEY: card.get("data"), "data": card.get("training", {}).get("data")},
                            image_shape or card["image_shape"], data_dir)
