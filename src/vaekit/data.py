"""Data sets: built-in names or user files, validated and split into train/valid/test.

Every array leaves here as float32 (N, D) with finite values; images are flattened and their
shape kept for pictures. Splits that the source lacks are carved from train with a seed, so
the same config always yields the same split.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import mnist
from .config import DataConfig
from .errors import ConfigError, DataError, DataNotFoundError

BUILTIN = ("digits", "binarized-mnist")
FILE_SUFFIXES = (".npz", ".npy", ".csv")


@dataclass
class Dataset:
    name: str
    train: np.ndarray  # (N_train, D) float32
    valid: np.ndarray  # (N_valid, D)
    test: np.ndarray  # (N_test, D)
    image_shape: tuple[int, ...] | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (N,) where known

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    def split(self, name: str) -> np.ndarray:
        if name not in ("train", "valid", "test"):
            raise ConfigError(f"unknown split {name!r}; choose one of: train, valid, test")
        return getattr(self, name)


def load_dataset(config: DataConfig | str = "digits", data_dir: str | None = None) -> Dataset:
    """Load, validate and split the data set a :class:`DataConfig` (or a name/path) names."""
    if isinstance(config, str):
        config = DataConfig(name=config, data_dir=data_dir)
    name = config.name
    if name == "digits":
        return _digits(config)
    if name == "binarized-mnist":
        s = mnist.load(config.data_dir)
        return _finish("binarized-mnist", s, None, config, image_shape=(28, 28))
    path = Path(name).expanduser()
    if path.suffix.lower() in FILE_SUFFIXES or path.exists() or "/" in name:
        return _from_file(path, config)
    raise ConfigError(
        f"unknown dataset {name!r}; use one of {', '.join(BUILTIN)} or a path to a "
        f"{'/'.join(FILE_SUFFIXES)} file"
    )


def _digits(config: DataConfig) -> Dataset:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: works offline

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)  # (1797, 64), pixel values 0..16 -> [0, 1]
    return _finish("digits", {"train": x}, {"train": d.target}, config, image_shape=(8, 8))


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


def _read_csv(path: Path) -> np.ndarray:
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


def _from_file(path: Path, config: DataConfig) -> Dataset:
    suffix = path.suffix.lower()
    labels: dict[str, np.ndarray] = {}
    if suffix == ".npz":
        arrays = read_npz(path)
        if "train" not in arrays:
            raise DataError(
                f"{path} has no array named 'train' (found: {', '.join(arrays) or 'none'}); "
                "save your data with np.savez(path, train=X, valid=..., test=...)"
            )
        splits = {s: arrays[s] for s in ("train", "valid", "test") if s in arrays}
        labels = {s: arrays[f"{s}_labels"] for s in splits if f"{s}_labels" in arrays}
    elif suffix == ".npy":
        splits = {"train": read_npy(path)}
    elif suffix == ".csv":
        splits = {"train": _read_csv(path)}
    else:
        _require_file(path)
        raise DataError(f"{path}: unsupported file type; use {', '.join(FILE_SUFFIXES)}")
    return _finish(str(path.resolve()), splits, labels, config, origin=str(path))


def check_array(a: np.ndarray, what: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Validate one split: numeric, non-empty, finite, (N, D) or (N, H, W). -> float32 (N, D)."""
    if (
        not isinstance(a, np.ndarray)
        or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_)
        or np.issubdtype(a.dtype, np.complexfloating)
    ):
        dtype = getattr(a, "dtype", type(a).__name__)
        raise DataError(f"{what} has dtype {dtype}; it must hold real numbers")
    if a.ndim not in (2, 3):
        raise DataError(
            f"{what} has shape {a.shape}; expected (examples, features) or (examples, height, width)"
        )
    if a.shape[0] == 0 or math.prod(a.shape[1:]) == 0:
        raise DataError(f"{what} is empty (shape {a.shape})")
    image_shape = tuple(int(s) for s in a.shape[1:]) if a.ndim == 3 else None
    x = a.reshape(a.shape[0], -1)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise DataError(f"{what} holds NaN or Inf (first at row {bad[0]}, column {bad[1]})")
    with np.errstate(over="ignore"):  # reported below as one line, not as a warning
        x32 = x.astype(np.float32)
    if not np.isfinite(x32).all():
        raise DataError(f"{what} holds values too large for float32")
    return np.ascontiguousarray(x32), image_shape


def _square_shape(dim: int) -> tuple[int, int] | None:
    side = math.isqrt(dim)
    return (side, side) if side * side == dim and side >= 4 else None


def _finish(
    name: str,
    splits: dict[str, np.ndarray],
    labels: dict[str, np.ndarray] | None,
    config: DataConfig,
    image_shape: tuple[int, ...] | None = None,
    origin: str | None = None,
) -> Dataset:
    origin = origin or name
    arrays: dict[str, np.ndarray] = {}
    for s, a in splits.items():
        arrays[s], shape = check_array(a, f"{origin} ({s} split)")
        image_shape = image_shape or shape
    dims = {s: a.shape[1] for s, a in arrays.items()}
    if len(set(dims.values())) > 1:
        raise DataError(f"{origin}: splits differ in number of features: {dims}")
    labels = dict(labels or {})
    _carve(arrays, labels, config)
    dim = arrays["train"].shape[1]
    return Dataset(name, arrays["train"], arrays["valid"], arrays["test"],
                   image_shape or _square_shape(dim), labels)  # fmt: skip


def _carve(
    arrays: dict[str, np.ndarray], labels: dict[str, np.ndarray], config: DataConfig
) -> None:
    """Fill in missing test/valid splits from train, by a permutation seeded with split_seed."""
    rng = np.random.default_rng(config.split_seed)
    for split, fraction in (("test", config.test_fraction), ("valid", config.valid_fraction)):
        if split in arrays:
            continue
        n = arrays["train"].shape[0]
        n_out = int(round(n * fraction))
        if n_out < 1 or n - n_out < 1:
            raise DataError(
                f"{n} training example(s) are too few to carve a {split} split; provide more data "
                f"or an explicit '{split}' array"
            )
        perm = rng.permutation(n)
        take, keep = perm[:n_out], perm[n_out:]
        arrays[split], arrays["train"] = arrays["train"][take], arrays["train"][keep]
        if "train" in labels and len(labels["train"]) == n:
            labels[split], labels["train"] = labels["train"][take], labels["train"][keep]
