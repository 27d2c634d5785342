"""The VAE: encoder → q(z|x), prior p(z), decoder → p(x|z). It computes no loss.

Its log-joint — log p(x|z), log p(z) and log q(z|x) at given draws — is computed in one
place, :meth:`VAE.log_joint`, which every objective (ELBO, IWAE), the importance-sampled
log-likelihood and the gap diagnostics call. ``forward`` (encode, draw, log-joint) is what
wrappers such as ``torch.compile`` or DistributedDataParallel wrap.
"""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent

from .config import ModelConfig
from .kl import kl_to_prior
from .likelihoods import LIKELIHOODS, Likelihood
from .networks import build_networks, widest_activation
from .posterior import detached, posterior, rsample
from .priors import make_prior


class LogJoint:
    """The terms of log p(x, z) − log q(z|x) at draws z ~ q(z|x), for a batch x.

    z is (B, L) or (S, B, L) for S draws per example; every term is (B,) or (S, B), summed
    over the data or latent dimensions. The decoder runs on construction; the prior and
    posterior terms are computed on first use, so an objective with an analytic KL pays for
    neither.
    """

    def __init__(self, model: VAE, x: Tensor, z: Tensor, q: Independent) -> None:
        self.x, self.z, self.q = x, z, q
        self._prior = model.prior
        self.decoder_output = model.decoder(z)  # (..., B, P*D)
        self.log_likelihood = model.likelihood.log_prob(self.decoder_output, x)  # log p(x|z)

    @cached_property
    def prior(self) -> Distribution:
        """p(z) as a distribution: batch shape (), event shape (L,)."""
        return self._prior.distribution()

    @cached_property
    def log_prior(self) -> Tensor:
        """log p(z), (..., B)."""
        return self.prior.log_prob(self.z)

    @cached_property
    def log_posterior(self) -> Tensor:
        """log q(z|x), (..., B)."""
        return self.q.log_prob(self.z)

    def log_weight(self, stop_posterior_gradient: bool = False) -> Tensor:
        """log p(x, z) − log q(z|x), (..., B): the importance weight of each draw.

        ``stop_posterior_gradient`` cuts q's parameters from log q (they still reach it
        through z), as the doubly reparameterised gradient needs.
        """
        log_prior = self.log_prior  # before log q: keeps autograd's accumulation order
        log_q = detached(self.q).log_prob(self.z) if stop_posterior_gradient else self.log_posterior
        return self.log_likelihood + log_prior - log_q

    def kl(self, z: Tensor | None = None) -> Tensor:
        """KL(q(z|x) ‖ p(z)) per example, (B,): analytic where it exists, else estimated at
        ``z`` (default: these draws, averaged over S)."""
        return kl_to_prior(self.q, self.prior, self.z if z is None else z)


class VAE(nn.Module):
    """Gaussian-latent VAE with an amortised diagonal-Gaussian posterior."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        # Registration order fixes parameters() order, which checkpoints' optimiser state uses.
        self.likelihood: Likelihood = LIKELIHOODS.lookup(config.likelihood).from_config(config)
        out_dim = self.likelihood.params_per_dim * config.input_dim
        self.encoder, self.decoder = build_networks(config, out_dim)
        self.prior: nn.Module = make_prior(config, self.encode)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def input_dim(self) -> int:
        return self.config.input_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @cached_property
    def decoder_width(self) -> int:
        """Elements per latent draw of the decoder's largest tensor, its output or wider
        feature maps: how the chunked importance-sampling loop bounds its memory."""
        return widest_activation(self.decoder, self.latent_dim)

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

    def log_joint(self, x: Tensor, z: Tensor, q: Independent) -> LogJoint:
        """The log-joint terms at draws ``z`` (..., B, L) from ``q`` (the encoder's, or any
        Gaussian proposal with batch shape (B,))."""
        return LogJoint(self, x, z, q)

    def forward(
        self, x: Tensor, samples: int | None = None, generator: torch.Generator | None = None
    ) -> LogJoint:
        """Encode ``x`` (B, D), draw z ~ q(z|x) reparameterised — (B, L), or (S, B, L) for
        ``samples`` = S — and return the log-joint at those draws."""
        q = self.encode(x)
        return self.log_joint(x, rsample(q, samples, generator), q)

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, noise: bool = False
    ) -> Tensor:
        """(n, D) decoder means at z ~ p(z), or draws x ~ p(x|z) with ``noise=True``."""
        z = self.prior.sample(n, generator)
        out = self.decoder_output(z)
        return self.likelihood.sample(out, generator) if noise else self.likelihood.mean(out)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoder mean at the posterior mean: (B, D) -> (B, D)."""
        return self.likelihood.mean(self.decoder_output(self.encode(x).mean))
