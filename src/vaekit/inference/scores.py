"""Anomaly scores per example, and how well each separates labelled anomalies.

Every score is oriented the same way — larger means more anomalous — and named with its unit:

- ``nll_nats``: −log p(x), importance-sampled with k draws (the honest density);
- ``neg_elbo_nats``: −ELBO, averaged over ``draws`` posterior draws (the bound training used);
- ``neg_reconstruction_nats``: −E_q(z|x)[log p(x|z)] over the same draws: An & Cho's (2015)
  reconstruction probability, averaged in log space;
- ``amortisation_gap_nats``: how much ``refine_steps`` of per-example ascent on q improve the
  ELBO (an example the encoder has not learned to encode; related to the likelihood regret
  of Xiao et al. 2020);
- ``complexity_corrected_bits``: −log₂ P(x) minus the size of x in bits as a losslessly
  compressed image (Serrà et al. 2020): simple images are likely under any model, and the
  correction asks whether the model explains x better than a generic compressor (PNG by
  default; lossless WebP or CCITT Group 4 on request: :mod:`.compressors`). Defined only
  for a discrete likelihood on images (a density has no bits to compare);
  ``compressed_bits`` is the size itself.

Log-densities are in the data's own units (the run's preprocessing and its log-Jacobian), as
``vaekit evaluate`` states them. :func:`separation` gives AUROC, AUPRC and the false-positive
rate at 95% true-positive rate of every score against 0/1 labels (1 = anomaly).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from torch import Tensor

from ..data.transform import Transform
from ..models import VAE, rsample
from .compressors import DEFAULT_COMPRESSOR, compressed_bits
from .diagnostics import refined_estimates
from .importance import as_input, batches, fitting_rows, generator_for, log_likelihood
from .units import model_log_jacobian

SCORES = ("nll_nats", "neg_elbo_nats", "neg_reconstruction_nats", "amortisation_gap_nats",
          "complexity_corrected_bits")  # fmt: skip


@torch.inference_mode()
def _elbo_parts(model: VAE, x: Tensor, draws: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """ELBO and E_q log p(x|z) per example (N,) float64, each over ``draws`` draws."""
    elbo, rec = [], []
    for xb in batches(x, fitting_rows(model, 1000, draws)):
        q = model.encode(xb)
        lj = model.log_joint(xb, rsample(q, draws, gen), q)
        r = lj.log_likelihood.mean(0)  # (B,)
        rec.append(r.double())
        elbo.append((r - lj.kl()).double())
    return torch.cat(elbo), torch.cat(rec)


def complexity_corrected(nll_nats: np.ndarray, bits: np.ndarray) -> dict[str, np.ndarray]:
    """``compressed_bits`` (x's content bits, :func:`.compressors.compressed_bits`) and
    ``complexity_corrected_bits`` = −log₂ P(x) − compressed_bits, per row."""
    return {"compressed_bits": bits, "complexity_corrected_bits": nll_nats / math.log(2) - bits}


def anomaly_scores(
    model: VAE,
    x: Tensor | np.ndarray,
    *,
    importance_samples: int = 1000,
    draws: int = 16,
    refine_steps: int = 50,
    seed: int = 0,
    transform: Transform | None = None,
    image_shape: tuple[int, ...] | None = None,
    value_range: tuple[float, float] | None = None,
    compressor: str = DEFAULT_COMPRESSOR,
    quiet: bool = True,
) -> dict[str, np.ndarray]:
    """Per-example scores (see the module), each (N,) float64; ``x`` in the model's units."""
    model.eval()
    x = as_input(model, x)
    jac = model_log_jacobian(model, transform)  # over the scored dimensions
    out: dict[str, np.ndarray] = {}
    bits = None  # coded first: a codec that cannot code the data is refused before any IS
    if importance_samples > 0:
        bits = _code_lengths(model, x, transform, image_shape, value_range, compressor)
        ll = log_likelihood(model, x, importance_samples, seed=seed, quiet=quiet)
        out["nll_nats"] = -(ll.numpy() + jac)
    elbo, rec = _elbo_parts(model, x, draws, generator_for(model, seed + 1))
    out["neg_elbo_nats"] = -(elbo.numpy() + jac)
    out["neg_reconstruction_nats"] = -(rec.numpy() + jac)
    if refine_steps > 0:
        refined = refined_estimates(model, x, steps=refine_steps, seed=seed + 2, quiet=quiet)
        out["amortisation_gap_nats"] = refined["elbo"].numpy() + jac + out["neg_elbo_nats"]
    if bits is not None:
        out |= complexity_corrected(out["nll_nats"], bits)
    return out


def _code_lengths(model: VAE, x: Tensor, transform: Transform | None,
                  image_shape: tuple[int, ...] | None, value_range: tuple[float, float] | None,
                  compressor: str) -> np.ndarray | None:  # fmt: skip
    """(N,) compressed content bits of the examples for the complexity correction, or None
    where it does not apply: a density (no bits to compare), flat rows, or a mask run
    (its −log p(x_missing | x_observed) is no code length of the whole image)."""
    masked = model.condition is not None and model.condition.scored() is not None
    if not model.likelihood.discrete or image_shape is None or masked:
        return None
    xs = x[:, : model.input_dim].cpu().numpy()  # x without a condition's columns
    x_data = xs if transform is None else transform.invert(xs)
    levels = (0.0, 255.0) if transform is not None and transform.kind == "8-bit" else (
        value_range or (0.0, 1.0))  # fmt: skip
    return compressed_bits(x_data, image_shape, levels, compressor)


def separation(scores: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, dict[str, float]]:
    """AUROC, AUPRC (average precision) and the false-positive rate at 95% true-positive rate
    of each score against ``labels`` (N,) of 0 (normal) and 1 (anomaly)."""
    out = {}
    for name, s in scores.items():
        if name not in SCORES:
            continue
        fpr, tpr, _ = roc_curve(labels, s, drop_intermediate=False)  # ties: every point
        out[name] = {"auroc": float(roc_auc_score(labels, s)),
                     "auprc": float(average_precision_score(labels, s)),
                     "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95)])}  # fmt: skip
    return out


def thresholds(scores: dict[str, np.ndarray], target_fpr: float) -> dict[str, float]:
    """Per score, the value above which at most ``target_fpr`` of these (normal) examples lie."""
    return {n: float(np.quantile(s, 1 - target_fpr, method="higher"))
            for n, s in scores.items() if n in SCORES}  # fmt: skip
