"""Ex-post density estimation (Ghosh et al. 2020): a Gaussian mixture fitted by EM to the
aggregate posterior, to sample latents from instead of the prior.

A VAE's encoder rarely fills N(0, I) evenly: regions the prior puts mass on may hold no
training example's posterior, and decoding them gives blurred in-between images. Fitting a
K-component mixture (scikit-learn's ``GaussianMixture``, full covariances) to the posterior
means of the training data and sampling from it keeps draws where the data's codes are.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import Tensor

from ..errors import ConfigError
from ..models import VAE
from .importance import as_input, batches


@torch.inference_mode()
def posterior_means(model: VAE, x: Tensor | np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """E_q[z|x] of each row, (N, L) float64."""
    model.eval()
    x = as_input(model, x)
    return torch.cat([model.encode(xb).mean for xb in batches(x, batch_size)]).double().numpy()


def fit_latent_mixture(model: VAE, x: Tensor | np.ndarray, components: int, seed: int = 0
                       ) -> GaussianMixture:  # fmt: skip
    """A ``components``-Gaussian mixture fitted to the posterior means of ``x`` (model units)."""
    z = posterior_means(model, x)
    if not 1 <= components <= z.shape[0]:
        raise ConfigError(
            f"a mixture of {components} components needs at least as many examples; the data "
            f"has {z.shape[0]}"
        )
    try:
        return GaussianMixture(components, covariance_type="full", reg_covar=1e-6, n_init=2,
                               random_state=seed).fit(z)  # fmt: skip
    except ValueError as e:  # scikit-learn: a component's covariance became singular
        raise ConfigError(f"fitting {components} components to the latent codes failed "
                          f"({' '.join(str(e).split())[:120]}); use fewer") from None  # fmt: skip


def sample_latents(mixture: GaussianMixture, n: int, seed: int = 0) -> np.ndarray:
    """n draws (n, L) float32 from the fitted mixture, reproducible by ``seed``, in a random
    order (scikit-learn returns them grouped by component)."""
    mixture.random_state = seed
    z, _ = mixture.sample(n)
    return np.random.default_rng(seed).permutation(z).astype(np.float32)
