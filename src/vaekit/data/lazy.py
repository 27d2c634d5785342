"""Data read from disk as it is needed, for data larger than memory (``lazy``).

A .npy file is opened memory-mapped: nothing is read until rows are asked for, and the
operating system keeps in memory what fits. Splits carved out of it are :class:`RowSubset`
index views, not copies, in the same order as the in-memory path's (the same permutation),
so a lazy run sees the very batches an in-memory one does. Every reader takes a batch or a
chunk of rows at a time (``Dataset.rows``, ``Dataset.chunks``, the training loop's batches).
Only uint8 and float32 files can be used as they are; anything else would need a converted
copy, which is what lazy reading avoids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch

from ..errors import DataError, opt

CHUNK_ELEMENTS = 1 << 22  # values a chunk of rows: 16 MB in float32, 32 MB while scaling
LAZY_DTYPES = (np.uint8, np.float32)


class RowSubset:
    """Rows ``index`` of ``base`` (a memory-mapped array or another subset), read only when
    indexed; indexing gives an in-memory array of those rows."""

    def __init__(self, base: np.ndarray | RowSubset, index: np.ndarray) -> None:
        if isinstance(base, RowSubset):  # one level: index the file directly
            base, index = base.base, base.index[index]
        self.base, self.index = base, np.asarray(index)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.base.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: slice | np.ndarray) -> np.ndarray:
        return np.asarray(self.base[self.index[i]])


class Rows:
    """A split read as needed: ``rows[i:j]`` is rows i..j-1 as float32 in the model's units
    on ``device``. What estimators take for data that is not one float32 array in memory
    (uint8 or lazy splits: training's validation split), so it is converted a batch at a
    time; shape (N, D)."""

    ndim = 2

    def __init__(
        self, shape: tuple[int, int], read: Callable[[slice], np.ndarray], device: torch.device
    ) -> None:
        self.shape, self.read, self.device = shape, read, device

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, s: slice) -> torch.Tensor:
        return torch.from_numpy(self.read(s)).to(self.device)


class DecodedRows:
    """Rows made when indexed by ``decode(indices) -> (n, D)``: an image folder read as
    needed (``data.folders``). Shape (N, D); the dtype of what ``decode`` gives."""

    ndim = 2

    def __init__(self, shape: tuple[int, int], dtype: np.dtype,
                 decode: Callable[[np.ndarray], np.ndarray]) -> None:  # fmt: skip
        self.shape, self.dtype, self.decode = shape, np.dtype(dtype), decode

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, i: slice | np.ndarray) -> np.ndarray:
        n = self.shape[0]
        if isinstance(i, slice):  # a batch of a few rows: no index of all N rows
            return self.decode(np.arange(*i.indices(n)))
        index = np.asarray(i)
        if index.dtype == bool:
            return self.decode(np.arange(n)[index])
        if not np.issubdtype(index.dtype, np.integer) and index.size:
            raise IndexError(f"rows are indexed by integers or a mask, not {index.dtype}")
        if index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        return self.decode(np.where(index < 0, index + n, index))


def is_lazy(a: object) -> bool:
    return isinstance(a, RowSubset | np.memmap | DecodedRows)


def row_chunks(a: np.ndarray | RowSubset, elements: int = CHUNK_ELEMENTS):  # noqa: ANN201
    """Consecutive blocks of whole rows of about ``elements`` values, in memory one at a time."""
    rows = max(1, elements // max(1, int(np.prod(a.shape[1:]))))
    for i in range(0, a.shape[0], rows):
        yield np.asarray(a[i : i + rows])


def held_as_read(a: object) -> bool:
    """Whether a split stays as read and is converted on every read: uint8 (a quarter of
    float32's memory) or on disk."""
    return is_lazy(a) or getattr(a, "dtype", None) == np.uint8


def span(chunks: Iterable[np.ndarray]) -> tuple[float, float]:
    """(min, max) over blocks of an array."""
    lo, hi = zip(*((float(c.min()), float(c.max())) for c in chunks), strict=True)
    return min(lo), max(hi)


def value_range(a: np.ndarray | RowSubset) -> tuple[float, float]:
    """(min, max) of an array, a chunk at a time."""
    return span(row_chunks(a))


def lazy_rows(a: np.ndarray, what: str, layout: str | None) -> np.ndarray:
    """A memory-mapped split as (N, D) rows without a copy, its values checked a chunk at a
    time; refused where using it would need a converted copy."""
    if a.dtype not in LAZY_DTYPES:
        raise DataError(
            f"{what} has dtype {a.dtype}; lazy reading ({opt('lazy')}) takes uint8 or float32 "
            "data as it is on disk: save it once converted, e.g. np.save(path, x.astype("
            "np.float32))"
        )
    if a.ndim == 4 and layout == "nchw":
        raise DataError(
            f"{what} is channels first (N, C, H, W); lazy reading needs channels last "
            "(N, H, W, C): save it once with np.save(path, x.transpose(0, 2, 3, 1))"
        )
    if not a.flags.c_contiguous:  # reshaping would copy the whole file into memory
        raise DataError(
            f"{what} is stored in Fortran (column-major) order; lazy reading needs C order: "
            "save it once with np.save(path, np.ascontiguousarray(x))"
        )
    x = a.reshape(a.shape[0], -1)  # a view of the map: rows are contiguous in the file
    rows = max(1, CHUNK_ELEMENTS // x.shape[1])
    for start in range(0, x.shape[0] if x.dtype == np.float32 else 0, rows):
        bad = ~np.isfinite(x[start : start + rows])
        if bad.any():
            r, col = np.argwhere(bad)[0]
            raise DataError(f"{what} holds NaN or Inf (first at row {start + r}, column {col})")
    return x
