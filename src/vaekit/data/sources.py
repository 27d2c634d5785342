"""Where data sets come from: built-in names (a registry) or a path to a user file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, DataNotFoundError, opt
from ..registry import Registry
from . import mnist
from .config import DataConfig
from .dataset import SPLITS, Dataset, finish
from .files import FILE_SUFFIXES, from_file
from .folders import folder_digest

# name -> function(DataConfig) -> Dataset
DATASETS: Registry = Registry("dataset")


@DATASETS.add("digits")
def digits(config: DataConfig) -> Dataset:
    """scikit-learn's 8x8 digits (bundled: works offline), scaled to [0, 1], with labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)  # (1797, 64), pixel values 0..16 -> [0, 1]
    return finish("digits", {"train": x}, {"train": d.target}, config, image_shape=(8, 8))


@DATASETS.add("binarized-mnist")
def binarized_mnist(config: DataConfig) -> Dataset:
    """Larochelle & Murray's static binarization, 50k/10k/10k (see :mod:`.mnist`)."""
    splits = mnist.load(config.data_dir)
    return finish("binarized-mnist", splits, None, config, image_shape=(28, 28))


# Names of data that came as arrays or Dataset objects in Python, not from a name or a file.
MEMORY = "memory:"


def from_memory(data: Any, config: DataConfig) -> Dataset:
    """A Dataset from arrays in Python: one (N, D) or (N, H, W) array, or a dict of splits
    (``train`` required; ``valid``, ``test``, ``<split>_labels``, ``<split>_cond`` optional); a
    Dataset as it is.
    Recorded under a ``memory:`` name, which later commands cannot reload by themselves."""
    if isinstance(data, Dataset):
        return data if data.name.startswith(MEMORY) or is_builtin(data.name) or is_file_name(
            data.name) else data.replaced(name=MEMORY + data.name)  # fmt: skip
    arrays = data if isinstance(data, dict) else {"train": data}
    if "train" not in arrays:
        raise DataError("data given as a dict needs a 'train' array (and optionally valid, test)")
    splits = {k: np.asarray(v) for k, v in arrays.items() if k in SPLITS}
    labels = {k: np.asarray(arrays[f"{k}_labels"]) for k in splits if f"{k}_labels" in arrays}
    attributes = {k: np.asarray(arrays[f"{k}_cond"]) for k in splits if f"{k}_cond" in arrays}
    return finish(f"{MEMORY}array", splits, labels, config, attributes=attributes)


def is_builtin(name: str) -> bool:
    return name in DATASETS


def is_file_name(name: str) -> bool:
    """Whether ``name`` means a file rather than a data set's name."""
    if is_builtin(name):
        return False
    path = Path(name).expanduser()
    return path.suffix.lower() in FILE_SUFFIXES or path.exists() or "/" in name


def canonical_name(name: str) -> str:
    """A file as its absolute path, so a run works from any folder; anything else as it is."""
    return str(Path(name).expanduser().resolve()) if is_file_name(name) else name


def fingerprint(name: str) -> str | None:
    """A digest of a data file's bytes or an image folder's images (None for built-in data
    sets, known by name)."""
    path = Path(name).expanduser()
    if is_file_name(name) and path.is_dir():
        return folder_digest(path)
    if not is_file_name(name) or not path.is_file():
        return None
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def load_dataset(config: DataConfig | str = "digits", data_dir: str | None = None) -> Dataset:
    """Load, validate and split the data set a :class:`DataConfig` (or a name/path) names."""
    if isinstance(config, str):
        config = DataConfig(name=config, data_dir=data_dir)
    name = config.name
    builtin: Callable[[DataConfig], Dataset] | None = DATASETS.get(name)
    if builtin is not None:
        return builtin(config)
    if is_file_name(name):
        return from_file(Path(name).expanduser(), config)
    raise ConfigError(
        f"unknown dataset {name!r}; use one of {', '.join(DATASETS)} or a path to a "
        f"{'/'.join(FILE_SUFFIXES)} file"
    )


def locate(config: DataConfig, given: str | None) -> tuple[DataConfig, bool | None]:
    """Where a run's data is now: ``given`` (a new path or name) or where it was recorded.

    Returns the config to load and whether it is the run's own data by content (True/False;
    None where unknown: a built-in name, or a run that recorded no fingerprint). A recorded
    file that is gone is an error that says to pass ``--data``.
    """
    if given is None and config.name.startswith(MEMORY):
        raise DataNotFoundError(
            f"this run was trained on data given in Python ({config.name}); pass {opt('data')} with a "
            "file holding it (.npy, .npz or .csv)"
        )
    if given is not None:
        name = canonical_name(str(given))
        # how the run's file was read is no constraint on other data: lazy only for a .npy
        # or an image folder
        lazy_ok = name.lower().endswith(".npy") or Path(name).is_dir()
        moved = replace(config, name=name, lazy=bool(config.lazy) and lazy_ok)
        same = None if config.fingerprint is None else fingerprint(moved.name) == config.fingerprint
        return moved, same
    if is_file_name(config.name) and not Path(config.name).expanduser().exists():
        raise DataNotFoundError(
            f"{config.name}, the data this run was trained on, is not there any more; pass "
            f"{opt('data')} with where it is now (its content is checked against the run's)"
        )
    return config, None
