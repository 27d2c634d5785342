"""A conditional run's conditions from its data: what is recorded when it starts (classes,
a mask) and the condition columns every later read packs beside x (models.conditions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data import SPLITS, Dataset
from ..data.files import read_npy
from ..errors import ConfigError, DataError, opt
from ..models import ModelConfig
from ..models.conditions import Labels, kind_of, quadrant_mask


def condition_settings(spec: str | None, dataset: Dataset) -> dict[str, Any]:
    """The ModelConfig fields a condition takes from the data when a run starts."""
    kind = kind_of(spec)
    if kind is None:
        return {}
    if kind == "labels":
        train = _labels(dataset, "train")
        return {"condition_classes": tuple(str(c) for c in np.unique(train))}
    if kind == "mask":
        return {"condition_mask": _observed(spec, dataset)}  # type: ignore[arg-type]
    train = _vectors(dataset, "train", None)  # (N, C)
    std = train.std(0, dtype=np.float64)
    return {"condition_mean": tuple(float(v) for v in train.mean(0, dtype=np.float64)),
            "condition_std": tuple(float(s) if s > 0 else 1.0 for s in std)}  # fmt: skip


def conditioned(dataset: Dataset, config: ModelConfig) -> Dataset:
    """``dataset`` with the condition columns its model reads beside x (unchanged for an
    unconditional model or a mask, whose condition is part of x)."""
    kind = config.condition_kind
    if kind not in ("labels", "vector"):
        return dataset
    columns = {}
    for split in SPLITS:
        if kind == "vector":
            columns[split] = _vectors(dataset, split, len(config.condition_mean))  # type: ignore[arg-type]
            continue
        names = [str(v) for v in _labels(dataset, split)]
        try:  # (N, 1) class indices
            columns[split] = Labels(config.condition_classes).index(names)  # type: ignore[arg-type]
        except DataError as e:
            raise DataError(f"{dataset.name} ({split} split): {e}") from None
    return dataset.replaced(conditions=columns)


def _labels(dataset: Dataset, split: str) -> np.ndarray:
    labels = dataset.labels.get(split)
    if labels is None:
        raise DataError(
            f"{dataset.name} has no labels for its {split} split, which {opt('condition', 'labels')} "
            f"needs (an .npz's {split}_labels, a CSV's {opt('label_column')}, class subfolders)"
        )
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != dataset.size(split):
        raise DataError(f"{dataset.name}: {len(labels)} labels for the {dataset.size(split)} "
                        f"examples of its {split} split")  # fmt: skip
    return labels


def _vectors(dataset: Dataset, split: str, width: int | None) -> np.ndarray:
    """A split's condition vectors, (N, C) float32, checked: present, finite, one per example,
    ``width`` long (when the run fixes it)."""
    a = dataset.attributes.get(split)
    where = f"{dataset.name} ({split} split)"
    if a is None:
        raise DataError(f"{where} has no condition vectors, which {opt('condition', 'vector')} "
                        f"needs (an .npz's {split}_cond, (N, C))")  # fmt: skip
    a = np.asarray(a)
    a = a[:, None] if a.ndim == 1 else a
    if a.ndim != 2 or len(a) != dataset.size(split) or (width is not None and a.shape[1] != width):
        want = f"({dataset.size(split)}, {width if width is not None else 'C'})"
        raise DataError(f"{where}: condition vectors of shape {a.shape}; expected {want}")
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
        raise DataError(
            f"{where}: condition vectors must be finite numbers (found NaN, Inf or text)"
        )
    return np.ascontiguousarray(a, dtype=np.float32)


def _observed(spec: str, dataset: Dataset) -> tuple[int, ...]:
    """The observed dimensions of ``quadrants:K`` or ``mask:FILE`` (1 = observed)."""
    kind, _, arg = spec.partition(":")
    if kind == "quadrants":
        if dataset.image_shape is None:
            raise ConfigError(f"{opt('condition', spec)} needs images (or {opt('image_shape')})")
        mask = quadrant_mask(dataset.image_shape, int(arg))
    else:
        m = read_npy(Path(arg).expanduser())
        if m.size != dataset.dim or not np.isin(m, (0, 1)).all():
            raise DataError(f"mask {arg} must hold {dataset.dim} values, each 0 or 1 (1 = "
                            f"observed); it holds {m.size}")  # fmt: skip
        mask = m.reshape(-1)
    observed = np.flatnonzero(mask)
    if len(observed) in (0, dataset.dim):
        raise DataError(f"mask {arg} observes {'nothing' if len(observed) == 0 else 'everything'}; "
                        "a completion task needs some observed and some missing values")  # fmt: skip
    return tuple(int(i) for i in observed)
