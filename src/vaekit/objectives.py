"""Objectives: take a model and a batch, return per-example terms and the loss to minimise.

The model holds no loss; an objective is chosen independently of the architecture and the
likelihood. All per-example terms have shape (B,) and are in nats (summed over dimensions);
only ``loss`` is reduced (mean over the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Distribution, kl_divergence

from .model import VAE, rsample


@dataclass
class ObjectiveTerms:
    elbo: Tensor  # (B,) the true ELBO (β = 1), whatever β the loss uses
    reconstruction: Tensor  # (B,) E_q[log p(x|z)], one-sample estimate
    kl: Tensor  # (B,) KL(q(z|x) ‖ p(z)), analytic where it exists
    loss: Tensor  # () what the optimiser minimises: mean over the batch


def _check_per_example(name: str, t: Tensor, batch: int) -> None:
    # Silent broadcasting of (B,) against (B, 1) is the classic VAE bug: fail loudly instead.
    if t.shape != (batch,):
        raise RuntimeError(f"{name} has shape {tuple(t.shape)}, expected ({batch},)")


def kl_to_prior(q: Distribution, p: Distribution, z: Tensor) -> Tensor:
    """KL(q ‖ p) per example; analytic if torch knows it, else the one-sample estimate at z."""
    try:
        return kl_divergence(q, p)
    except NotImplementedError:
        return q.log_prob(z) - p.log_prob(z)


class ELBO:
    """β-ELBO: E_q[log p(x|z)] − β·KL(q(z|x) ‖ p(z)), reparameterised, one sample per example.

    ``beta`` given to ``__call__`` overrides the constructor's (KL warm-up passes its ramp).
    """

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = float(beta)

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
        kl = kl_to_prior(q, model.prior.distribution(), z)  # (B,)
        _check_per_example("reconstruction term", rec, batch)
        _check_per_example("KL term", kl, batch)
        loss = -(rec - beta * kl).mean()
        return ObjectiveTerms(elbo=rec - kl, reconstruction=rec, kl=kl, loss=loss)
