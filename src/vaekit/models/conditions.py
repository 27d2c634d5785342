"""Conditions c of a conditional VAE p(x|c): how a model reads c and what its networks see.

A conditional model's input rows are ``[x, c]``, (B, D + P): the data beside the P columns
its condition is held in (a class index, an attribute vector; none for a mask, whose
condition is the observed part of x itself). Carrying c in the row keeps training, every
estimator, chunking and resume one code path for conditional and plain models. A
:class:`Condition` splits such rows, turns c into the F features the networks and a learned
prior p(z|c) read (one-hot classes, standardised vectors, the observed pixels), and says
which data dimensions log p(x|z, c) scores (all, or the unobserved ones of a mask).

Settings (``--condition``): ``labels``, ``vector``, ``quadrants:K`` (K of an image's four
quadrants observed, in the order of Pyro's CVAE example: bottom-left, top-left,
bottom-right) or ``mask:FILE`` (a 0/1 array, 1 = observed).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, DataError, opt
from ..registry import Registry

CONDITIONS: Registry = Registry("condition")
SPECS = "labels, vector, quadrants:K (K = 1, 2 or 3) or mask:FILE"


def parse_spec(label: str, value: Any) -> str:
    """Check a ``condition`` setting's form: a registered kind, with its argument if any."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{label} must be one of {SPECS}, got {value!r}")
    kind, _, arg = value.strip().partition(":")
    if kind == "quadrants":
        if arg not in ("1", "2", "3"):
            raise ConfigError(f"{label} quadrants:K needs K = 1, 2 or 3 observed quadrants, "
                              f"got {value!r}")  # fmt: skip
    elif kind == "mask":
        if not arg:
            raise ConfigError(f"{label} mask:FILE needs a file, e.g. mask:observed.npy")
    elif kind not in ("labels", "vector") or arg:
        raise ConfigError(f"{label} must be one of {SPECS}, got {value!r}")
    return value.strip()


def kind_of(spec: str | None) -> str | None:
    """The registered condition a spec names: quadrants and mask files are both masks."""
    if spec is None:
        return None
    kind = spec.partition(":")[0]
    return "mask" if kind == "quadrants" else kind


def quadrant_mask(image_shape: tuple[int, ...], k: int) -> np.ndarray:
    """(D,) 0/1, 1 where observed: K quadrants of an (H, W[, C]) image, rows in (H, W, C)
    order; odd sizes put the middle row and column in the lower and right halves."""
    h, w = image_shape[0], image_shape[1]
    m = np.zeros((h, w), dtype=np.uint8)
    m[h // 2 :, : w // 2] = 1  # bottom-left
    if k >= 2:
        m[: h // 2, : w // 2] = 1  # top-left: the left half
    if k >= 3:
        m[h // 2 :, w // 2 :] = 1  # bottom-right: all but the top-right
    channels = int(np.prod(image_shape[2:], dtype=np.int64))
    return np.repeat(m.reshape(-1), channels)


class Condition(nn.Module):
    """Base: ``packed`` columns of c in the input rows, ``features`` of it for networks."""

    name: ClassVar[str]
    packed: int = 0
    features: int = 0

    def split(self, rows: Tensor, dim: int) -> tuple[Tensor, Tensor]:
        """rows (..., D + P) -> x (..., D), c (..., P)."""
        if rows.shape[-1] != dim + self.packed:
            raise DataError(f"conditional model inputs have {rows.shape[-1]} columns; "
                            f"expected {dim} data + {self.packed} condition")  # fmt: skip
        return rows[..., :dim], rows[..., dim:]

    def features_of(self, x: Tensor | None, c: Tensor) -> Tensor:
        """(B, F) what the encoder, the decoder and a learned prior read."""
        raise NotImplementedError

    def scored(self) -> Tensor | None:
        """(D,) weights of log p(x_d|z, c) in the likelihood (None: all dimensions)."""
        return None

    def check(self, c: np.ndarray, what: str) -> None:
        """Raise :class:`DataError` for condition rows (N, P) this model cannot read."""
        if c.ndim != 2 or c.shape[1] != self.packed:
            raise DataError(f"{what} has shape {c.shape}; this run's condition needs "
                            f"(N, {self.packed})")  # fmt: skip
        if not np.isfinite(c).all():
            raise DataError(f"{what} holds NaN or Inf")


@CONDITIONS.register
class Labels(Condition):
    """Class labels: one column holding the class index; one-hot features, or a learned
    embedding of ``embedding`` entries. (A linear layer of a one-hot vector is already a
    lookup: the embedding adds no capacity, it bounds the first layers' width to
    E × hidden instead of K × hidden when there are many classes.)"""

    name = "labels"

    def __init__(self, classes: tuple[str, ...], embedding: int | None = None) -> None:
        super().__init__()
        self.classes, self.packed = tuple(classes), 1
        self.embed = None if embedding is None else nn.Embedding(len(self.classes), embedding)
        self.features = len(self.classes) if embedding is None else embedding

    @classmethod
    def from_config(cls, config: Any) -> Labels:
        return cls(config.condition_classes, config.condition_embedding)

    @staticmethod
    def width(config: Any) -> int:
        return config.condition_embedding or len(config.condition_classes or ())

    def features_of(self, x: Tensor | None, c: Tensor) -> Tensor:
        k = c[..., 0].long()  # (B,)
        if self.embed is not None:
            return self.embed(k).to(c.dtype)  # (B, E)
        return F.one_hot(k, len(self.classes)).to(c.dtype)  # (B, K)

    def check(self, c: np.ndarray, what: str) -> None:
        super().check(c, what)
        bad = (c < 0) | (c >= len(self.classes)) | (c != np.round(c))
        if bad.any():
            raise DataError(f"{what}: {c[bad].flat[0]:g} is not a class index of this run "
                            f"(0…{len(self.classes) - 1})")  # fmt: skip

    def index(self, names: list[str]) -> np.ndarray:
        """Class names (as the run recorded them) -> (N, 1) float32 indices; a DataError for
        a class the run never saw."""
        if not names:
            raise ConfigError("no class given: name one or more, e.g. --class 3 or --class 0,7")
        where = {c: i for i, c in enumerate(self.classes)}
        unknown = [n for n in names if n not in where]
        if unknown:
            raise DataError(f"class {unknown[0]!r} is not one this run was trained on "
                            f"({', '.join(self.classes)})")  # fmt: skip
        return np.array([where[n] for n in names], dtype=np.float32).reshape(-1, 1)


@CONDITIONS.register
class Vector(Condition):
    """Real-valued attribute vectors, standardised with the training split's statistics."""

    name = "vector"

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.packed = self.features = len(mean)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)

    @classmethod
    def from_config(cls, config: Any) -> Vector:
        return cls(config.condition_mean, config.condition_std)

    @staticmethod
    def width(config: Any) -> int:
        return len(config.condition_mean or ())

    def features_of(self, x: Tensor | None, c: Tensor) -> Tensor:
        return (c - self.mean) / self.std  # (B, C)


@CONDITIONS.register
class Mask(Condition):
    """Partial observation: c is x on a fixed set of observed dimensions; the likelihood
    scores the others, so log p(x|c) is log p(x_missing | x_observed)."""

    name = "mask"

    def __init__(self, observed: tuple[int, ...], dim: int) -> None:
        super().__init__()
        m = torch.zeros(dim)
        m[list(observed)] = 1.0
        self.features = dim
        self.register_buffer("observed", m, persistent=False)  # (D,) 1 = observed

    @classmethod
    def from_config(cls, config: Any) -> Mask:
        return cls(config.condition_mask, config.input_dim)

    @staticmethod
    def width(config: Any) -> int:
        return int(config.input_dim)

    def features_of(self, x: Tensor | None, c: Tensor) -> Tensor:
        if x is None:
            raise ConfigError("a mask condition is the observed part of x: give data to "
                              "complete (vaekit complete), not a condition")  # fmt: skip
        return x * self.observed  # (B, D): unobserved values are 0

    def scored(self) -> Tensor:
        return 1.0 - self.observed


def make_condition(config: Any) -> Condition | None:
    """The condition a ModelConfig names, or None for an unconditional model."""
    kind = kind_of(config.condition)
    return None if kind is None else CONDITIONS.lookup(kind).from_config(config)


def feature_dim(config: Any) -> int:
    """F: the width of the condition's features (0 without a condition)."""
    kind = kind_of(config.condition)
    return 0 if kind is None else CONDITIONS.lookup(kind).width(config)


def require_conditional(config: Any, what: str) -> None:
    if config.condition is None:
        raise ConfigError(f"{what} needs a conditional run (trained with {opt('condition')}); "
                          "this one is not")  # fmt: skip
