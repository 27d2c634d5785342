"""A data set as vaekit uses it: validated (N, D) splits, with missing splits carved.

Every split leaves here as (N, D) with finite values: float32, or uint8 as read (8-bit
pixels, binary images: four times less memory), converted to float32 in the model's units
a batch at a time (:meth:`Dataset.rows`, :meth:`Dataset.to_model`). Images are flattened in
(H, W, C) order — channels last, as image files and PIL hold them — and their shape, (H, W)
or (H, W, C), is kept for networks and pictures. Splits that the source lacks are carved
from train by a permutation seeded with the data's own ``split_seed``, so the same data
always gives the same split.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DataError, opt
from .config import DataConfig
from .lazy import (
    CHUNK_ELEMENTS,
    DecodedRows,
    Rows,
    RowSubset,
    held_as_read,
    is_lazy,
    lazy_rows,
    row_chunks,
    span,
)
from .lazy import value_range as _value_range
from .transform import Transform

SPLITS = ("train", "valid", "test")


class Dataset:
    """Train, valid and test splits and what is known about them.

    ``train``, ``valid`` and ``test`` are float32 (N, D) arrays in the model's units. Each
    split is held in ``held`` as read: float32 with ``transform`` already applied, or uint8
    (8-bit or binary data, four times smaller) or on disk (``lazy``), converted on every
    read; training, checks and the data's fingerprint read those a batch or a chunk at a
    time, so a float32 copy of the training split never exists.
    """

    def __init__(
        self,
        name: str,
        train: np.ndarray,
        valid: np.ndarray,
        test: np.ndarray,
        image_shape: tuple[int, ...] | None = None,
        labels: dict[str, np.ndarray] | None = None,  # split -> (N,) where known
        attributes: dict[str, np.ndarray] | None = None,  # split -> (N, C) condition vectors
        source_dtype: str | None = None,  # the training split's dtype as read (default: held)
        value_range: tuple[float, float] | None = None,  # the training split's, original units
        transform: Transform | None = None,  # original -> model units
        notes: list[str] | None = None,  # what was assumed in reading it, for users
        applied: bool | None = None,  # held arrays already in the model's units (default:
        # unless they are uint8 or lazy, which are always held as read)
        conditions: dict[str, np.ndarray] | None = None,  # split -> (N, P) float32 columns of
        # a conditional model's c, packed beside x in the model's inputs (models.conditions)
    ) -> None:
        self.name = name
        self.held = {"train": train, "valid": valid, "test": test}  # (N, D) float32 or uint8
        self.image_shape = image_shape
        self.labels = dict(labels or {})
        self.attributes = dict(attributes or {})
        self.source_dtype = source_dtype or np.dtype(train.dtype).str
        self.value_range = value_range
        if value_range is None and self.source_dtype == np.dtype(train.dtype).str:
            self.value_range = _value_range(train)  # as read: what 8-bit detection looks at
        if applied is None:
            applied = not held_as_read(train)
        self.transform, self.applied = transform, applied or transform is None
        self.notes = list(notes or [])
        self.conditions = conditions

    def replaced(self, **changes: object) -> Dataset:
        """A copy with some fields changed (the arrays are shared, not copied). Splits given
        are held arrays, in the units of ``held``; to change the data of a Dataset that
        converts on read, build a new one from ``train``/``valid``/``test``."""
        if not self.applied and set(changes) & set(SPLITS):
            raise ValueError(
                "this Dataset converts its splits on read (uint8 or lazy); build a new Dataset "
                "from its train/valid/test (float32, the model's units) to change them"
            )
        kw = {**self.held, "name": self.name, "image_shape": self.image_shape,
              "labels": self.labels, "attributes": self.attributes,
              "source_dtype": self.source_dtype,
              "value_range": self.value_range, "transform": self.transform, "notes": self.notes,
              "applied": self.applied, "conditions": self.conditions}  # fmt: skip
        return Dataset(**{**kw, **changes})  # type: ignore[arg-type]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{s}={a.shape} {a.dtype}" for s, a in self.held.items())
        return f"Dataset({self.name!r}, {shapes}, image_shape={self.image_shape})"

    train = property(lambda self: self.rows("train"), doc="(N_train, D) float32, model units")
    valid = property(lambda self: self.rows("valid"), doc="(N_valid, D) float32, model units")
    test = property(lambda self: self.rows("test"), doc="(N_test, D) float32, model units")

    @property
    def lazy(self) -> bool:
        """Read from disk as needed (a memory-mapped file), not held in memory."""
        return is_lazy(self.held["train"])

    @property
    def dim(self) -> int:
        return int(self.held["train"].shape[1])

    def size(self, split: str) -> int:
        return int(self.held[split].shape[0])

    def split(self, name: str) -> np.ndarray:
        """A whole split in the model's units, float32 (N, D)."""
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return self.rows(name)

    def rows(self, split: str, index: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Rows of a split in the model's units, float32 (n, D): the same numbers whether the
        split is held as uint8 or as float32."""
        return self.rows_of(np.asarray(self.held[split][index]))

    def chunks(self, split: str, elements: int = CHUNK_ELEMENTS) -> Iterator[np.ndarray]:
        """A split in the model's units, float32, in blocks of whole rows of about
        ``elements`` values (bounded memory, also for the float64 scaling of uint8 rows)."""
        for chunk in row_chunks(self.held[split], elements):
            yield self.rows_of(chunk)

    def rows_of(self, held_rows: np.ndarray) -> np.ndarray:
        """Held rows (as read) -> float32 in the model's units (float32 rows in the model's
        units are returned as they are, not copied)."""
        if not self.applied:
            return self.transform.apply(held_rows)  # type: ignore[union-attr]
        return held_rows.astype(np.float32, copy=False)

    def inputs(self, split: str, index: slice | np.ndarray = slice(None)) -> np.ndarray:
        """A model's input rows, float32 (n, D + P): :meth:`rows` with the conditions' P
        columns beside them for a conditional model (P = 0 otherwise)."""
        x = self.rows(split, index)
        if self.conditions is None:
            return x
        return np.hstack([x, self.conditions[split][index]]).astype(np.float32, copy=False)

    @property
    def input_dim(self) -> int:
        """D + P: the width of :meth:`inputs`."""
        return self.dim + (0 if self.conditions is None else self.conditions["train"].shape[1])

    def reader(self, split: str, device: torch.device) -> Rows:
        """A model's inputs for estimators, read and converted a batch at a time (see Rows)."""
        return Rows((self.size(split), self.input_dim), lambda s: self.inputs(split, s), device)

    def batches_from(
        self, split: str, device: torch.device
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``take(idx)``: input rows ``idx`` (B,) of a split in the model's units, float32 on
        ``device`` (with a conditional model's condition columns, as :meth:`inputs`); from
        the held split moved to the device once, or, for lazy data, read from disk a batch
        at a time."""
        held = self.held[split]
        t = None if self.lazy else torch.from_numpy(held).to(device)
        c = None if self.conditions is None else torch.from_numpy(self.conditions[split]).to(device)

        def take(idx: torch.Tensor) -> torch.Tensor:
            x = (torch.from_numpy(np.asarray(held[idx.cpu().numpy()])).to(device) if t is None
                 else t.index_select(0, idx))  # fmt: skip
            x = self.to_model(x)  # (B, D)
            return x if c is None else torch.cat([x, c.index_select(0, idx)], 1)  # (B, D + P)

        return take

    def train_moments(self, axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The training split's mean and std in the model's units (float64): of all values,
        or of each column with ``axis=0``, in chunks (two passes), never one float32 copy of
        it all. Up to CHUNK_ELEMENTS values this is numpy's own computation to the last bit;
        beyond, the same however the data is held (in memory, uint8, lazy)."""
        n = self.size("train") * (self.dim if axis is None else 1)
        mean = sum(c.sum(axis, dtype=np.float64) for c in self.chunks("train")) / n
        ss = sum(((c - mean) ** 2).sum(axis, dtype=np.float64) for c in self.chunks("train"))
        return mean, np.sqrt(ss / n)

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of held rows (a tensor of the splits' dtype, on any device) -> float32 in
        the model's units, equal to :meth:`rows` of the same rows."""
        if self.applied:
            return x if x.dtype == torch.float32 else x.to(torch.float32)
        t = self.transform
        shift, scale = (torch.tensor(v, dtype=torch.float64, device=x.device)
                        for v in (t.shift, t.scale))  # type: ignore[union-attr]  # fmt: skip
        return ((x.to(torch.float64) - shift) / scale).to(torch.float32)  # as numpy's apply

    @cached_property
    def model_range(self) -> tuple[float, float]:
        """(min, max) of the training split in the model's units."""
        return span(self.chunks("train"))

    def with_transform(self, t: Transform | None) -> Dataset:
        """The same data in the model's units (a no-op for None or if already applied); uint8
        splits stay as they are and are converted on read."""
        if t is None or self.transform is not None:
            return self
        t.check_dim(self.dim, self.name)
        if held_as_read(self.held["train"]):
            return self.replaced(transform=t, applied=False)
        return self.replaced(transform=t, **{s: t.apply(a) for s, a in self.held.items()})


def image_layout(shape: tuple[int, ...], given: str | None) -> tuple[str, str | None]:
    """The axis order of a 4-d (N, ., ., .) image array, and a note when it was guessed:
    channels first only when axis 1 alone looks like channels (1, 3 or 4 entries)."""
    if given is not None:
        return given, None
    first, last = shape[1] in (1, 3, 4), shape[3] in (1, 3, 4)
    layout = "nchw" if first and not last else "nhwc"
    named = "(N, C, H, W), channels first" if layout == "nchw" else "(N, H, W, C), channels last"
    other = "nhwc" if layout == "nchw" else "nchw"
    return (
        layout,
        f"read the {shape} image array as {named}; {opt('image_layout', other)} says otherwise",
    )


def check_array(
    a: np.ndarray,
    what: str,
    allow_missing: bool = False,
    layout: str | None = "nhwc",
    keep_uint8: bool = False,
    lazy: bool = False,
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Validate one split: numeric, non-empty, finite (NaN allowed as "missing" if asked),
    (N, D), (N, H, W) or (N, H, W, C) (``layout`` "nchw": (N, C, H, W)). -> float32 (N, D)
    (uint8 kept as it is if ``keep_uint8``), images flattened channels last, and the image
    shape (H, W[, C]). ``lazy``: a memory-mapped array stays one, uint8 or float32; rows
    decoded as read (an image folder's) are checked when scanned and kept as they are."""
    if isinstance(a, DecodedRows):
        return a, None
    if (
        not isinstance(a, np.ndarray)
        or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_)
        or np.issubdtype(a.dtype, np.complexfloating)
    ):
        dtype = getattr(a, "dtype", type(a).__name__)
        raise DataError(f"{what} has dtype {dtype}; it must hold real numbers")
    if a.ndim not in (2, 3, 4):
        raise DataError(
            f"{what} has shape {a.shape}; expected (examples, features) or images (examples, "
            "height, width[, channels])"
        )
    if a.shape[0] == 0 or math.prod(a.shape[1:]) == 0:
        raise DataError(f"{what} is empty (shape {a.shape})")
    if lazy:
        return lazy_rows(a, what, layout), (tuple(int(s) for s in a.shape[1:]) if a.ndim >= 3
                                            else None)  # fmt: skip
    if a.ndim == 4 and layout == "nchw":
        a = a.transpose(0, 2, 3, 1)  # (N, H, W, C): the order vaekit flattens images in
    image_shape = tuple(int(s) for s in a.shape[1:]) if a.ndim >= 3 else None
    x = a.reshape(a.shape[0], -1)
    if keep_uint8 and x.dtype == np.uint8:
        return np.ascontiguousarray(x), image_shape
    bad_values = ~np.isfinite(x) if x.dtype.kind == "f" else None
    if bad_values is not None and allow_missing:
        bad_values &= ~np.isnan(x)
    if bad_values is not None and bad_values.any():
        bad = np.argwhere(bad_values)[0]
        raise DataError(f"{what} holds NaN or Inf (first at row {bad[0]}, column {bad[1]})")
    with np.errstate(over="ignore"):  # reported below as one line, not as a warning
        x32 = x.astype(np.float32)
    if not np.isfinite(x32[~np.isnan(x32)] if allow_missing else x32).all():
        raise DataError(f"{what} holds values too large for float32")
    return np.ascontiguousarray(x32), image_shape


def finish(
    name: str,
    splits: dict[str, np.ndarray],
    labels: dict[str, np.ndarray] | None,
    config: DataConfig,
    image_shape: tuple[int, ...] | None = None,
    origin: str | None = None,
    attributes: dict[str, np.ndarray] | None = None,
) -> Dataset:
    origin = origin or name
    arrays: dict[str, np.ndarray] = {}
    notes: list[str] = []
    layout, note = "nhwc", None
    if np.ndim(splits["train"]) == 4:
        layout, note = image_layout(np.shape(splits["train"]), config.image_layout)
        notes += [note] if note else []
    for s, a in splits.items():
        arrays[s], shape = check_array(a, f"{origin} ({s} split)", config.impute is not None,
                                       layout, keep_uint8=True, lazy=bool(config.lazy))  # fmt: skip
        image_shape = image_shape or shape
    dims = {s: a.shape[1] for s, a in arrays.items()}
    if len(set(dims.values())) > 1:
        raise DataError(f"{origin}: splits differ in number of features: {dims}")
    if len({a.dtype for a in arrays.values()}) > 1:  # uint8 beside float: all float32
        arrays = {s: a.astype(np.float32) for s, a in arrays.items()}
    labels, attributes = dict(labels or {}), dict(attributes or {})
    _carve(arrays, (labels, attributes), config)
    if config.impute is not None:
        _impute_means(arrays, origin)
    image_shape = _image_shape(config.image_shape or image_shape, arrays["train"].shape[1], origin)
    train = arrays["train"]
    ds = Dataset(name, train, arrays["valid"], arrays["test"], image_shape, labels, attributes,
                 source_dtype=_dtype_of(splits["train"]).str,
                 value_range=_value_range(train), notes=notes)  # fmt: skip
    recorded = Transform.from_dict(config.transform) if config.transform else None
    return ds.with_transform(recorded)


def _dtype_of(a: Any) -> np.dtype:
    """An array's dtype without reading it (lazy rows would be decoded by np.asarray)."""
    return np.dtype(a.dtype) if hasattr(a, "dtype") else np.asarray(a).dtype


def _image_shape(shape: tuple[int, ...] | None, dim: int, origin: str) -> tuple[int, ...] | None:
    if shape is not None and math.prod(shape) != dim:
        raise DataError(
            f"{origin}: image shape {'x'.join(map(str, shape))} does not hold {dim} values"
        )
    return tuple(shape) if shape is not None else None


def _impute_means(arrays: dict[str, np.ndarray], origin: str) -> None:
    """Missing values (NaN) of every split become the training split's column mean."""
    missing = np.isnan(arrays["train"]).all(0)
    if missing.any():
        col = int(np.argmax(missing))
        raise DataError(f"{origin}: column {col} has no value in the training split to impute from")
    means = np.nanmean(arrays["train"], 0)
    for a in arrays.values():
        rows, cols = np.nonzero(np.isnan(a))
        a[rows, cols] = means[cols]


def _carve(
    arrays: dict[str, np.ndarray],
    companions: tuple[dict[str, np.ndarray], ...],  # per-split labels, attributes: carved alike
    config: DataConfig,
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
        train = arrays["train"]
        if is_lazy(train):  # index views of the file, in the same order as the copies below
            arrays[split], arrays["train"] = RowSubset(train, take), RowSubset(train, keep)
        else:
            arrays[split], arrays["train"] = train[take], train[keep]
        for c in companions:
            if "train" in c and len(c["train"]) == n:
                c[split], c["train"] = c["train"][take], c["train"][keep]
