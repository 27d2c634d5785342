"""Observation models p(x|z): turn the decoder's raw output into a distribution over x.

The decoder network only outputs numbers: ``params_per_dim * D`` of them per example. A
likelihood owns any parameters of its own (a learned σ), builds a ``torch.distributions``
distribution with event shape ``(D,)``, and scores data with it. ``log_prob`` always sums over
the D data dimensions, so it returns one number per example.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal

from ..errors import DataError, opt
from ..registry import Registry

# Learned decoder stds never go below this (keeps log p(x|z) bounded). The one definition.
SIGMA_FLOOR = 1e-3
# σ of a Gaussian likelihood when none is given (fixed σ; learned ones start at the data's std).
SIGMA_DEFAULT = 1.0


def inverse_softplus(y: float | Tensor) -> float | Tensor:
    """x with softplus(x) = y > 0: where a learned scale's raw parameter starts."""
    if isinstance(y, Tensor):
        return y + torch.log(-torch.expm1(-y))
    return y + math.log(-math.expm1(-y))


class Likelihood(nn.Module):
    """Base class: subclasses define ``distribution`` (and may override the fast paths)."""

    name: ClassVar[str]
    params_per_dim: ClassVar[int] = 1  # decoder outputs per data dimension
    has_sigma: ClassVar[bool] = False  # the ``sigma`` setting means something (a Gaussian)
    learns_sigma: ClassVar[bool] = False  # σ is learned: ``sigma`` is its start, floored
    per_dimension: ClassVar[bool] = False  # one learned σ per data dimension
    # log p(x|z) is a probability of x's value, not a density: invariant to rescaling x, so
    # reports add no Jacobian, and bits/dim are the literature's.
    discrete: ClassVar[bool] = False
    # The kind of data ("binary" or "real") for which the ``auto`` setting picks this one.
    auto_for: ClassVar[str | None] = None

    def __init__(
        self, dim: int, sigma: float | None = None, sigma_floor: float | None = None
    ) -> None:
        super().__init__()
        self.dim = dim

    @classmethod
    def from_config(cls, config: Any) -> Likelihood:
        """From a :class:`ModelConfig`: its ``input_dim``, ``sigma`` and ``sigma_floor``."""
        return cls(config.input_dim, sigma=config.sigma, sigma_floor=config.sigma_floor)

    def distribution(self, out: Tensor) -> Distribution:
        """``out`` (..., P*D) -> distribution with batch shape (...) and event shape (D,)."""
        raise NotImplementedError

    def log_prob(self, out: Tensor, x: Tensor, weights: Tensor | None = None) -> Tensor:
        """log p(x|z) summed over dimensions: (..., P*D), (..., D) -> (...). ``weights`` (D,)
        sum only some dimensions (0/1: a mask condition's unobserved ones)."""
        d = self.distribution(out)
        if weights is None:
            return d.log_prob(x)
        return (d.base_dist.log_prob(x) * weights).sum(-1)  # per-dimension terms, weighted

    def mean(self, out: Tensor) -> Tensor:
        return self.distribution(out).mean

    def sample(self, out: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A draw x ~ p(x|z), (..., D), reproducible through ``generator`` (on out's device)."""
        raise NotImplementedError

    def check_data(self, x: np.ndarray, what: str = "data") -> None:
        """Raise :class:`DataError` if ``x`` (N, D) cannot come from this likelihood."""

    def check_dataset(self, dataset: Any) -> None:
        """``check_data`` on every split of a :class:`vaekit.Dataset`, a chunk of rows at a
        time (a float32 copy of a large uint8 split would cost 4x the data)."""
        for split in ("train", "valid", "test"):
            for chunk in dataset.chunks(split):
                self.check_data(chunk, f"{dataset.name} ({split} split)")


class BernoulliLikelihood(Likelihood):
    """Binary data; the decoder outputs logits (numerically safe, and the fast BCE kernel)."""

    name = "bernoulli"
    auto_for = "binary"
    discrete = True

    def distribution(self, out: Tensor) -> Distribution:
        return Independent(Bernoulli(logits=out, validate_args=False), 1)

    def log_prob(self, out: Tensor, x: Tensor, weights: Tensor | None = None) -> Tensor:
        # log p(x|z) = Σ_d x_d·l_d − softplus(l_d): the distribution's value (tested) without
        # its broadcast copy, and 2.5x faster than the logits BCE kernel; this is the hottest
        # line of vaekit. Without a gradient to carry (IS, validation), a cheaper form.
        if weights is not None:
            return ((out * x - F.softplus(out)) * weights).sum(-1)
        if torch.is_grad_enabled() and out.requires_grad:
            return (out * x).sum(-1) - F.softplus(out).sum(-1)
        return bernoulli_log_prob_no_grad(out, x)

    def mean(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out)

    def sample(self, out: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return torch.bernoulli(torch.sigmoid(out), generator=generator)

    def check_data(self, x: np.ndarray, what: str = "data") -> None:
        bad = (x != 0) & (x != 1)
        if bad.any():
            v = x[bad].flat[0]
            raise DataError(
                f"{what} is not binary (found value {v:g}) but the 'bernoulli' likelihood needs "
                f"0/1 data; binarize it or use a gaussian likelihood (e.g. "
                f"{opt('likelihood', 'gaussian-shared')})"
            )


# Factors per product in bernoulli_log_prob_no_grad: each is in [1/2, 1), so a product stays
# above 2^-16, far from float32's subnormals, and carries at most 16 roundings (~1e-6).
_MAX_FACTORS = 16


def bernoulli_log_prob_no_grad(out: Tensor, x: Tensor) -> Tensor:
    """Σ_d x_d·l_d − softplus(l_d) over the last dimension, (..., D), (..., D) -> (...).

    softplus(l) = relu(l) − log σ(|l|), and the logs are taken of products of up to 16 factors
    σ(|l|) ∈ [1/2, 1), formed by multiplying the halves of the last dimension together. So an
    element costs one sigmoid (0.95 ns at 1 thread here) instead of softplus's exp and log1p
    (3.3 ns): the importance-sampling loop's likelihood takes 30% less time (measured on its
    (53, 100, 784) chunk: 6.96 against 10.3 ms at 2 threads), with the same float32 accuracy
    (tested against scipy and float64). No autograd graph: a gradient through the products
    would cost more than it saves.
    """
    t = out.abs().sigmoid_()  # (..., D) σ(|l|)
    n, factors = t.shape[-1], 1
    while n % 2 == 0 and factors < _MAX_FACTORS:
        n, factors = n // 2, factors * 2
        t = t[..., :n] * t[..., n:]  # (..., n): products of `factors` σ's
    return (out * x).sum(-1) - out.clamp_min(0).sum(-1) + t.log_().sum(-1)


# Beyond this, (x − μ)² overflows float32 (max 3.4e38) before σ can scale it down.
GAUSSIAN_MAX_ABS = 1e15


class _GaussianBase(Likelihood):
    """Gaussian with mean = the decoder output and a σ that subclasses define."""

    has_sigma = True

    def check_data(self, x: np.ndarray, what: str = "data") -> None:
        big = np.abs(x).max(initial=0.0)
        if big > GAUSSIAN_MAX_ABS:
            raise DataError(
                f"{what} holds values as large as {big:.3g}, out of range for a float32 Gaussian "
                "likelihood (|x| must be below 1e15); standardise the data (subtract the mean, "
                "divide by the std) first"
            )

    def scale(self, out: Tensor) -> Tensor:
        raise NotImplementedError

    def loc(self, out: Tensor) -> Tensor:
        return out[..., : self.dim]

    def distribution(self, out: Tensor) -> Distribution:
        return Independent(Normal(self.loc(out), self.scale(out), validate_args=False), 1)

    def mean(self, out: Tensor) -> Tensor:
        return self.loc(out)

    def sample(self, out: Tensor, generator: torch.Generator | None = None) -> Tensor:
        loc = self.loc(out)
        eps = torch.randn(loc.shape, generator=generator, dtype=loc.dtype, device=loc.device)
        return loc + self.scale(out) * eps


class FixedGaussianLikelihood(_GaussianBase):
    """N(μ_θ(z), σ² I) with σ fixed by the user (``--sigma``)."""

    name = "gaussian"

    def __init__(
        self, dim: int, sigma: float | None = None, sigma_floor: float | None = None
    ) -> None:
        super().__init__(dim)
        self.register_buffer("sigma", torch.tensor(sigma_or_default(sigma)))

    def scale(self, out: Tensor) -> Tensor:
        return self.sigma.expand(out.shape[:-1] + (self.dim,))


class _LearnedScale(_GaussianBase):
    """σ = floor + softplus(raw), so it stays positive and cannot collapse to 0."""

    learns_sigma = True

    def __init__(
        self, dim: int, sigma: float | None = None, sigma_floor: float | None = None
    ) -> None:
        super().__init__(dim)
        self.sigma_floor = sigma_floor_or_default(sigma_floor)
        shape = (dim,) if self.per_dimension else ()
        raw = inverse_softplus(sigma_or_default(sigma) - self.sigma_floor)
        self.raw_scale = nn.Parameter(torch.full(shape, raw))

    @classmethod
    def from_config(cls, config: Any) -> Likelihood:
        """As the base, and each dimension's σ from ``config.sigma_start`` where it is given
        (the training data's column stds: a model that ignores z is then at its optimum)."""
        lik = super().from_config(config)
        if cls.per_dimension and getattr(config, "sigma_start", None) is not None:
            start = torch.tensor(config.sigma_start, dtype=torch.float64)  # (D,)
            raw = inverse_softplus(start - lik.sigma_floor)
            with torch.no_grad():
                lik.raw_scale.copy_(raw.to(lik.raw_scale.dtype))
        return lik

    def scale(self, out: Tensor) -> Tensor:
        s = self.sigma_floor + F.softplus(self.raw_scale)
        return s.expand(out.shape[:-1] + (self.dim,))


class SharedGaussianLikelihood(_LearnedScale):
    """N(μ_θ(z), σ² I) with one learned σ for all dimensions."""

    name = "gaussian-shared"
    auto_for = "real"


class DiagGaussianLikelihood(_LearnedScale):
    """N(μ_θ(z), diag σ²) with a learned σ per dimension (not depending on z)."""

    name = "gaussian-diag"
    per_dimension = True


class DecodedGaussianLikelihood(_GaussianBase):
    """N(μ_θ(z), diag σ_θ(z)²): the decoder predicts σ too (2·D outputs), floored."""

    name = "gaussian-decoded"
    params_per_dim = 2
    learns_sigma = True

    def __init__(
        self, dim: int, sigma: float | None = None, sigma_floor: float | None = None
    ) -> None:
        super().__init__(dim)
        self.sigma_floor = sigma_floor_or_default(sigma_floor)
        # Offset so that a zero decoder output means σ = the configured initial sigma.
        self.raw_offset = inverse_softplus(sigma_or_default(sigma) - self.sigma_floor)

    def scale(self, out: Tensor) -> Tensor:
        return self.sigma_floor + F.softplus(out[..., self.dim :] + self.raw_offset)


def sigma_floor_or_default(sigma_floor: float | None) -> float:
    return SIGMA_FLOOR if sigma_floor is None else float(sigma_floor)


def sigma_or_default(sigma: float | None) -> float:
    return SIGMA_DEFAULT if sigma is None else float(sigma)


LIKELIHOODS: Registry = Registry("likelihood")
for _cls in (BernoulliLikelihood, FixedGaussianLikelihood, SharedGaussianLikelihood,
             DiagGaussianLikelihood, DecodedGaussianLikelihood):  # fmt: skip
    LIKELIHOODS.register(_cls)


def make_likelihood(
    name: str, dim: int, sigma: float | None = None, sigma_floor: float | None = None
) -> Likelihood:
    """Build a likelihood by its command-line name (σ settings default as documented above)."""
    return LIKELIHOODS.lookup(name)(dim, sigma=sigma, sigma_floor=sigma_floor)


def auto_likelihood(kind: str | bool) -> str:
    """The likelihood the ``auto`` setting picks for a kind of data: "binary", "8-bit" or
    "real" (``True``/``False``: binary or real)."""
    kind = {True: "binary", False: "real"}.get(kind, kind)  # type: ignore[call-overload]
    return next(name for name, cls in LIKELIHOODS.items() if cls.auto_for == kind)
