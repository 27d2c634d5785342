"""The anatomy of the gap log p(x) − ELBO, and posterior collapse, per data set.

log p(x) − ELBO(q_φ) = KL(q_φ(z|x) ‖ p(z|x)) splits (Cremer, Li & Duvenaud 2018) into
- the amortisation gap ELBO(q*) − ELBO(q_φ): what one shared encoder loses against the best
  mean-field Gaussian q* of each data point, found here by gradient ascent on that point's
  own (μ, σ), started at the encoder's output (non-amortised inference); and
- the approximation gap log p(x) − ELBO(q*): what the mean-field Gaussian family loses.
Active units (Burda et al. 2016) count the latent dimensions u with Cov_x(E_q[z_u]) > 0.01.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent
from tqdm.auto import tqdm

from ..models import VAE, kl_per_dim, posterior, raw_scale, rsample
from .importance import fitting_rows, generator_for, log_likelihood_batch

ACTIVE_UNIT_THRESHOLD = 0.01


def _elbo(model: VAE, q: Independent, x: Tensor, samples: int, gen: torch.Generator,
          prior: Distribution | None = None) -> Tensor:  # fmt: skip
    """ELBO per example (B,), averaged over ``samples`` draws (the KL analytic where it exists)."""
    lj = model.log_joint(x, rsample(q, samples, gen), q, prior)  # draws (S, B, L)
    return lj.log_likelihood.mean(0) - lj.kl()  # (B,)


def refine_posterior(
    model: VAE,
    x: Tensor,
    *,
    steps: int = 100,
    lr: float = 2e-2,
    samples: int = 4,
    generator: torch.Generator | None = None,
    done: Callable[[int], object] | None = None,
) -> Independent:
    """Per-example mean-field q*(z|x), started at the encoder and ascended on its own ELBO.

    Adam acts elementwise and the loss is a sum over examples, so each example's (μ, σ)
    follows its own ELBO's gradient: B independent optimisations in one batched loop.
    The model's weights are untouched. ``done(B)`` is told of each step (progress).
    """
    gen = generator_for(model, 0, generator)
    with torch.no_grad():
        q0 = model.encode(x).base_dist
        loc = q0.loc.clone().requires_grad_(True)  # (B, L)
        raw = raw_scale(q0.scale).requires_grad_(True)  # (B, L)
        prior = model.prior_of(x)  # a constant here: once, not once a step
    opt = torch.optim.Adam([loc, raw], lr=lr)
    for _ in range(steps):
        loss = -_elbo(model, posterior(loc, raw), x, samples, gen, prior).sum()
        loc.grad, raw.grad = torch.autograd.grad(loss, [loc, raw])  # only q's, not the model's
        opt.step()
        if done is not None:
            done(x.shape[0])
    return posterior(loc.detach(), raw.detach())


def refined_estimates(
    model: VAE,
    x: Tensor,
    *,
    steps: int = 100,
    lr: float = 2e-2,
    samples: int = 4,
    eval_samples: int = 64,
    importance_samples: int = 0,
    batch_size: int = 500,
    seed: int = 0,
    quiet: bool = True,
) -> dict[str, Tensor]:
    """Scores under the refined per-example posterior q*, each (N,) float64.

    ``elbo``: the ELBO of q*; with ``importance_samples`` k > 0 also ``log_likelihood``, the
    IS estimate with q* as the proposal instead of the encoder. Any proposal gives a lower
    bound in expectation; where the encoder is off (an amortisation gap), q* gives a tighter
    one, which measures how loose the standard encoder-proposal estimate is. ``quiet=False``
    shows a bar that advances with every refinement step and every chunk of IS samples.
    """
    model.eval()
    gen = generator_for(model, seed)
    out: dict[str, list[Tensor]] = {"elbo": [], "log_likelihood": []}
    # Work counted in example-steps and importance weights, so every step moves the bar.
    bar = tqdm(total=x.shape[0] * (steps + importance_samples), desc="refining q(z|x)",
               unit="", unit_scale=True, disable=quiet, leave=False)  # fmt: skip
    for xb in x.split(fitting_rows(model, batch_size, samples)):
        q = refine_posterior(model, xb, steps=steps, lr=lr, samples=samples, generator=gen,
                             done=bar.update)  # fmt: skip
        with torch.no_grad():
            out["elbo"].append(_elbo(model, q, xb, eval_samples, gen).double())
        if importance_samples > 0:
            out["log_likelihood"].append(
                log_likelihood_batch(model, xb, importance_samples, gen, q, done=bar.update)
            )
    bar.close()
    return {name: torch.cat(v) for name, v in out.items() if v}


def refined_elbo(model: VAE, x: Tensor, **kwargs: object) -> Tensor:
    """ELBO of the refined per-example posterior q*, (N,) float64 (see refined_estimates)."""
    return refined_estimates(model, x, **kwargs)["elbo"]  # type: ignore[arg-type]


@torch.inference_mode()
def latent_statistics(model: VAE, x: Tensor, batch_size: int = 1000) -> dict[str, object]:
    """Active units and the mean KL of each latent dimension over the data set."""
    model.eval()
    means, kls = [], []
    for xb in x.split(batch_size):
        q = model.encode(xb)
        prior = model.prior.distribution(model.parts(xb)[1])  # p(z) or p(z|c)
        means.append(q.mean.double())
        if model.prior.factorised:
            kls.append(kl_per_dim(q, prior).double().sum(0))
    mu = torch.cat(means)  # (N, L)
    activity = mu.var(0) if mu.shape[0] > 1 else torch.zeros_like(mu[0])
    return {
        "active_units": int((activity > ACTIVE_UNIT_THRESHOLD).sum()),
        "unit_activity": activity.tolist(),  # Cov_x(E_q[z_u]) per dimension
        # None for a prior that does not factorise (the VampPrior): no per-dimension KL exists.
        "kl_per_dim": (torch.stack(kls).sum(0) / mu.shape[0]).tolist() if kls else None,
    }


def bits_per_dim(nats: float, dim: int) -> float:
    """−log p in bits per data dimension, from log p in nats per example."""
    return -nats / (dim * math.log(2))
