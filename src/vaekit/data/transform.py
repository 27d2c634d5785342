"""Preprocessing recorded in the run and undone on output: an affine map per column.

    x_model = (x − shift) / scale          x = x_model · scale + shift

Two kinds, decided when a run starts (``training.settings``) and stored in its config.json:
- ``8-bit``: integer data 0–255 scaled to [0, 1] (one shift and scale for all columns);
- ``standardize``: each column to mean 0 and std 1 over the training split, for real-valued
  tabular data whose columns' scales differ (a shared σ over columns of 0.005 and 4254 fits
  neither).
A density of x_model is one of x times the Jacobian, so in the original units
log p(x) = log p(x_model) − Σ_d log scale_d: :meth:`Transform.log_jacobian`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError

KINDS = ("8-bit", "standardize")
# Auto-standardise tabular data when the largest column std exceeds the smallest by this.
SCALE_RATIO = 10.0


@dataclass(frozen=True)
class Transform:
    kind: str
    shift: tuple[float, ...]  # one value, or one per column
    scale: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown preprocessing {self.kind!r}; known: {', '.join(KINDS)}")
        if len(self.shift) != len(self.scale) or not self.shift:
            raise ConfigError("preprocessing: shift and scale must have the same, non-zero length")
        values = (*self.shift, *self.scale)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise ConfigError("preprocessing: shift and scale must be finite numbers")
        if min(self.scale) <= 0:
            raise ConfigError("preprocessing: every scale must be positive")

    @classmethod
    def eight_bit(cls) -> Transform:
        return cls("8-bit", (0.0,), (255.0,))

    @classmethod
    def standardize(cls, train: np.ndarray) -> Transform:
        """Per-column mean and std of ``train`` (N, D); a constant column keeps scale 1."""
        return cls.from_moments(train.mean(0, dtype=np.float64), train.std(0, dtype=np.float64))

    @classmethod
    def from_moments(cls, mean: np.ndarray, std: np.ndarray) -> Transform:
        """Standardisation by per-column ``mean`` and ``std`` (D,); a zero std keeps scale 1."""
        std = np.where(std > 0, std, 1.0)
        return cls("standardize", tuple(map(float, mean)), tuple(map(float, std)))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.shift), np.asarray(self.scale)

    def check_dim(self, dim: int, what: str) -> None:
        if len(self.scale) not in (1, dim):
            raise ConfigError(
                f"{what}: the run's preprocessing has {len(self.scale)} columns, the data {dim}"
            )

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(N, D) original -> model units, float32."""
        shift, scale = self._arrays()
        return np.ascontiguousarray(((x - shift) / scale).astype(np.float32))

    def invert(self, x: np.ndarray) -> np.ndarray:
        """(N, D) model -> original units, float64 (exact for 8-bit's integers)."""
        shift, scale = self._arrays()
        return np.asarray(x, dtype=np.float64) * scale + shift

    def log_jacobian(self, dim: int, scored: np.ndarray | None = None) -> float:
        """log p(x) − log p(x_model) for one example of ``dim`` columns: −Σ_d w_d log scale_d,
        with w the 0/1 ``scored`` weights (D,) of a density over some columns only (a mask
        run's unobserved ones), else 1."""
        logs = np.log(np.asarray(self.scale, dtype=np.float64))
        per = logs if len(logs) == dim else np.full(dim, logs[0])  # (D,)
        w = np.ones(dim) if scored is None else np.asarray(scored, dtype=np.float64)
        return -float((per * w).sum())

    def describe(self) -> str:
        if self.kind == "8-bit":
            return "8-bit data (0–255) scaled to [0, 1]"
        return "each column standardised to mean 0, std 1 (training split's statistics)"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shift": list(self.shift), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, d: Any) -> Transform:
        if not isinstance(d, dict) or set(d) != {"kind", "shift", "scale"}:
            raise ConfigError(f"preprocessing must be an object of kind, shift, scale; got {d!r}")
        try:
            return cls(str(d["kind"]), tuple(d["shift"]), tuple(d["scale"]))
        except TypeError:
            raise ConfigError("preprocessing: shift and scale must be lists of numbers") from None


def is_8bit(source_dtype: str, value_range: tuple[float, float] | None) -> bool:
    """Integer data that spans more than 0/1 and fits 0–255: 8-bit pixels or counts."""
    return np.dtype(source_dtype) == np.uint8 and value_range is not None and value_range[1] > 1


def scales_differ(std: np.ndarray) -> float | None:
    """The ratio of the largest to the smallest column std (D,) if above SCALE_RATIO, else
    None."""
    std = std[std > 0]
    if std.size < 2:
        return None
    ratio = float(std.max() / std.min())
    return ratio if ratio > SCALE_RATIO else None
