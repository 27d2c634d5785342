"""Reading user data files (.npz, .npy, .csv) without ever unpickling; one-line errors."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, DataNotFoundError, opt
from .config import DataConfig
from .dataset import SPLITS, Dataset, finish
from .folders import read_image_folder, scan_image_folder

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


def read_npy(path: Path, lazy: bool = False) -> np.ndarray:
    """The array in a .npy file; memory-mapped read-only with ``lazy`` (read as needed)."""
    _require_file(path)
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if lazy else None)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path} is not a readable .npy file ({_reason(e)})") from None


MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "?"})


@dataclass
class Table:
    """A CSV file's columns: numbers (NaN where missing) and, for text columns, the text."""

    values: np.ndarray  # (N, C) float64
    names: list[str]
    text: dict[str, list[str]]  # column name -> its cells, for the columns asked as text


def read_csv(path: Path, text_columns: tuple[str, ...] = ()) -> Table:
    """A numeric CSV file, with an optional header row (names "0", "1", … without one).

    Clean numeric files take NumPy's fast reader; otherwise cells are read one by one, so a
    value that is not a number is reported with its row and column; missing values (empty,
    NaN, NA, ?) become NaN for the caller to refuse or impute. ``text_columns`` (names or
    indices) may hold any text, e.g. class names.
    """
    _require_file(path)
    try:
        with path.open("r", encoding="utf-8", newline="") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path} as CSV: {_reason(e)}") from None
    if not rows:
        raise DataError(f"{path} is empty: not a numeric CSV file")
    header = None if _is_numeric_row(rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header is not None else rows
    width = len(header) if header is not None else len(body[0])
    names = header or [str(i) for i in range(width)]
    text_idx = {resolve_column(names, c, path) for c in text_columns}
    if not text_idx:
        try:  # the fast path: every cell a number, every row as wide
            return Table(np.array(body, dtype=np.float64).reshape(len(body), width), names, {})
        except ValueError:
            pass  # read cell by cell below, to say where and what
    values = np.full((len(body), width), np.nan)
    text: dict[str, list[str]] = {names[j]: [] for j in sorted(text_idx)}
    for i, row in enumerate(body):
        if len(row) != width:
            raise DataError(
                f"{path}: row {i + 1} has {len(row)} values where the "
                f"{'header' if header else 'first row'} has {width}: not a numeric CSV file "
                "of equal rows"
            )
        for j, cell in enumerate(row):
            cell = cell.strip()
            if j in text_idx:
                text[names[j]].append(cell)
            elif cell.lower() not in MISSING:
                try:
                    values[i, j] = float(cell)
                except ValueError:
                    raise DataError(
                        f"{path}: row {i + 1}, column {names[j]!r} holds {cell[:40]!r}, not a "
                        "number: not a numeric CSV file (a text column of class labels goes in "
                        f"{opt('label_column')})"
                    ) from None
    return Table(values, names, text)


def csv_names(path: Path) -> list[str]:
    """The column names of a CSV file: its header row, or "0", "1", … without one."""
    _require_file(path)
    try:
        with path.open("r", encoding="utf-8", newline="") as f:
            first = next((r for r in csv.reader(f) if any(c.strip() for c in r)), None)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read {path} as CSV: {_reason(e)}") from None
    if first is None:
        raise DataError(f"{path} is empty: not a numeric CSV file")
    if _is_numeric_row(first):
        return [str(i) for i in range(len(first))]
    return [c.strip() for c in first]


def resolve_column(names: list[str], column: str, path: Path) -> int:
    """The index of ``column``: a header name, or a 0-based index."""
    if column in names:
        return names.index(column)
    if column.isdigit() and int(column) < len(names):
        return int(column)
    raise DataError(f"{path} has no column {column!r} (columns: {', '.join(names[:20])})")


def _is_numeric_row(row: list[str]) -> bool:
    try:
        [float(v) for v in row if v.strip().lower() not in MISSING]
    except ValueError:
        return False
    return True


def from_file(path: Path, config: DataConfig) -> Dataset:
    """A data set from a user file: .npz with splits (and ``<split>_labels``, and condition
    vectors ``<split>_cond``), .npy or .csv,
    or a folder of images (PNG/JPEG/TIFF/BMP; class subfolders give labels)."""
    suffix = path.suffix.lower()
    labels: dict[str, np.ndarray] = {}
    attributes: dict[str, np.ndarray] = {}
    image_shape = None
    if path.is_dir():  # a folder of image files, one subfolder per class if any
        size = config.image_size
        read = scan_image_folder if config.lazy else read_image_folder
        folder = read(path, None if size is None else (size[0], size[-1]))
        splits = {"train": folder.images}  # (N, H, W, C) uint8/uint16, or lazy (N, D) rows
        labels = {} if folder.labels is None else {"train": folder.labels}
        image_shape = folder.image_shape  # lazy rows: (H, W, C); in memory: from the array
    elif suffix == ".npz":
        arrays = read_npz(path)
        if "train" not in arrays:
            raise DataError(
                f"{path} has no array named 'train' (found: {', '.join(arrays) or 'none'}); "
                "save your data with np.savez(path, train=X, valid=..., test=...)"
            )
        splits = {s: arrays[s] for s in SPLITS if s in arrays}
        labels = {s: arrays[f"{s}_labels"] for s in splits if f"{s}_labels" in arrays}
        attributes = {s: arrays[f"{s}_cond"] for s in splits if f"{s}_cond" in arrays}
    elif suffix == ".npy":
        splits = {"train": read_npy(path, bool(config.lazy))}
    elif suffix == ".csv":
        splits, labels, attributes = _csv_splits(path, config)
    else:
        _require_file(path)
        raise DataError(f"{path}: unsupported file type; use {', '.join(FILE_SUFFIXES)}")
    return finish(str(path.resolve()), splits, labels, config, image_shape, origin=str(path),
                  attributes=attributes)  # fmt: skip


def _csv_splits(
    path: Path, config: DataConfig
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The feature columns a CSV's settings select (``columns``/``drop_columns``), the
    ``label_column``'s values as integer classes (text labels numbered in sorted order), and
    the ``condition_columns`` as (N, C) attribute vectors; the last two are never features."""
    names = csv_names(path)
    keep = list(range(len(names)))
    if config.columns:
        keep = [resolve_column(names, c, path) for c in config.columns]
    elif config.drop_columns:
        drop = {resolve_column(names, c, path) for c in config.drop_columns}
        keep = [j for j in keep if j not in drop]
    label = (
        None if config.label_column is None else resolve_column(names, config.label_column, path)
    )
    cond = [resolve_column(names, c, path) for c in config.condition_columns or ()]
    keep = [k for k in keep if k != label and k not in cond]
    if not keep:
        raise DataError(f"{path}: no feature columns are left after the column selection")
    # Only the feature columns must hold numbers; the label and unused columns may hold text.
    numeric = {*keep, *cond}
    table = read_csv(path, tuple(str(j) for j in range(len(names)) if j not in numeric))
    labels: dict[str, np.ndarray] = {}
    if label is not None:
        labels["train"] = np.unique(np.asarray(table.text[names[label]]), return_inverse=True)[1]
    x = table.values[:, keep]
    missing = np.argwhere(np.isnan(x))
    if missing.size and config.impute is None:
        r, c = missing[0]
        raise DataError(
            f"{path}: {len(missing)} missing value(s), the first at row {r + 1}, column "
            f"{names[keep[c]]!r}; fill them in, drop the column ({opt('drop_columns')}) or pass "
            f"{opt('impute', 'mean')}"
        )
    attributes = {"train": table.values[:, cond]} if cond else {}
    return {"train": x}, labels, attributes
