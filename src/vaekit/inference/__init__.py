"""Inference: objectives to train with, and estimators to score a trained model with.

- ``objectives``: ELBO (β, free bits) and IWAE (DReG), registered in ``OBJECTIVES``;
- ``importance``: importance weights and the IS log-likelihood (chunked, float64 sums);
- ``diagnostics``: the gap's amortisation/approximation split, active units, bits/dim;
- ``evaluation``: ``evaluate`` and ``elbo_terms`` over a data set, with ``EvalConfig``.
Every estimator goes through the model's one log-joint (``VAE.log_joint``).
"""

from __future__ import annotations

from .config import EvalConfig
from .diagnostics import (
    ACTIVE_UNIT_THRESHOLD,
    bits_per_dim,
    latent_statistics,
    refine_posterior,
    refined_elbo,
    refined_estimates,
)
from .evaluation import elbo_terms, evaluate
from .importance import CHUNK_ELEMENTS, log_likelihood, log_likelihood_batch, log_weights
from .objectives import ELBO, IWAE, OBJECTIVES, Objective, ObjectiveTerms, make_objective

__all__ = [
    "ACTIVE_UNIT_THRESHOLD", "CHUNK_ELEMENTS", "ELBO", "IWAE", "OBJECTIVES", "EvalConfig",
    "Objective", "ObjectiveTerms", "bits_per_dim", "elbo_terms", "evaluate", "latent_statistics",
    "log_likelihood", "log_likelihood_batch", "log_weights", "make_objective",
    "refine_posterior", "refined_elbo", "refined_estimates",
]  # fmt: skip
