"""A data set as vaekit uses it: validated float32 (N, D) splits, with missing splits carved.

Every array leaves here as float32 (N, D) with finite values; images are flattened in
(H, W, C) order — channels last, as image files and PIL hold them — and their shape, (H, W)
or (H, W, C), is kept for networks and pictures. Splits that the source lacks are carved from train by a permutation
seeded with the data's own ``split_seed``, so the same data always gives the same split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ConfigError, DataError, opt
from .config import DataConfig
from .transform import Transform

SPLITS = ("train", "valid", "test")


@dataclass
class Dataset:
    name: str
    train: np.ndarray  # (N_train, D) float32
    valid: np.ndarray  # (N_valid, D)
    test: np.ndarray  # (N_test, D)
    image_shape: tuple[int, ...] | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (N,) where known
    source_dtype: str = "float32"  # the training split's dtype as read, before float32
    value_range: tuple[float, float] | None = None  # the training split's, original units
    transform: Transform | None = None  # applied to the splits above (original -> model)
    notes: list[str] = field(default_factory=list)  # what was assumed in reading it, for users

    @property
    def dim(self) -> int:
        return int(self.train.shape[1])

    def split(self, name: str) -> np.ndarray:
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return getattr(self, name)

    def with_transform(self, t: Transform | None) -> Dataset:
        """The same data in the model's units (a no-op for None or if already applied)."""
        if t is None or self.transform is not None:
            return self
        t.check_dim(self.dim, self.name)
        return replace(self, train=t.apply(self.train), valid=t.apply(self.valid),
                       test=t.apply(self.test), transform=t)  # fmt: skip


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
    a: np.ndarray, what: str, allow_missing: bool = False, layout: str | None = "nhwc"
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Validate one split: numeric, non-empty, finite (NaN allowed as "missing" if asked),
    (N, D), (N, H, W) or (N, H, W, C) (``layout`` "nchw": (N, C, H, W)). -> float32
    (N, D), images flattened channels last, and the image shape (H, W[, C])."""
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
    if a.ndim == 4 and layout == "nchw":
        a = a.transpose(0, 2, 3, 1)  # (N, H, W, C): the order vaekit flattens images in
    image_shape = tuple(int(s) for s in a.shape[1:]) if a.ndim >= 3 else None
    x = a.reshape(a.shape[0], -1)
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
                                       layout)  # fmt: skip
        image_shape = image_shape or shape
    dims = {s: a.shape[1] for s, a in arrays.items()}
    if len(set(dims.values())) > 1:
        raise DataError(f"{origin}: splits differ in number of features: {dims}")
    labels = dict(labels or {})
    _carve(arrays, labels, config)
    if config.impute is not None:
        _impute_means(arrays, origin)
    image_shape = _image_shape(config.image_shape or image_shape, arrays["train"].shape[1], origin)
    train = arrays["train"]
    ds = Dataset(name, train, arrays["valid"], arrays["test"], image_shape, labels,
                 source_dtype=np.asarray(splits["train"]).dtype.str,
                 value_range=(float(train.min()), float(train.max())), notes=notes)  # fmt: skip
    recorded = Transform.from_dict(config.transform) if config.transform else None
    return ds.with_transform(recorded)


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
