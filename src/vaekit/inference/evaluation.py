"""Scores of a trained model on a data set, per example, in nats: ELBO, IS log p(x), the gap.

``EvalConfig`` holds the evaluation settings once: ``vaekit.evaluate`` and ``vaekit evaluate``
take their defaults (and the command line its options) from it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..configuration import quiet_from
from ..data.lazy import Rows
from ..data.transform import Transform
from ..errors import flag, opt, render
from ..models import VAE
from ..runtime import derived_seed, flushing_denormals, use_threads
from .config import EvalConfig
from .diagnostics import bits_per_dim, latent_statistics, refined_estimates
from .importance import as_input, batches, fitting_rows, generator_for, log_likelihood
from .objectives import ELBO
from .progress import Progress
from .units import model_log_jacobian, results_in_data_units


@torch.inference_mode()
def elbo_terms(
    model: VAE,
    x: Tensor | np.ndarray | Rows,
    *,
    batch_size: int = EvalConfig.elbo_batch_size,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """Per-example ELBO, reconstruction and KL (each (N,)), one posterior sample per example."""
    model.eval()
    x = as_input(model, x)
    gen = generator_for(model, seed, generator)
    objective = ELBO()
    parts: dict[str, list[Tensor]] = {"elbo": [], "reconstruction": [], "kl": []}
    for xb in batches(x, fitting_rows(model, batch_size)):
        t = objective(model, xb, gen)
        parts["elbo"].append(t.elbo)
        parts["reconstruction"].append(t.reconstruction)
        parts["kl"].append(t.kl)
    return {name: torch.cat(v).double() for name, v in parts.items()}


@flushing_denormals
def evaluate(
    model: VAE,
    x: Tensor | np.ndarray,
    config: EvalConfig | None = None,
    *,
    transform: Transform | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
    threads: int | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Per-example means in nats (and bits/dim): ELBO and its terms, IS log p(x), the gap.

    ``x`` is in the model's units, as ``Dataset.train``/``valid``/``test`` are. Results are
    stated in the data's own units when ``transform`` is the run's preprocessing
    (``run.transform``; the log-Jacobian of the map is added to every log-density, as the
    ``vaekit evaluate`` command does), else in x's units; ``units`` says which.
    ``progress`` (:class:`~vaekit.inference.progress.Progress`) keeps the IS estimates on
    disk as they are made, so a rerun after an interruption continues them; ``seconds`` then
    counts the earlier sittings too (up to their last save).

    Settings are :class:`EvalConfig`'s, as keywords (``importance_samples=1000``,
    ``repeats=3``, ``refine_steps=100``…) or as one ``config``. ``repeats`` independent IS
    estimates give a standard error of the estimator; ``refine_steps`` > 0 adds the
    amortisation/approximation split of the gap (see :mod:`.diagnostics`), and
    ``refined_proposal`` one more IS estimate with the refined q as proposal; active units
    and KL per latent dimension always. Each repeat and the refinement draw from their own
    stream of ``seed``. ``quiet=True`` hides the progress bars; ``threads`` sets torch's (process-wide). Subnormals are flushed for the call (and restored after); malloc is
    left as it is (``vaekit.runtime.keep_freed_memory()`` makes repeated IS faster).
    """
    if config is not None and settings:
        raise TypeError(f"give evaluate() a config or settings, not both ({', '.join(settings)})")
    quiet = quiet_from(settings, quiet)
    cfg = config if config is not None else EvalConfig(**settings)
    use_threads(threads)
    t0 = time.perf_counter()
    x = as_input(model, x)
    terms = elbo_terms(model, x, seed=cfg.seed)
    n, dim = int(terms["elbo"].shape[0]), model.scored_dim  # bits per scored dimension
    result: dict[str, Any] = {"n": n}
    for name, v in terms.items():
        result[name] = float(v.mean())
    result["elbo_stderr"] = _stderr(terms["elbo"])
    result["elbo_bits_per_dim"] = bits_per_dim(result["elbo"], dim)
    ll_each = None  # (N,) IS log p(x) per example, averaged over the repeats
    if cfg.importance_samples > 0:
        ll_each, importance = _importance(model, x, cfg, quiet, progress)
        result.update(importance)
        result["log_likelihood_bits_per_dim"] = bits_per_dim(result["log_likelihood"], dim)
        result["gap"] = result["log_likelihood"] - result["elbo"]
    if cfg.refine_steps > 0:
        result.update(_refined(model, x, cfg, quiet, result, ll_each))
    result.update(latent_statistics(model, x))
    result["warnings"] = _warnings(result, cfg)
    result = results_in_data_units(result, transform, dim, model.likelihood.discrete,
                                   model_log_jacobian(model, transform))  # fmt: skip
    # An evaluation resumed from ``progress`` also took its earlier sittings' time.
    earlier = progress.earlier_seconds if progress is not None else 0.0
    result["seconds"] = time.perf_counter() - t0 + earlier
    return result


def _importance(
    model: VAE, x: Tensor, cfg: EvalConfig, quiet: bool, progress: Progress | None
) -> tuple[Tensor, dict[str, Any]]:
    runs = [
        log_likelihood(model, x, cfg.importance_samples, batch_size=cfg.batch_size,
                       seed=derived_seed(cfg.seed, "importance", r), quiet=quiet,
                       progress=progress, repeat=r)
        for r in range(cfg.repeats)
    ]  # each (N,)  # fmt: skip
    means = [float(ll.mean()) for ll in runs]
    each = torch.stack(runs).mean(0)  # (N,)
    return each, {
        "log_likelihood": float(np.mean(means)),
        "log_likelihood_stderr": _stderr(each),
        "importance_samples": cfg.importance_samples,
        "repeats": cfg.repeats,
        "log_likelihood_repeats": means,
        "log_likelihood_repeat_stderr": (
            float(np.std(means, ddof=1) / math.sqrt(cfg.repeats)) if cfg.repeats > 1 else None
        ),
    }


def _refined(
    model: VAE, x: Tensor, cfg: EvalConfig, quiet: bool, so_far: dict[str, Any],
    ll_each: Tensor | None,
) -> dict[str, Any]:  # fmt: skip
    k = cfg.importance_samples if cfg.refined_proposal else 0
    refined = refined_estimates(model, x, steps=cfg.refine_steps, importance_samples=k,
                                seed=derived_seed(cfg.seed, "refine"), quiet=quiet)  # fmt: skip
    out: dict[str, Any] = {"refine_steps": cfg.refine_steps,
                           "refined_elbo": float(refined["elbo"].mean())}  # fmt: skip
    if "log_likelihood" in refined:
        out["log_likelihood_refined_proposal"] = float(refined["log_likelihood"].mean())
    out["amortisation_gap"] = out["refined_elbo"] - so_far["elbo"]
    if ll_each is not None:
        out["approximation_gap"] = so_far["log_likelihood"] - out["refined_elbo"]
        out["approximation_gap_stderr"] = _stderr(ll_each - refined["elbo"])  # paired
    return out


def _warnings(r: dict[str, Any], cfg: EvalConfig) -> list[str]:
    """What a reader of these numbers must know. The approximation gap is a KL, so ≥ 0: a
    negative one beyond its standard error means IS with this k underestimates log p(x)."""
    gap, err = r.get("approximation_gap"), r.get("approximation_gap_stderr")
    if gap is not None and gap < -2 * max(err or 0.0, 1e-12):
        return [
            render(  # now: the result is data, kept after the caller's context ends
                f"the approximation gap is negative ({gap:.3f} ± {err:.3f} nats), which no exact "
                f"log p(x) allows: k = {cfg.importance_samples} importance samples are too few "
                f"for this model, so log p(x) is underestimated; raise {opt('importance_samples')} (or add "
                f"{flag('refined_proposal')})"
            )
        ]
    return []


def _stderr(v: Tensor) -> float:
    return float(v.std() / math.sqrt(v.shape[0])) if v.shape[0] > 1 else 0.0
