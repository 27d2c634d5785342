"""Finite mixtures beside the VAE's infinite one: fitted by EM, scored exactly.

A VAE is p(x) = ∫ p(x|z) p(z) dz, a continuous mixture; these are the finite ones, whose
log-likelihood needs no importance sampling:

- ``bernoulli-mixture``: Σ_k π_k Π_d μ_kd^x_d (1 − μ_kd)^(1−x_d) for 0/1 data, by a vectorised
  EM in log space (two GEMMs an iteration), with a floor on the probabilities so no pixel is
  ever impossible, and several restarts (the best training likelihood kept);
- ``gmm``: Gaussian mixture for real values, scikit-learn's ``GaussianMixture`` (full or
  diagonal covariances);
- ``independent``: one component — each dimension on its own (Bernoulli for 0/1 data, else a
  diagonal Gaussian), the baseline any model must beat.

Each is numbers in, numbers out (numpy, float64): ``fit``, ``log_prob`` (N,), ``sample``, and
its parameters as a dict of arrays (saved as safetensors by the caller).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.mixture import GaussianMixture

from ..errors import ConfigError, DataError
from ..registry import Registry

MIXTURES: Registry = Registry("baseline")
PROB_FLOOR = 1e-4  # no Bernoulli probability below this or above 1 − this


def logsumexp(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    out = top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))
    return out if keepdims else out.squeeze(axis)


@dataclass
class FitReport:
    log_likelihood: float  # mean per example on the training data, nats
    iterations: int
    restarts: int


def _spread_rows(x: np.ndarray, k: int, rng: np.random.Generator, pool: int = 5000
                 ) -> np.ndarray:  # fmt: skip
    """k rows by k-means++ seeding (each next row drawn in proportion to its squared distance
    from the nearest chosen one) among at most ``pool`` random rows: duplicates of a chosen
    row are never chosen again, so components start apart."""
    cand = x[rng.choice(x.shape[0], min(pool, x.shape[0]), replace=False)]
    chosen = [int(rng.integers(cand.shape[0]))]
    d2 = ((cand - cand[chosen[0]]) ** 2).sum(1)
    for _ in range(k - 1):
        total = d2.sum()
        i = int(rng.choice(cand.shape[0], p=d2 / total)) if total > 0 else int(
            rng.integers(cand.shape[0]))  # fmt: skip
        chosen.append(i)
        d2 = np.minimum(d2, ((cand - cand[i]) ** 2).sum(1))
    return cand[chosen]


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ConfigError(f"{k} components need at least {k} training examples; there are {n}")


@MIXTURES.register
class BernoulliMixture:
    name = "bernoulli-mixture"
    binary = True

    def __init__(self, log_weights: np.ndarray, probs: np.ndarray) -> None:
        self.log_weights, self.probs = log_weights, probs  # (K,), (K, D)

    @classmethod
    def fit(cls, x: np.ndarray, k: int, seed: int = 0, restarts: int = 3, max_iter: int = 300,
            tol: float = 1e-7) -> tuple[BernoulliMixture, FitReport]:  # fmt: skip
        """EM from ``restarts`` starts (k-means++-spread examples, one a component, shrunk
        halfway to the data's mean); stops when the mean log-likelihood gains less than ``tol``."""
        x = np.asarray(x, dtype=np.float64)
        _check_k(k, x.shape[0])
        rng = np.random.default_rng(seed)
        best: tuple[float, BernoulliMixture, int] | None = None
        for _ in range(restarts):
            rows = _spread_rows(x, k, rng)
            m = cls(np.full(k, -math.log(k)), np.clip(0.5 * rows + 0.5 * x.mean(0), 0.05, 0.95))
            ll, it = m._em(x, max_iter, tol)
            if best is None or ll > best[0]:
                best = (ll, m, it)
        assert best is not None
        return best[1], FitReport(best[0], best[2], restarts)

    @property
    def dim(self) -> int:
        return int(self.probs.shape[1])

    def _joint(self, x: np.ndarray) -> np.ndarray:
        """log π_k + log p(x|k), (N, K): x @ log μᵀ + (1 − x) @ log(1 − μ)ᵀ as two GEMMs."""
        lp, lq = np.log(self.probs), np.log1p(-self.probs)
        return x @ (lp - lq).T + lq.sum(1) + self.log_weights

    def _em(self, x: np.ndarray, max_iter: int, tol: float) -> tuple[float, int]:
        prev, it = -math.inf, 0
        while it < max_iter:
            it += 1
            joint = self._joint(x)  # (N, K)
            norm = logsumexp(joint, axis=1, keepdims=True)
            ll = float(norm.mean())
            resp = np.exp(joint - norm)  # (N, K), responsibilities
            nk = resp.sum(0) + 1e-12
            self.log_weights = np.log(nk / nk.sum())
            self.probs = np.clip((resp.T @ x) / nk[:, None], PROB_FLOOR, 1 - PROB_FLOOR)
            if ll - prev < tol:
                break
            prev = ll
        return float(logsumexp(self._joint(x), axis=1).mean()), it

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        return logsumexp(self._joint(np.asarray(x, dtype=np.float64)), axis=1)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        k = rng.choice(len(self.log_weights), n, p=np.exp(self.log_weights))
        return (rng.random((n, self.probs.shape[1])) < self.probs[k]).astype(np.float64)

    def params(self) -> dict[str, np.ndarray]:
        return {"log_weights": self.log_weights, "probs": self.probs}

    @classmethod
    def from_params(cls, p: dict[str, np.ndarray]) -> BernoulliMixture:
        return cls(p["log_weights"], p["probs"])


@MIXTURES.register
class GaussianMixtureModel:
    """scikit-learn's GaussianMixture, kept as its parameters."""

    name = "gmm"
    binary = False

    def __init__(self, gm: GaussianMixture) -> None:
        self.gm = gm

    @property
    def dim(self) -> int:
        return int(self.gm.means_.shape[1])

    @classmethod
    def fit(cls, x: np.ndarray, k: int, seed: int = 0, restarts: int = 3,
            covariance: str = "full") -> tuple[GaussianMixtureModel, FitReport]:  # fmt: skip
        x = np.asarray(x, dtype=np.float64)
        _check_k(k, x.shape[0])
        gm = GaussianMixture(k, covariance_type=covariance, n_init=restarts, random_state=seed,
                             reg_covar=1e-6, max_iter=500)  # fmt: skip
        try:
            gm.fit(x)
        except ValueError as e:  # scikit-learn: a component's covariance became singular
            raise DataError(f"the Gaussian mixture fit failed ({' '.join(str(e).split())[:160]}); "
                            "use fewer components or standardise the data") from None  # fmt: skip
        m = cls(gm)
        return m, FitReport(float(m.log_prob(x).mean()), int(gm.n_iter_), restarts)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        return self.gm.score_samples(np.asarray(x, dtype=np.float64))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n draws, reproducible by ``seed``, in a random order (scikit-learn returns them
        grouped by component)."""
        self.gm.random_state = seed
        z, _ = self.gm.sample(n)
        return np.random.default_rng(seed).permutation(z)

    def params(self) -> dict[str, np.ndarray]:
        g = self.gm
        return {"weights": g.weights_, "means": g.means_, "covariances": g.covariances_,
                "covariance_type": np.frombuffer(g.covariance_type.encode(), np.uint8)}  # fmt: skip

    @classmethod
    def from_params(cls, p: dict[str, np.ndarray]) -> GaussianMixtureModel:
        kind = bytes(p["covariance_type"]).decode()
        gm = GaussianMixture(len(p["weights"]), covariance_type=kind)
        gm.weights_, gm.means_, gm.covariances_ = p["weights"], p["means"], p["covariances"]
        chol = np.linalg.cholesky(gm.covariances_) if kind == "full" else np.sqrt(gm.covariances_)
        gm.precisions_cholesky_ = (np.linalg.inv(chol).transpose(0, 2, 1) if kind == "full"
                                   else 1 / chol)  # fmt: skip
        return cls(gm)


def independent(x: np.ndarray, seed: int = 0) -> tuple[object, FitReport]:
    """One component: per-dimension Bernoulli for 0/1 data, else a diagonal Gaussian."""
    x = np.asarray(x, dtype=np.float64)
    if np.isin(x, (0.0, 1.0)).all():
        return BernoulliMixture.fit(x, 1, seed, restarts=1)
    return GaussianMixtureModel.fit(x, 1, seed, restarts=1, covariance="diag")
