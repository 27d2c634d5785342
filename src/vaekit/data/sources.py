"""Where data sets come from: built-in names (a registry) or a path to a user file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..registry import Registry
from . import mnist
from .config import DataConfig
from .dataset import Dataset, finish
from .files import FILE_SUFFIXES, from_file

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


def load_dataset(config: DataConfig | str = "digits", data_dir: str | None = None) -> Dataset:
    """Load, validate and split the data set a :class:`DataConfig` (or a name/path) names."""
    if isinstance(config, str):
        config = DataConfig(name=config, data_dir=data_dir)
    name = config.name
    builtin: Callable[[DataConfig], Dataset] | None = DATASETS.get(name)
    if builtin is not None:
        return builtin(config)
    path = Path(name).expanduser()
    if path.suffix.lower() in FILE_SUFFIXES or path.exists() or "/" in name:
        return from_file(path, config)
    raise ConfigError(
        f"unknown dataset {name!r}; use one of {', '.join(DATASETS)} or a path to a "
        f"{'/'.join(FILE_SUFFIXES)} file"
    )
