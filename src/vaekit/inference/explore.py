"""What the pictures (``vaekit plot``) show of a latent space, as numbers: a 2-D projection of
posterior means, dimensions ordered by their KL, a grid through the prior's quantiles, paths
between two codes, and sweeps of one dimension. Decoding and drawing are the callers'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, DataError
from ..models import VAE
from ..models.conditions import Labels, Mask
from .diagnostics import latent_statistics
from .importance import as_input

PROJECTIONS = ("pca", "tsne")


def project(z: np.ndarray, method: str = "pca", seed: int = 0) -> tuple[np.ndarray, str, Any]:
    """Codes (N, L) -> (N, 2), the axes' name and the fitted PCA (None otherwise): the codes
    themselves when L = 2 (L = 1 gets a zero second axis), else their first two principal
    components or a t-SNE embedding. The PCA maps a map position back to a code."""
    if method not in PROJECTIONS:
        raise ConfigError(f"projection {method!r}: use one of {', '.join(PROJECTIONS)}")
    n, dim = z.shape
    if dim <= 2:
        return (z if dim == 2 else np.hstack([z, np.zeros((n, 1))])), "z", None
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(2, random_state=seed).fit(z)
        return pca.transform(z), "principal component", pca
    from sklearn.manifold import TSNE

    if n < 5:
        raise DataError(f"t-SNE needs at least 5 points, got {n}")
    return TSNE(2, init="pca", perplexity=min(30.0, (n - 1) / 3), random_state=seed
                ).fit_transform(z), "t-SNE", None  # fmt: skip


def condition_features(model: VAE, n: int, klass: str | None = None,
                       vector: Sequence[float] | None = None) -> Tensor | None:  # fmt: skip
    """(n, F) condition features to decode with: of class ``klass`` (default the first) for
    a class-conditional run, of the raw attribute ``vector`` (default the training mean) for a
    vector run, None for an unconditional one. A ConfigError for what does not apply: a mask
    run decodes only given an observed part."""
    cond = model.condition
    if cond is None:
        if klass is not None or vector is not None:
            raise ConfigError("this run is not conditional: a class or condition does not apply")
        return None
    if isinstance(cond, Mask):
        raise ConfigError("a mask run decodes only given an observed part: use vaekit complete")
    if isinstance(cond, Labels):
        if vector is not None:
            raise ConfigError("this run is conditioned on classes, not on vectors")
        c = torch.from_numpy(cond.index([cond.classes[0] if klass is None else klass] * n))
    else:
        if klass is not None:
            raise ConfigError("this run is conditioned on vectors, not on classes")
        v = cond.mean if vector is None else torch.tensor(vector, dtype=torch.float32)
        if v.shape != (cond.packed,) or not torch.isfinite(v).all():
            raise ConfigError(f"a condition of this run is {cond.packed} finite numbers")
        c = v.expand(n, -1)  # (n, C)
    return cond.features_of(None, c)


@torch.inference_mode()
def condition_path(model: VAE, pair: np.ndarray, steps: int) -> Tensor | None:
    """(steps, F) condition features along the straight line between two examples' own
    (``pair``: their 2 input rows): a soft class between two classes. None for an
    unconditional run."""
    if model.condition is None:
        return None
    own = model.parts(torch.as_tensor(pair))[1]  # (2, F)
    t = torch.linspace(0, 1, steps, dtype=own.dtype)[:, None]  # (steps, 1)
    return (1 - t) * own[0] + t * own[1]


def dims_by_activity(model: VAE, rows: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Latent dimensions, most used first, with the measure and its name: the mean KL per
    dimension over ``rows`` (nats) for a factorised prior, else the variance of the posterior
    means across the data (the active-unit statistic: the VampPrior has no per-dimension KL)."""
    stats = latent_statistics(model, as_input(model, rows))
    if stats["kl_per_dim"] is not None:
        score, name = np.asarray(stats["kl_per_dim"]), "KL (nats)"
    else:
        score, name = np.asarray(stats["unit_activity"]), "Var of E[z|x]"
    return np.argsort(-score, kind="stable"), score, name


@torch.no_grad()
def prior_quantiles(model: VAE, n: int, features: Tensor | None = None) -> np.ndarray:
    """(n, L): the prior's quantiles (i + 1/2)/n of each dimension (Kingma & Welling's
    manifold grid); a factorised Gaussian prior's own, else N(0, I)'s."""
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n  # (n,)
    std = torch.distributions.Normal(0.0, 1.0).icdf(u)[:, None]  # (n, 1)
    p = model.prior.distribution(features)
    if model.prior.factorised:  # N(μ, σ²) per dimension (of the first condition row)
        loc = p.base_dist.loc.reshape(-1, model.latent_dim)[0].double()
        scale = p.base_dist.scale.reshape(-1, model.latent_dim)[0].double()
        return (loc + scale * std).numpy()
    return std.expand(n, model.latent_dim).numpy()


def latent_grid(quantiles: np.ndarray, dims: tuple[int, int], base: np.ndarray) -> np.ndarray:
    """(n*n, L): ``base`` (L,) with dims[0] swept along each row (left to right) and dims[1]
    down the rows (top = largest), over the quantiles (n, L) of each."""
    n = quantiles.shape[0]
    z = np.repeat(base[None].astype(np.float64), n * n, 0)  # (n*n, L)
    rows, cols = np.divmod(np.arange(n * n), n)
    z[:, dims[0]] = quantiles[cols, dims[0]]
    z[:, dims[1]] = quantiles[n - 1 - rows, dims[1]]
    return z


def lerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """(steps, L): a straight line from a to b, both ends included."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """(steps, L): the spherical path from a to b (White 2016): the angle between them is
    swept at a constant rate and the norm interpolated linearly, so points stay at the
    radius where a Gaussian prior's mass is, not inside the sphere as a straight line does."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return lerp(a, b, steps)
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < 1e-6 or np.pi - omega < 1e-6:  # parallel, or opposite (every great circle
        return lerp(a, b, steps)  # joins them: none is the path; 1-D codes always are one)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    direction = (np.sin((1 - t) * omega) * a / na + np.sin(t * omega) * b / nb) / np.sin(omega)
    return direction * ((1 - t) * na + t * nb)


def traversal(base: np.ndarray, dims: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(len(dims) * len(values), L): for each dimension (a row), ``base`` with that
    dimension set to each of ``values`` in turn."""
    z = np.repeat(base[None].astype(np.float64), len(dims) * len(values), 0)
    for i, d in enumerate(dims):
        z[i * len(values) : (i + 1) * len(values), d] = values
    return z
