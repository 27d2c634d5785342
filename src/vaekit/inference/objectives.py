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
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..errors import ConfigError, opt
from ..models import VAE, kl_per_dim
from ..registry import Registry
from .importance import log_likelihood

OBJECTIVES: Registry = Registry("objective")


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


class Objective:
    """What the trainer needs to know of an objective besides its value.

    ``selected_by`` is the metrics key that picks the best epoch: the objective's own bound
    on validation data (``validation_bound``), or the ELBO where the objective has none.
    """

    name: ClassVar[str]
    selected_by: ClassVar[str] = "valid_elbo"

    @classmethod
    def from_config(cls, train: Any) -> Objective:
        raise NotImplementedError

    @classmethod
    def check_settings(cls, train: Any) -> None:
        """Raise :class:`ConfigError` for training settings this objective has no use for."""

    @property
    def bound_label(self) -> str:
        return "ELBO"

    def validation_bound(self, model: VAE, x: Tensor, seed: int) -> float | None:
        """The objective's own bound on ``x``, where it differs from the ELBO; else None."""
        return None

    def __call__(self, model: VAE, x: Tensor, generator: torch.Generator | None = None,
                 beta: float | None = None) -> ObjectiveTerms:  # fmt: skip
        raise NotImplementedError


@OBJECTIVES.register
class ELBO(Objective):
    """β-ELBO: E_q[log p(x|z)] − β·KL(q(z|x) ‖ p(z)), reparameterised, one sample per example.

    ``free_bits`` λ > 0 (nats per latent dimension) replaces the KL in the loss by
    Σ_j max(λ, mean over the batch of KL_j), as Kingma et al. (2016): a dimension below λ
    feels no pull towards the prior, which keeps units from collapsing early.
    ``beta`` given to ``__call__`` overrides the constructor's (KL warm-up passes its ramp).
    """

    name = "elbo"

    def __init__(self, beta: float = 1.0, free_bits: float = 0.0) -> None:
        self.beta = float(beta)
        self.free_bits = float(free_bits)

    @classmethod
    def from_config(cls, train: Any) -> ELBO:
        return cls(beta=train.beta, free_bits=train.free_bits)

    @classmethod
    def check_settings(cls, train: Any) -> None:
        if train.dreg:
            raise ConfigError(
                f"{opt('dreg')} is a gradient estimator of the iwae objective; add "
                f"{opt('objective', 'iwae')}"
            )

    def __call__(
        self,
        model: VAE,
        x: Tensor,
        generator: torch.Generator | None = None,
        beta: float | None = None,
    ) -> ObjectiveTerms:
        beta = self.beta if beta is None else float(beta)
        batch = x.shape[0]
        lj = model(x, generator=generator)  # one draw z (B, L) per example
        rec = lj.log_likelihood  # (B,)
        if self.free_bits > 0:
            kl_dims = kl_per_dim(lj.q, lj.prior)  # (B, L)
            kl = kl_dims.sum(-1)
            kl_loss = kl_dims.mean(0).clamp(min=self.free_bits).sum()  # () per example
        else:
            kl = lj.kl()  # (B,)
            kl_loss = kl.mean()
        _check_per_example("reconstruction term", rec, batch)
        _check_per_example("KL term", kl, batch)
        loss = -rec.mean() + beta * kl_loss
        return ObjectiveTerms(elbo=rec - kl, reconstruction=rec, kl=kl, loss=loss)


@OBJECTIVES.register
class IWAE(Objective):
    """Importance-weighted bound log (1/k) Σ_k p(x, z_k)/q(z_k|x), z_k ~ q(z|x) (Burda et al.).

    Equal to the ELBO in expectation at k = 1 and tighter as k grows. ``dreg=True`` gives the
    encoder the doubly reparameterised gradient Σ_k w̃_k² ∂log w_k/∂z_k ∂z_k/∂φ (Tucker et al.
    2019), which has the same expectation as the plain gradient but does not lose its
    signal-to-noise ratio as k grows; the decoder's gradient is unchanged.
    """

    name = "iwae"
    selected_by = "valid_bound"

    DEFAULT_K = 50  # samples per example; TrainConfig's default too

    def __init__(self, k: int = DEFAULT_K, dreg: bool = False) -> None:
        if k < 1:
            raise ValueError(f"IWAE needs k >= 1 samples, got {k}")
        self.k, self.dreg = int(k), bool(dreg)

    @classmethod
    def from_config(cls, train: Any) -> IWAE:
        return cls(k=train.k, dreg=train.dreg)

    @classmethod
    def check_settings(cls, train: Any) -> None:
        if train.beta != 1 or train.warmup_epochs or train.free_bits:
            raise ConfigError(
                "beta, KL warm-up and free bits apply to the elbo objective only; "
                f"drop them or use {opt('objective', 'elbo')}"
            )

    @property
    def bound_label(self) -> str:
        return f"IWAE-{self.k} bound"

    def validation_bound(self, model: VAE, x: Tensor, seed: int) -> float | None:
        return float(log_likelihood(model, x, self.k, seed=seed).mean())

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
        lj = model(x, self.k, generator)  # draws z (k, B, L)
        z, rec = lj.z, lj.log_likelihood  # rec (k, B)
        # DReG: q's parameters enter log q only through z, so the score term is gone.
        log_w = lj.log_weight(stop_posterior_gradient=self.dreg)  # (k, B)
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
        kl = lj.kl(z[0])  # (B,) at the first draw, as the ELBO's one-sample estimate
        _check_per_example("IWAE bound", bound, batch)
        _check_per_example("KL term", kl, batch)
        return ObjectiveTerms(
            elbo=rec[0] - kl, reconstruction=rec[0], kl=kl, loss=loss, bound=bound.detach()
        )


def make_objective(train: Any) -> Objective:
    """The objective a :class:`vaekit.TrainConfig` asks for."""
    return OBJECTIVES.lookup(train.objective).from_config(train)
