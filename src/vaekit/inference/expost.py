"""Ex-post density estimation (Ghosh et al. 2020): a Gaussian mixture fitted by EM to the
aggregate posterior, to sample latents from instead of the prior.

A VAE's encoder rarely fills N(0, I) evenly: regions the prior puts mass on may hold no
training example's posterior, and decoding them gives blurred in-between images. Fitting a
K-component mixture (scikit-learn's ``GaussianMixture``, full covariances) to the posterior
means of the training data and sampling from it keeps draws where the data's codes are.

For a class-conditional run the same holds class by class: one mixture per class, fitted to
the posterior means q(z|x, c) of that class's training rows, stands in for p(z|c).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError
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


def fit_class_mixtures(model: VAE, rows: Tensor | np.ndarray, components: int, seed: int = 0
                       ) -> dict[int, GaussianMixtureModel]:  # fmt: skip
    """For a class-conditional model: class index -> a ``components``-Gaussian mixture fitted
    to the posterior means of that class's input rows [x, c] (N, D + 1)."""
    z = posterior_means(model, rows)  # (N, L)
    k = np.asarray(rows)[:, -1].astype(np.int64)  # (N,) class indices
    names = model.condition.classes  # type: ignore[union-attr]
    fitted = {}
    for c in np.unique(k):
        if (k == c).sum() < components:
            raise DataError(f"class {names[c]!r} has {(k == c).sum()} training rows, fewer "
                            f"than the {components} mixture components asked for")  # fmt: skip
        fitted[int(c)] = GaussianMixtureModel.fit(z[k == c], components, seed, restarts=2)[0]
    return fitted


def class_latents(mixtures: dict[int, GaussianMixtureModel], classes: np.ndarray,
                  seed: int = 0) -> np.ndarray:  # fmt: skip
    """(N, L) latents for class indices ``classes`` (N,), each from its class's mixture."""
    out = np.zeros((len(classes), next(iter(mixtures.values())).dim))
    for c in np.unique(classes):
        if int(c) not in mixtures:
            raise DataError(f"class index {int(c)} has no training rows to fit a mixture to")
        where = np.flatnonzero(classes == c)
        out[where] = mixtures[int(c)].sample(len(where), seed + int(c))
    return out
