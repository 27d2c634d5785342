"""The exported computations as modules of tensors in, tensors out, in the data's own units.

A VAE's ``encode`` returns a distribution and its log-joint is lazy: neither is a graph an
exporter can trace to a file. These wrappers are. Each takes and gives what a program outside
Python has: the data as it is stored (8-bit levels as 0–255, a standardised table in its own
columns; images as (B, C, H, W)), with the run's preprocessing inside the graph.

- :class:`EncoderGraph`: x -> the posterior's mean and scale, (B, L) each;
- :class:`DecoderGraph`: z (B, L) -> the likelihood's raw parameters (B, P, ...) and the
  decoder mean in the data's units and shape;
- :class:`ScoreGraph`: x, noise (S, B, L) -> the ELBO per example (B,) averaged over the S
  draws z = μ + σ ⊙ noise, in nats in the data's own units (the log-Jacobian of the
  preprocessing added, as ``vaekit evaluate`` states it): an anomaly score whose randomness
  is an input, so the graph is deterministic.

A conditional run's graphs take its condition as one more input, last: ``c`` (B, P), the
columns vaekit packs beside x (a class index as a float, or the raw attribute vector: the
one-hot, embedding or standardisation is inside the graph). A mask's condition is x itself,
so its encoder and score take x alone and its decoder takes ``x`` (only the observed values
are read) after z.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..data.transform import Transform
from ..inference.units import model_log_jacobian
from ..models import VAE


class _Units(nn.Module):
    """The run's preprocessing, x_model = (x − shift) / scale, and back, on (B, D) rows."""

    def __init__(self, t: Transform | None, model: VAE) -> None:
        super().__init__()
        shift, scale = (0.0,), (1.0,)
        if t is not None:
            shift, scale = t.shift, t.scale
        self.register_buffer("shift", torch.tensor(shift, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.log_jacobian = model_log_jacobian(model, t)  # over the scored dimensions

    def to_model(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale

    def to_data(self, x: Tensor) -> Tensor:
        return x * self.scale + self.shift


class ImageRows(nn.Module):
    """Images (B, C, H, W) <-> vaekit's rows (B, H*W*C) in (H, W, C) order; flat data as is."""

    def __init__(self, image_shape: tuple[int, ...] | None) -> None:
        super().__init__()
        self.hwc = None
        if image_shape is not None:
            self.hwc = (int(image_shape[0]), int(image_shape[1]), math.prod(image_shape[2:]))

    def rows(self, x: Tensor) -> Tensor:
        if self.hwc is None:
            return x
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # (B, C, H, W) -> (B, H*W*C)

    def images(self, rows: Tensor) -> Tensor:
        """(..., H*W*C) -> (..., C, H, W)."""
        if self.hwc is None:
            return rows
        h, w, c = self.hwc
        lead = rows.shape[:-1]
        return rows.reshape(*lead, h, w, c).movedim(-1, -3)


class _Graph(nn.Module):
    def __init__(self, model: VAE, transform: Transform | None) -> None:
        super().__init__()
        self.model = model
        self.units = _Units(transform, model)
        self.shape = ImageRows(model.config.image_shape)

    def _model_rows(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        rows = self.units.to_model(self.shape.rows(x))  # (B, D)
        return rows if c is None else torch.cat([rows, c], -1)  # (B, D + P)


class EncoderGraph(_Graph):
    def forward(self, x: Tensor, c: Tensor | None = None) -> tuple[Tensor, Tensor]:
        q = self.model.encode(self._model_rows(x, c)).base_dist
        return q.loc, q.scale  # (B, L) each


class DecoderGraph(_Graph):
    def _features(self, given: Tensor | None) -> Tensor | None:
        """(B, F) condition features from ``c`` (labels, vectors) or from ``x`` (a mask)."""
        cond = self.model.condition
        if cond is None:
            return None
        if cond.packed:
            return cond.features_of(None, given)  # type: ignore[arg-type]
        rows = self._model_rows(given)  # type: ignore[arg-type]
        return cond.features_of(rows, rows[:, :0])

    def forward(self, z: Tensor, given: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out = self.model.decoder_output(z, self._features(given))  # (B, P*D)
        params = out.reshape(z.shape[0], self.model.likelihood.params_per_dim, -1)  # (B, P, D)
        mean = self.units.to_data(self.model.likelihood.mean(out))  # (B, D), data's units
        return self.shape.images(params), self.shape.images(mean)


class ScoreGraph(_Graph):
    def forward(self, x: Tensor, noise: Tensor, c: Tensor | None = None) -> Tensor:
        rows = self._model_rows(x, c)  # (B, D [+ P])
        q = self.model.encode(rows)
        z = q.base_dist.loc + q.base_dist.scale * noise  # (S, B, L)
        lj = self.model.log_joint(rows, z, q)
        jac = self.units.log_jacobian  # 0 for a discrete likelihood
        return lj.log_likelihood.mean(0) - lj.kl(z) + jac  # (B,)
