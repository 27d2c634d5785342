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
from torch import Tensor

from ..models import VAE
from ..models.mixtures import GaussianMixtureModel
from .importance import as_input, batches


@torch.inference_mode()
def posterior_means(model: VAE, x: Tensor | np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """E_q[z|x] of each row, (N, L) float64."""
    model.eval()
    x = as_input(model, x)
    return torch.cat([model.encode(xb).mean for xb in batches(x, batch_size)]).double().numpy()


def fit_latent_mixture(model: VAE, x: Tensor | np.ndarray, components: int, seed: int = 0
                       ) -> GaussianMixtureModel:  # fmt: skip
    """A ``components``-Gaussian mixture (full covariances, 2 starts) fitted to the posterior
    means of ``x`` (model units); ``.sample(n, seed)`` draws latents from it."""
    return GaussianMixtureModel.fit(posterior_means(model, x), components, seed, restarts=2)[0]
