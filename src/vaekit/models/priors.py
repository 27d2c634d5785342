"""Priors p(z) as objects, so later priors (mixtures, flows) slot in without touching models.

A prior has ``distribution(c)``, ``log_prob(z, c)`` and ``sample(n, generator, c)``, a
``name`` in :data:`PRIORS`, and says whether it ``factorised`` over latent dimensions (KL per
dimension, free bits), whether it is ``conditional`` — p(z|c) of a conditional model's
condition features c (B, F), so it needs a condition — and whether it ``serves_conditional``
runs at all (N(0, I) does, ignoring c; the VampPrior's pseudo-inputs carry no condition).
``from_config(config, encode)`` builds it from a :class:`ModelConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    Normal,
)

from ..registry import Registry
from .conditions import feature_dim
from .networks import mlp
from .posterior import posterior, rsample

PRIORS: Registry = Registry("prior")


@PRIORS.register
class StandardNormalPrior(nn.Module):
    """p(z) = N(0, I) over ``latent_dim`` dimensions."""

    name = "standard"
    factorised = True  # KL per latent dimension is defined (free bits, collapse diagnostics)
    conditional = False
    serves_conditional = True

    @classmethod
    def from_config(cls, config: Any, encode: Callable[[Tensor], Independent]) -> nn.Module:
        return cls(config.latent_dim)

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        # Buffers, so the prior follows the model's device and dtype.
        self.register_buffer("loc", torch.zeros(latent_dim), persistent=False)
        self.register_buffer("scale", torch.ones(latent_dim), persistent=False)

    def distribution(self, c: Tensor | None = None) -> Distribution:
        """Batch shape (), event shape (latent_dim,), whatever the condition."""
        return Independent(Normal(self.loc, self.scale, validate_args=False), 1)

    def log_prob(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        """(..., L) -> (...)."""
        return self.distribution().log_prob(z)

    def sample(
        self, n: int, generator: torch.Generator | None = None, c: Tensor | None = None
    ) -> Tensor:
        """(n, L) draws, reproducible through ``generator``."""
        eps = torch.randn(
            (n, self.latent_dim), generator=generator, device=self.loc.device, dtype=self.loc.dtype
        )
        return self.loc + self.scale * eps


class GaussianMixture(MixtureSameFamily):
    """Equal-weight mixture of K diagonal Gaussians, batch shape (), event shape (L,).

    ``log_prob`` expands Σ_l (z_l − μ_kl)²/σ_kl² into matrix products, in float64 so the
    expansion loses nothing: (N, L) against (K, L) costs two GEMMs instead of an (N, K, L)
    tensor, which at K = 500 and the N = 5000·B latents of an IS-5000 batch would need gigabytes.
    """

    def __init__(self, loc: Tensor, scale: Tensor) -> None:
        k = loc.shape[0]
        super().__init__(
            Categorical(logits=torch.zeros(k, dtype=loc.dtype, device=loc.device),
                        validate_args=False),
            Independent(Normal(loc, scale, validate_args=False), 1),
            validate_args=False,
        )  # fmt: skip

    def log_prob(self, z: Tensor) -> Tensor:
        """(..., L) -> (...)."""
        base = self.component_distribution.base_dist
        mu, var = base.loc.double(), base.scale.double().square()  # (K, L)
        zf = z.reshape(-1, z.shape[-1]).double()  # (N, L)
        sq = zf.square() @ (1 / var).T - 2 * zf @ (mu / var).T + (mu.square() / var).sum(-1)
        log_norm = 0.5 * var.log().sum(-1) + 0.5 * mu.shape[-1] * math.log(2 * math.pi)  # (K,)
        comp = -0.5 * sq - log_norm  # (N, K)
        out = torch.logsumexp(comp, dim=-1) - math.log(mu.shape[0])  # (N,)
        return out.to(z.dtype).reshape(z.shape[:-1])


@PRIORS.register
class VampPrior(nn.Module):
    """p(z) = (1/K) Σ_k q(z | u_k): the encoder's posterior at K learned pseudo-inputs.

    The VampPrior of Tomczak & Welling (2018): the optimal prior is the aggregate posterior,
    approximated by a mixture over learned inputs u_k ∈ [0, 1]^D. It shares the encoder, which
    it calls through ``encode`` (not registered, so the encoder's weights are saved once).
    Its KL to a Gaussian q(z|x) has no closed form: objectives use a one-sample estimate.
    """

    name = "vamp"
    factorised = False
    conditional = False
    serves_conditional = False

    @classmethod
    def from_config(cls, config: Any, encode: Callable[[Tensor], Independent]) -> nn.Module:
        return cls(config.latent_dim, config.prior_components, config.input_dim, encode)

    def __init__(self, latent_dim: int, n_components: int, input_dim: int,
                 encode: Callable[[Tensor], Independent]) -> None:  # fmt: skip
        super().__init__()
        self.latent_dim = latent_dim
        # Tomczak's start: near-blank images (a hard tanh keeps them in [0, 1]).
        self.pseudo_inputs = nn.Parameter(0.05 + 0.01 * torch.randn(n_components, input_dim))
        object.__setattr__(self, "_encode", encode)

    def distribution(self, c: Tensor | None = None) -> Distribution:
        q = self._encode(F.hardtanh(self.pseudo_inputs, 0.0, 1.0))  # batch (K,), event (L,)
        return GaussianMixture(q.base_dist.loc, q.base_dist.scale)

    def log_prob(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        """(..., L) -> (...)."""
        return self.distribution().log_prob(z)

    def sample(
        self, n: int, generator: torch.Generator | None = None, c: Tensor | None = None
    ) -> Tensor:
        """(n, L): a uniformly chosen component, then a Gaussian draw from it."""
        base = self.distribution().component_distribution.base_dist
        k = torch.randint(base.loc.shape[0], (n,), generator=generator, device=base.loc.device)
        eps = torch.randn((n, self.latent_dim), generator=generator, dtype=base.loc.dtype,
                          device=base.loc.device)  # fmt: skip
        return base.loc[k] + base.scale[k] * eps


@PRIORS.register
class LearnedPrior(nn.Module):
    """p(z|c) = N(μ(c), diag σ²(c)): a network of the condition's features, as the prior
    network of Sohn et al. (2015). Only for conditional models; its KL to q(z|x, c) is
    analytic, per dimension."""

    name = "learned"
    factorised = True
    conditional = True
    serves_conditional = True

    @classmethod
    def from_config(cls, config: Any, encode: Callable[[Tensor], Independent]) -> nn.Module:
        return cls(config.latent_dim, feature_dim(config), tuple(config.hidden),
                   config.activation)  # fmt: skip

    def __init__(self, latent_dim: int, cond_dim: int, hidden: tuple[int, ...],
                 activation: str = "relu") -> None:  # fmt: skip
        super().__init__()
        self.latent_dim = latent_dim
        self.net = mlp(cond_dim, hidden, 2 * latent_dim, activation)

    def distribution(self, c: Tensor | None = None) -> Distribution:
        """Batch shape (B,), event shape (L,) for features c (B, F)."""
        if c is None:
            raise ValueError("the learned prior p(z|c) needs the condition's features")
        loc, raw = self.net(c).to(c.dtype).chunk(2, dim=-1)  # (B, L) each (float32 under autocast)
        return posterior(loc, raw)

    def log_prob(self, z: Tensor, c: Tensor | None = None) -> Tensor:
        """(..., B, L) -> (..., B)."""
        return self.distribution(c).log_prob(z)

    def sample(
        self, n: int, generator: torch.Generator | None = None, c: Tensor | None = None
    ) -> Tensor:
        """(n, L): one draw for each of the n condition rows of c (n, F)."""
        return rsample(self.distribution(c), None, generator)  # type: ignore[arg-type]


def make_prior(config: Any, encode: Callable[[Tensor], Independent]) -> nn.Module:
    """The prior a :class:`vaekit.ModelConfig` names."""
    return PRIORS.lookup(config.prior).from_config(config, encode)
