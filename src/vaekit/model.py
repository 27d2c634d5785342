"""The VAE: encoder → q(z|x), prior p(z), decoder → p(x|z). It computes no loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal

from .config import ModelConfig
from .likelihoods import Likelihood, make_likelihood
from .networks import build_networks
from .priors import make_prior

# Posterior stds never go below this: keeps log q(z|x) finite however confident the encoder.
POSTERIOR_SCALE_FLOOR = 1e-5


class VAE(nn.Module):
    """Gaussian-latent VAE with an amortised diagonal-Gaussian posterior."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.likelihood: Likelihood = make_likelihood(
            config.likelihood, config.input_dim, config.sigma, config.sigma_floor
        )
        self.encoder, self.decoder = build_networks(
            config.arch,
            config.input_dim,
            config.latent_dim,
            self.likelihood.params_per_dim * config.input_dim,
            config.hidden,
            config.activation,
        )
        self.prior: nn.Module = make_prior(config, self.encode)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def input_dim(self) -> int:
        return self.config.input_dim

    def encode(self, x: Tensor) -> Independent:
        """q(z|x): batch shape (B,), event shape (L,)."""
        loc, raw = self.encoder(x).chunk(2, dim=-1)  # (B, L) each
        return posterior(loc, raw)

    def decoder_output(self, z: Tensor) -> Tensor:
        """Raw decoder parameters (..., P*D) for latents (..., L)."""
        return self.decoder(z)

    def decode(self, z: Tensor) -> Distribution:
        """p(x|z): batch shape (...), event shape (D,)."""
        return self.likelihood.distribution(self.decoder_output(z))

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, noise: bool = False
    ) -> Tensor:
        """(n, D) decoder means at z ~ p(z), or draws x ~ p(x|z) with ``noise=True``."""
        z = self.prior.sample(n, generator)
        out = self.decoder_output(z)
        if not noise:
            return self.likelihood.mean(out)
        return _sample_with_generator(self.likelihood.distribution(out), generator)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoder mean at the posterior mean: (B, D) -> (B, D)."""
        return self.likelihood.mean(self.decoder_output(self.encode(x).mean))


def posterior(loc: Tensor, raw_scale: Tensor) -> Independent:
    """Diagonal Gaussian q(z|x) from a mean and an unconstrained scale (softplus + floor)."""
    scale = F.softplus(raw_scale) + POSTERIOR_SCALE_FLOOR
    return Independent(Normal(loc, scale, validate_args=False), 1)


def raw_scale(scale: Tensor) -> Tensor:
    """The inverse of ``posterior``'s scale map: the raw value that gives ``scale``."""
    y = (scale - POSTERIOR_SCALE_FLOOR).clamp(min=1e-30)
    return (y + torch.log(-torch.expm1(-y))).clamp(min=-30)


def rsample(
    q: Independent, n: int | None = None, generator: torch.Generator | None = None
) -> Tensor:
    """Reparameterised draw z = μ + σ ⊙ ε from a diagonal Gaussian, with explicit randomness.

    Returns (B, L) for ``n=None`` and (n, B, L) otherwise. (``Distribution.rsample`` takes no
    generator, so runs could not be reproduced without touching the global RNG.)
    """
    base = q.base_dist
    shape = base.loc.shape if n is None else (n, *base.loc.shape)
    eps = torch.randn(shape, generator=generator, dtype=base.loc.dtype, device=base.loc.device)
    return base.loc + base.scale * eps


def _sample_with_generator(d: Distribution, generator: torch.Generator | None) -> Tensor:
    base = d.base_dist if isinstance(d, Independent) else d
    if isinstance(base, Normal):
        return base.loc + base.scale * torch.randn(
            base.loc.shape, generator=generator, dtype=base.loc.dtype
        )
    probs = base.probs  # Bernoulli
    return torch.bernoulli(probs, generator=generator)
