"""Data: built-in data sets, user files, binarized MNIST; validated, split, float32 (N, D).

A new built-in data set is one function registered in ``sources.DATASETS``; a new file
format is a reader in ``files``.
"""

from __future__ import annotations

from .config import DataConfig
from .dataset import SPLITS, Dataset, check_array
from .files import read_npy, read_npz
from .sources import (
    DATASETS,
    MEMORY,
    canonical_name,
    fingerprint,
    from_memory,
    is_builtin,
    load_dataset,
    locate,
)

__all__ = ["DATASETS", "SPLITS", "DataConfig", "Dataset", "canonical_name", "check_array",
           "MEMORY", "fingerprint", "from_memory", "is_builtin", "load_dataset", "locate", "read_npy", "read_npz"]  # fmt: skip
