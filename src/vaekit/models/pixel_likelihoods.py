"""Likelihoods of 8-bit data: the discretized logistic (Salimans et al. 2017, one component).

A continuous density on 8-bit values is not a probability of them: it can exceed 1, so its
"bits per dimension" can come out negative and compare with nothing in the literature. The
discretized logistic gives each of the 256 levels a probability, so −log₂ P / D is the
literature's bits/dim, and it needs no Jacobian when vaekit scales 0–255 to [0, 1]
(``discrete = True``: evaluation knows not to add one).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Distribution, Independent

from ..errors import DataError, opt
from .discretized import DiscretizedLogistic
from .likelihoods import (
    LIKELIHOODS,
    Likelihood,
    inverse_softplus,
    sigma_floor_or_default,
    sigma_or_default,
)

LEVELS = 256


@LIKELIHOODS.register
class DiscretizedLogisticLikelihood(Likelihood):
    """8-bit data on the grid k/255: the decoder gives a location and a scale per value.

    The scale is s = floor + softplus(raw + offset), floored like the Gaussians' σ, and a zero
    decoder output means a logistic whose std is the configured ``sigma`` (by default the
    training data's std): logistic std = s·π/√3.
    """

    name = "discretized-logistic"
    params_per_dim = 2
    has_sigma = True
    learns_sigma = True
    discrete = True
    auto_for = "8-bit"

    def __init__(
        self, dim: int, sigma: float | None = None, sigma_floor: float | None = None
    ) -> None:
        super().__init__(dim)
        self.sigma_floor = sigma_floor_or_default(sigma_floor)
        start = sigma_or_default(sigma) * math.sqrt(3) / math.pi  # a logistic with std σ
        # The scale's floor may exceed that start when σ is near its floor: start just above.
        self.raw_offset = inverse_softplus(max(start - self.sigma_floor, 1e-6))

    def distribution(self, out: Tensor) -> Distribution:
        loc = out[..., : self.dim]  # (..., D)
        scale = self.sigma_floor + F.softplus(out[..., self.dim :] + self.raw_offset)  # (..., D)
        return Independent(DiscretizedLogistic(loc, scale.log(), LEVELS, validate_args=False), 1)

    def sample(self, out: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.distribution(out).base_dist.sample_with(generator)

    def check_data(self, x: np.ndarray, what: str = "data") -> None:
        k = x * (LEVELS - 1)
        off = (np.abs(k - np.round(k)) > 1e-3) | (x < 0) | (x > 1)
        if off.any():
            v = x[off].flat[0]
            raise DataError(
                f"{what} is not 8-bit (found value {v:g}, not k/255 in [0, 1]) but the "
                f"'{self.name}' likelihood gives probabilities to the 256 levels of 8-bit data "
                f"(integers 0–255, which vaekit scales); use a gaussian likelihood (e.g. "
                f"{opt('likelihood', 'gaussian-shared')}) for other real values"
            )
