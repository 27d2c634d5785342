"""Scores of a trained model on a data set, per example, in nats.

``log_likelihood`` is the importance-sampled estimate
    log p(x) ≈ log (1/k) Σ_k p(x, z_k) / q(z_k|x),   z_k ~ q(z|x),
which is the IWAE bound: a lower bound on log p(x) in expectation, tightening as k grows and
equal in expectation to the ELBO at k = 1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Independent
from tqdm.auto import tqdm

from .allocator import keep_freed_memory
from .diagnostics import bits_per_dim, latent_statistics, refined_estimates
from .model import VAE, rsample
from .numerics import flushing_denormals
from .objectives import ELBO

# Elements of the decoder output per chunk: bounds memory whatever k and the batch size are.
_CHUNK_ELEMENTS = 1 << 22


def _as_tensor(model: VAE, x: Tensor | np.ndarray) -> Tensor:
    t = torch.as_tensor(x)
    if t.ndim != 2 or t.shape[1] != model.input_dim:
        raise ValueError(f"data must have shape (N, {model.input_dim}), got {tuple(t.shape)}")
    return t.to(torch.get_default_dtype())


def _batches(x: Tensor, batch_size: int) -> Iterator[Tensor]:
    for i in range(0, x.shape[0], batch_size):
        yield x[i : i + batch_size]


def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator:
    if generator is not None:
        return generator
    return torch.Generator().manual_seed(0 if seed is None else seed)


@torch.inference_mode()
def log_weights(
    model: VAE,
    x: Tensor,
    k: int,
    generator: torch.Generator | None = None,
    proposal: Independent | None = None,
) -> Tensor:
    """log p(x, z_k) − log q(z_k|x) for k draws from q (the encoder's unless ``proposal``): (k, B)."""
    q = model.encode(x) if proposal is None else proposal
    z = rsample(q, k, generator)  # (k, B, L)
    log_px_z = model.likelihood.log_prob(model.decoder_output(z), x)  # (k, B)
    return model.prior.log_prob(z) + log_px_z - q.log_prob(z)


@torch.inference_mode()
def log_likelihood_batch(
    model: VAE, xb: Tensor, k: int, gen: torch.Generator, proposal: Independent | None = None
) -> Tensor:
    """IS log p(x) of one batch, (B,) float64, chunked over k so memory stays bounded."""
    keep_freed_memory()  # chunks reuse the heap instead of faulting in fresh pages
    out_dim = model.likelihood.params_per_dim * model.input_dim
    chunk = max(1, min(k, _CHUNK_ELEMENTS // (xb.shape[0] * out_dim)))
    acc = torch.full((xb.shape[0],), -math.inf, dtype=torch.float64)
    q = model.encode(xb) if proposal is None else proposal  # once, not once a chunk
    for start in range(0, k, chunk):
        lw = log_weights(model, xb, min(chunk, k - start), gen, q)  # (c, B)
        acc = torch.logaddexp(acc, torch.logsumexp(lw.double(), dim=0))
    return acc - math.log(k)


@flushing_denormals
@torch.inference_mode()
def log_likelihood(
    model: VAE,
    x: Tensor | np.ndarray,
    k: int = 1000,
    *,
    batch_size: int = 100,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> Tensor:
    """Importance-sampled log p(x) per example, (N,) float64, with k samples each.

    Chunked over k so that peak memory is bounded; the log-sum-exp is accumulated in float64.
    """
    if k < 1:
        raise ValueError(f"importance samples must be >= 1, got {k}")
    model.eval()
    x = _as_tensor(model, x)
    gen = _generator(seed, generator)
    results = []
    bar = tqdm(
        total=x.shape[0], desc=f"log p(x), k={k}", unit="ex", disable=not progress, leave=False
    )
    for xb in _batches(x, batch_size):
        results.append(log_likelihood_batch(model, xb, k, gen))
        bar.update(xb.shape[0])
    bar.close()
    return torch.cat(results)


@flushing_denormals
@torch.inference_mode()
def elbo_terms(
    model: VAE,
    x: Tensor | np.ndarray,
    *,
    batch_size: int = 1000,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """Per-example ELBO, reconstruction and KL (each (N,)), one posterior sample per example."""
    model.eval()
    x = _as_tensor(model, x)
    gen = _generator(seed, generator)
    objective = ELBO()
    parts: dict[str, list[Tensor]] = {"elbo": [], "reconstruction": [], "kl": []}
    for xb in _batches(x, batch_size):
        t = objective(model, xb, gen)
        parts["elbo"].append(t.elbo)
        parts["reconstruction"].append(t.reconstruction)
        parts["kl"].append(t.kl)
    return {name: torch.cat(v).double() for name, v in parts.items()}


@flushing_denormals
def evaluate(
    model: VAE,
    x: Tensor | np.ndarray,
    *,
    importance_samples: int = 1000,
    repeats: int = 1,
    refine_steps: int = 0,
    refined_proposal: bool = False,
    batch_size: int = 100,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Per-example means in nats (and bits/dim): ELBO and its terms, IS log p(x), the gap.

    ``repeats`` independent IS estimates give a standard error of the estimator (seeds
    seed+1…); ``refine_steps`` > 0 adds the amortisation/approximation split of the gap
    (see :mod:`vaekit.diagnostics`), and ``refined_proposal`` one more IS estimate with the
    refined q as proposal; active units and KL per latent dimension always.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    t0 = time.perf_counter()
    x = _as_tensor(model, x)
    terms = elbo_terms(model, x, seed=seed)
    n, dim = int(terms["elbo"].shape[0]), model.input_dim
    result: dict[str, Any] = {"n": n}
    for name, v in terms.items():
        result[name] = float(v.mean())
    result["elbo_stderr"] = _stderr(terms["elbo"])
    result["elbo_bits_per_dim"] = bits_per_dim(result["elbo"], dim)
    if importance_samples > 0:
        runs = [
            log_likelihood(
                model,
                x,
                importance_samples,
                batch_size=batch_size,
                seed=seed + 1 + r,
                progress=progress,
            )  # fmt: skip
            for r in range(repeats)
        ]  # each (N,)
        means = [float(ll.mean()) for ll in runs]
        result["log_likelihood"] = float(np.mean(means))
        result["log_likelihood_stderr"] = _stderr(torch.stack(runs).mean(0))
        result["importance_samples"] = importance_samples
        result["repeats"] = repeats
        result["log_likelihood_repeats"] = means
        result["log_likelihood_repeat_stderr"] = (
            float(np.std(means, ddof=1) / math.sqrt(repeats)) if repeats > 1 else None
        )
        result["log_likelihood_bits_per_dim"] = bits_per_dim(result["log_likelihood"], dim)
        result["gap"] = result["log_likelihood"] - result["elbo"]
    if refine_steps > 0:
        k = importance_samples if refined_proposal else 0
        refined = refined_estimates(model, x, steps=refine_steps, importance_samples=k,
                                    seed=seed + 1000, progress=progress)  # fmt: skip
        result["refine_steps"] = refine_steps
        result["refined_elbo"] = float(refined["elbo"].mean())
        if "log_likelihood" in refined:
            result["log_likelihood_refined_proposal"] = float(refined["log_likelihood"].mean())
        result["amortisation_gap"] = result["refined_elbo"] - result["elbo"]
        if "log_likelihood" in result:
            result["approximation_gap"] = result["log_likelihood"] - result["refined_elbo"]
    result.update(latent_statistics(model, x))
    result["bits_per_dim"] = bits_per_dim(result.get("log_likelihood", result["elbo"]), dim)
    result["seconds"] = time.perf_counter() - t0
    return result


def _stderr(v: Tensor) -> float:
    return float(v.std() / math.sqrt(v.shape[0])) if v.shape[0] > 1 else 0.0
