"""Priors p(z) as objects, so later priors (mixtures, flows) slot in without touching models."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal


class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I) over ``latent_dim`` dimensions."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # Buffers, so the prior follows the model's device and dtype.
        self.register_buffer("loc", torch.zeros(latent_dim), persistent=False)
        self.register_buffer("scale", torch.ones(latent_dim), persistent=False)

    def distribution(self) -> Distribution:
        """Batch shape (), event shape (latent_dim,)."""
        return Independent(Normal(self.loc, self.scale, validate_args=False), 1)

    def log_prob(self, z: Tensor) -> Tensor:
        """(..., L) -> (...)."""
        return self.distribution().log_prob(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, L) draws, reproducible through ``generator``."""
        eps = torch.randn(
            (n, self.latent_dim), generator=generator, device=self.loc.device, dtype=self.loc.dtype
        )
        return self.loc + self.scale * eps
