"""KL(q(z|x) ‖ p(z)): analytic where torch knows it, a Monte Carlo estimate where not."""

from __future__ import annotations

from torch import Tensor
from torch.distributions import Distribution, Independent, kl_divergence


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
