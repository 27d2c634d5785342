"""A discretized logistic over the grid {k/(L-1)}: 8-bit images scaled to [0, 1].

After Salimans et al. 2017 (PixelCNN++), one component. With bin half-width h = 1/(2(L-1)),
a = (x + h - μ)/s and b = (x - h - μ)/s, level k has mass σ(a) - σ(b); the first level takes
all the mass below (σ(a)) and the last all the mass above (1 - σ(b) = σ(-b)), so the L masses
sum to 1. Batch shape is ``loc.shape`` and the event shape (); wrap in ``Independent(d, 1)``.

Stability: σ(a) - σ(b) = σ(a)·σ(-b)·(1 - e^{-(a-b)}) exactly, with a - b = 2h/s, so

    log P = log σ(a) + log σ(-b) + log(1 - e^{-2h/s})

is a sum of terms that are each finite and accurate for any μ, s: no cdf difference is ever
formed (so none cancels or underflows to log 0), and the last term depends on s alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Distribution, constraints

# log s is clamped here from below before use: e^30 does not overflow float32, and at
# s = e^-30 ≈ 1e-13 every bin of an ≤ 2^24-level grid is a point mass to float precision anyway
# (below the clamp the gradient wrt log_scale is 0; log_prob stays finite).
LOG_SCALE_MIN = -30.0
# Standardised distances are clamped to ±this, so (x - μ)/s never becomes ±inf for huge |μ|:
# log_prob is then about -1e30, finite, rather than -inf. Finite inputs never give NaN/-inf.
STANDARD_MAX = 1e30


class _Grid(constraints.Constraint):
    """Values k/(levels-1), k = 0..levels-1 (to within 1e-3 of a level, for float rounding)."""

    is_discrete = True
    event_dim = 0

    def __init__(self, levels: int) -> None:
        self.levels = levels
        super().__init__()

    def check(self, value: Tensor) -> Tensor:
        k = value * (self.levels - 1)
        return (k >= -1e-3) & (k <= self.levels - 1 + 1e-3) & ((k - k.round()).abs() < 1e-3)


def _log1mexp(log_t: Tensor) -> Tensor:
    """log(1 - e^{-t}) for t = e^{log_t} > 0, accurate and finite (with finite gradients)."""
    t = log_t.exp()
    t_safe = t.clamp_min(math.exp(-10.0))  # the branches below never see t -> 0
    # The two forms of Mächler (2012): each is accurate on its side of t = log 2.
    big, small = torch.log1p(-torch.exp(-t_safe)), torch.log(-torch.expm1(-t_safe))
    exact = torch.where(t > math.log(2.0), big, small)
    # t < e^-10: log(1 - e^{-t}) = log t - t/2 + O(t²); log t itself never underflows.
    return torch.where(log_t < -10.0, log_t - t / 2, exact)


class DiscretizedLogistic(Distribution):
    """Logistic(loc, e^log_scale) rounded to the nearest of ``levels`` points of [0, 1]."""

    arg_constraints = {"loc": constraints.real, "log_scale": constraints.real}
    has_rsample = False

    def __init__(
        self, loc: Tensor, log_scale: Tensor, levels: int = 256, validate_args: bool | None = None
    ) -> None:
        if levels < 2:
            raise ValueError(f"levels must be at least 2, got {levels}")
        self.loc, self.log_scale = torch.broadcast_tensors(loc, log_scale)
        self.levels = levels
        super().__init__(self.loc.shape, torch.Size(), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return _Grid(self.levels)

    def expand(self, batch_shape, _instance=None) -> DiscretizedLogistic:
        new = self._get_checked_instance(DiscretizedLogistic, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.log_scale = self.log_scale.expand(batch_shape)
        new.levels = self.levels
        super(DiscretizedLogistic, new).__init__(batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _inv_scale(self) -> Tensor:
        return torch.exp(-self.log_scale.clamp_min(LOG_SCALE_MIN))  # batch shape, ≤ e^30

    def log_prob(self, value: Tensor) -> Tensor:
        """log P(value), value and the batch shape broadcast together; finite for finite input."""
        if self._validate_args:
            self._validate_sample(value)
        last = self.levels - 1
        h = 0.5 / last
        k = (value * last).round()  # (...) the level; off-grid values snap to the nearest
        inv_s = self._inv_scale()
        # Edges from k, not value ± h: the upper edge of level k and the lower edge of k + 1 are
        # then the same float, so the masses telescope and sum to 1 to rounding even as s -> 0.
        a = (((k + 0.5) / last - self.loc) * inv_s).clamp(-STANDARD_MAX, STANDARD_MAX)
        b = (((k - 0.5) / last - self.loc) * inv_s).clamp(-STANDARD_MAX, STANDARD_MAX)
        # log(1 - e^{-2h/s}), with log(2h/s) = log(2h) - log s formed directly (no underflow).
        width = _log1mexp(math.log(2 * h) - self.log_scale.clamp_min(LOG_SCALE_MIN))
        zero = torch.zeros((), dtype=a.dtype, device=a.device)
        below = torch.where(k < last, F.logsigmoid(a), zero)  # log σ(a): all but the last level
        above = torch.where(k > 0, F.logsigmoid(-b), zero)  # log σ(-b): all but the first
        return below + above + torch.where((k > 0) & (k < last), width, zero)

    @property
    def mean(self) -> Tensor:
        """The exact mean Σ_k x_k P(x_k), not loc: summing by parts over the telescoping masses,

        E[X] = 1 - (1/(L-1)) Σ_{j=0}^{L-2} σ((x_j + h - μ)/s),

        one sigmoid per inner bin edge, no cdf differences. Evaluated up to 64 edges at a time,
        fewer for large batches so a temporary stays near 2^22 values (64 samples of 256x256
        took 3 GB at 64 edges); it is differentiable in loc and log_scale.
        """
        last = self.levels - 1
        inv_s = self._inv_scale()
        edges = (torch.arange(last, dtype=self.loc.dtype, device=self.loc.device) + 0.5) / last
        total = torch.zeros_like(self.loc)
        step = max(1, min(64, (1 << 22) // max(1, self.loc.numel())))
        for start in range(0, last, step):
            chunk = edges[start : start + step].reshape((-1,) + (1,) * self.loc.dim())
            # (chunk, 1, ..) - (...) -> (chunk, ...), summed over the edges -> (...)
            total = total + torch.sigmoid((chunk - self.loc) * inv_s).sum(0)
        return 1 - total / last

    def sample(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> Tensor:
        return self.sample_with(None, sample_shape)

    def sample_with(
        self,
        generator: torch.Generator | None,
        sample_shape: torch.Size | tuple[int, ...] = (),
    ) -> Tensor:
        """Draws of shape sample_shape + batch_shape, reproducible through ``generator``."""
        shape = self._extended_shape(torch.Size(sample_shape))
        with torch.no_grad():
            u = torch.rand(shape, generator=generator, device=self.loc.device, dtype=self.loc.dtype)
            u = u.clamp_min(torch.finfo(u.dtype).tiny)  # rand is in [0, 1): keep log u finite
            # Inverse logistic cdf: μ + s·logit(u); then round to the nearest level in [0, 1].
            x = self.loc + (torch.log(u) - torch.log1p(-u)) / self._inv_scale()
            last = self.levels - 1
            return (x * last).round().clamp(0, last) / last
