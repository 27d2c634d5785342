"""Objectives: take a model and a batch, return per-example terms and the loss to minimise.

The model holds no loss; an objective is chosen independently of the architecture and the
likelihood. All per-example terms have shape (B,) and are in nats (summed over dimensions);
only ``loss`` is reduced (mean over the batch).

- :class:`ELBO`: the β-ELBO, optionally with free bits (Kingma et al. 2016);
- :class:`IWAE`: the k-sample importance-weighted bound (Burda et al. 2016), with the plain
  gradient or the doubly reparameterised one for the encoder (DReG, Tucker et al. 2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, kl_divergence

from .model import VAE, rsample


@dataclass
class ObjectiveTerms:
    elbo: Tensor  # (B,) the true ELBO (β = 1), whatever β the loss uses
    reconstruction: Tensor  # (B,) E_q[log p(x|z)], one-sample estimate
    kl: Tensor  # (B,) KL(q(z|x) ‖ p(z)), analytic where it exists
    loss: Tensor  # () what the optimiser minimises: mean over the batch
    bound: Tensor | None = None  # (B,) the objective's own bound (IWAE-k); None means the ELBO

    def __post_init__(self) -> None:
        if self.bound is None:
            self.bound = self.elbo


def _check_per_example(name: str, t: Tensor, batch: int) -> None:
    # Silent broadcasting of (B,) against (B, 1) is the classic VAE bug: fail loudly instead.
    if t.shape != (batch,):
        raise RuntimeError(f"{name} has shape {tuple(t.shape)}, expected ({batch},)")


def kl_to_prior(q: Distribution, p: Distribution, z: Tensor) -> Tensor:
    """KL(q ‖ p) per example, (B,): analytic if torch knows it, else a Monte Carlo estimate.

    ``z`` holds draws from q, (B, L) or (S, B, L); the estimate averages log q − log p over
    the S draws (a mixture prior such as the VampPrior has no closed-form KL).
    """
    try:
        return kl_divergence(q, p)
    except NotImplementedError:
        est = q.log_prob(z) - p.log_prob(z)  # (B,) or (S, B)
        return est.mean(0) if est.dim() > len(q.batch_shape) else est


def kl_per_dim(q: Independent, p: Distribution) -> Tensor:
    """Analytic KL per latent dimension, (B, L): defined only when p factorises as q does."""
    if not isinstance(p, Independent) or not isinstance(p.base_dist, type(q.base_dist)):
        raise ValueError("KL per latent dimension needs a prior that factorises over dimensions")
    return kl_divergence(q.base_dist, p.base_dist).expand(q.base_dist.batch_shape)


class ELBO:
    """β-ELBO: E_q[log p(x|z)] − β·KL(q(z|x) ‖ p(z)), reparameterised, one sample per example.

    ``free_bits`` λ > 0 (nats per latent dimension) replaces the KL in the loss by
    Σ_j max(λ, mean over the batch of KL_j), as Kingma et al. (2016): a dimension below λ
    feels no pull towards the prior, which keeps units from collapsing early.
    ``beta`` given to ``__call__`` overrides the constructor's (KL warm-up passes its ramp).
    """

    def __init__(self, beta: float = 1.0, free_bits: float = 0.0) -> None:
        self.beta = float(beta)
        self.free_bits = float(free_bits)

    @classmethod
    def from_config(cls, train: Any) -> ELBO:
        return cls(beta=train.beta, free_bits=train.free_bits)

    def __call__(
        self,
        model: VAE,
        x: Tensor,
        generator: torch.Generator | None = None,
        beta: float | None = None,
    ) -> ObjectiveTerms:
        beta = self.beta if beta is None else float(beta)
        batch = x.shape[0]
        q = model.encode(x)  # batch (B,), event (L,)
        z = rsample(q, generator=generator)  # (B, L)
        rec = model.likelihood.log_prob(model.decoder_output(z), x)  # (B,)
        prior = model.prior.distribution()
        if self.free_bits > 0:
            kl_dims = kl_per_dim(q, prior)  # (B, L)
            kl = kl_dims.sum(-1)
            kl_loss = kl_dims.mean(0).clamp(min=self.free_bits).sum()  # () per example
        else:
            kl = kl_to_prior(q, prior, z)  # (B,)
            kl_loss = kl.mean()
        _check_per_example("reconstruction term", rec, batch)
        _check_per_example("KL term", kl, batch)
        loss = -rec.mean() + beta * kl_loss
        return ObjectiveTerms(elbo=rec - kl, reconstruction=rec, kl=kl, loss=loss)


class IWAE:
    """Importance-weighted bound log (1/k) Σ_k p(x, z_k)/q(z_k|x), z_k ~ q(z|x) (Burda et al.).

    Equal to the ELBO in expectation at k = 1 and tighter as k grows. ``dreg=True`` gives the
    encoder the doubly reparameterised gradient Σ_k w̃_k² ∂log w_k/∂z_k ∂z_k/∂φ (Tucker et al.
    2019), which has the same expectation as the plain gradient but does not lose its
    signal-to-noise ratio as k grows; the decoder's gradient is unchanged.
    """

    def __init__(self, k: int = 50, dreg: bool = False) -> None:
        if k < 1:
            raise ValueError(f"IWAE needs k >= 1 samples, got {k}")
        self.k, self.dreg = int(k), bool(dreg)

    @classmethod
    def from_config(cls, train: Any) -> IWAE:
        return cls(k=train.k, dreg=train.dreg)

    def __call__(
        self,
        model: VAE,
        x: Tensor,
        generator: torch.Generator | None = None,
        beta: float | None = None,
    ) -> ObjectiveTerms:
        if beta not in (None, 1.0):
            raise ValueError("the IWAE bound has no KL weight; use the ELBO objective for beta")
        batch = x.shape[0]
        q = model.encode(x)  # batch (B,), event (L,)
        z = rsample(q, self.k, generator)  # (k, B, L)
        rec = model.likelihood.log_prob(model.decoder_output(z), x)  # (k, B)
        log_prior = model.prior.log_prob(z)  # (k, B)
        # DReG: q's parameters enter log q only through z, so the score term is gone.
        q_for_weights = _detached(q) if self.dreg else q
        log_w = rec + log_prior - q_for_weights.log_prob(z)  # (k, B)
        bound = torch.logsumexp(log_w, dim=0) - math.log(self.k)  # (B,)
        if self.dreg and torch.is_grad_enabled():
            w = torch.softmax(log_w.detach(), dim=0)  # (k, B) normalised weights
            # ∂/∂z of Σ w̃ log w, scaled once more by w̃ on the way into the encoder: w̃².
            z.register_hook(lambda g: g * w.unsqueeze(-1))
            surrogate = (w * log_w).sum(0)  # (B,) its θ-gradient is the IWAE gradient
            # The value of the bound, the gradient of the surrogate.
            loss = -(bound.detach() + surrogate - surrogate.detach()).mean()
        else:
            loss = -bound.mean()
        kl = kl_to_prior(q, model.prior.distribution(), z[0])  # (B,)
        _check_per_example("IWAE bound", bound, batch)
        _check_per_example("KL term", kl, batch)
        return ObjectiveTerms(
            elbo=rec[0] - kl, reconstruction=rec[0], kl=kl, loss=loss, bound=bound.detach()
        )


def _detached(q: Independent) -> Independent:
    base = q.base_dist
    return Independent(type(base)(base.loc.detach(), base.scale.detach(), validate_args=False), 1)


OBJECTIVES = {"elbo": ELBO, "iwae": IWAE}


def make_objective(train: Any) -> ELBO | IWAE:
    """The objective a :class:`vaekit.TrainConfig` asks for."""
    return OBJECTIVES[train.objective].from_config(train)
