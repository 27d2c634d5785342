"""The amortised posterior q(z|x) = N(μ, diag σ²) and reparameterised draws from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Independent, Normal

# Posterior stds never go below this: keeps log q(z|x) finite however confident the encoder.
POSTERIOR_SCALE_FLOOR = 1e-5


def posterior(loc: Tensor, raw_scale: Tensor) -> Independent:
    """Diagonal Gaussian q(z|x) from a mean and an unconstrained scale (softplus + floor)."""
    scale = F.softplus(raw_scale) + POSTERIOR_SCALE_FLOOR
    return Independent(Normal(loc, scale, validate_args=False), 1)


def raw_scale(scale: Tensor) -> Tensor:
    """The inverse of ``posterior``'s scale map: the raw value that gives ``scale``."""
    y = (scale - POSTERIOR_SCALE_FLOOR).clamp(min=1e-30)
    return (y + torch.log(-torch.expm1(-y))).clamp(min=-30)


def detached(q: Independent) -> Independent:
    """The same Gaussian with its parameters cut from the graph (DReG's log q)."""
    base = q.base_dist
    return Independent(type(base)(base.loc.detach(), base.scale.detach(), validate_args=False), 1)


def rsample(
    q: Independent, n: int | None = None, generator: torch.Generator | None = None
) -> Tensor:
    """Reparameterised draw z = μ + σ ⊙ ε from a diagonal Gaussian, with explicit randomness.

    Returns (B, L) for ``n=None`` and (n, B, L) otherwise. (``Distribution.rsample`` takes no
    generator, so runs could not be reproduced without touching the global RNG.)
    """
    base = q.base_dist
    shape = base.loc.shape if n is None else (n, *base.loc.shape)
    window = NOISE_WINDOW.get()
    if window is None:
        eps = torch.randn(shape, generator=generator, dtype=base.loc.dtype, device=base.loc.device)
    else:  # this process's rows of a batch shared with others: draw the whole batch's noise
        rows, start = window  # and keep its own rows, so every example gets the noise it
        full = (*shape[:-2], rows, shape[-1])  # would get in a single process
        eps = torch.randn(full, generator=generator, dtype=base.loc.dtype, device=base.loc.device)
        eps = eps[..., start : start + shape[-2], :]
    return base.loc + base.scale * eps


# (rows of the whole batch, this process's first row) while training data-parallel
NOISE_WINDOW: ContextVar[tuple[int, int] | None] = ContextVar("noise_window", default=None)


@contextmanager
def noise_window(rows: int, start: int) -> Iterator[None]:
    """Within it, :func:`rsample` draws noise for a batch of ``rows`` and keeps the rows from
    ``start`` on: the shard of a batch one of several processes trains on."""
    token = NOISE_WINDOW.set((rows, start))
    try:
        yield
    finally:
        NOISE_WINDOW.reset(token)
