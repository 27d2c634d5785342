"""Reading user data files (.npz, .npy, .csv) without ever unpickling; one-line errors."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError, DataNotFoundError
from .config import DataConfig
from .dataset import SPLITS, Dataset, finish

FILE_SUFFIXES = (".npz", ".npy", ".csv")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz, pickles refused; any failure is a one-line :class:`DataError`."""
    _require_file(path)
    try:
        # Our own handle: np.load leaks its file when the archive is truncated.
        with path.open("rb") as f, np.load(f, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError) as e:
        raise DataError(f"{path} is not a readable .npz file ({_reason(e)})") from None


def _reason(e: BaseException) -> str:
    text = str(e)
    if "pickle" in text:  # numpy's hint to load unsafely is not advice vaekit gives
        return "not a NumPy array file; vaekit never loads pickled data"
    text = text.split("; use `usecols`")[0]  # numpy's advice to callers, not to users
    return text.splitlines()[0][:200] if text else type(e).__name__


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataNotFoundError(f"data file {path} does not exist")
    if not path.is_file():
        raise DataError(f"{path} is not a file")


def read_npy(path: Path) -> np.ndarray:
    _require_file(path)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path} is not a readable .npy file ({_reason(e)})") from None


def read_csv(path: Path) -> np.ndarray:
    _require_file(path)
    try:
        with path.open("r", encoding="utf-8") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path}: {_reason(e)}") from None
    skip = 0 if _is_numeric_row(first) else 1  # a header row is allowed, only as the first row
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty files: reported later, not warned
            return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=skip, dtype=np.float64)
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise DataError(
            f"{path} is not a numeric CSV file of comma-separated numbers ({_reason(e)})"
        ) from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {_reason(e)}") from None


def _is_numeric_row(line: str) -> bool:
    try:
        [float(v) for v in line.strip().split(",")]
    except ValueError:
        return False
    return True


def from_file(path: Path, config: DataConfig) -> Dataset:
    """A data set from a user file: .npz with splits (and ``<split>_labels``), .npy or .csv."""
    suffix = path.suffix.lower()
    labels: dict[str, np.ndarray] = {}
    if suffix == ".npz":
        arrays = read_npz(path)
        if "train" not in arrays:
            raise DataError(
                f"{path} has no array named 'train' (found: {', '.join(arrays) or 'none'}); "
                "save your data with np.savez(path, train=X, valid=..., test=...)"
            )
        splits = {s: arrays[s] for s in SPLITS if s in arrays}
        labels = {s: arrays[f"{s}_labels"] for s in splits if f"{s}_labels" in arrays}
    elif suffix == ".npy":
        splits = {"train": read_npy(path)}
    elif suffix == ".csv":
        splits = {"train": read_csv(path)}
    else:
        _require_file(path)
        raise DataError(f"{path}: unsupported file type; use {', '.join(FILE_SUFFIXES)}")
    return finish(str(path.resolve()), splits, labels, config, origin=str(path))
