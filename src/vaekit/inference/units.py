"""The units evaluation results are stated in: the model's, or the data's own.

A run may preprocess its data (``vaekit.data.transform``: 8-bit to [0, 1], per-column
standardisation), so the model scores x_model = (x − shift) / scale. A density of x_model is
one of x times the Jacobian: log p(x) = log p(x_model) + log|dx_model/dx|, so every
log-density moves by the same constant per example, while the KL and the gaps do not. A
discrete likelihood gives probabilities of the data's values, which rescaling leaves alone.
Both ``vaekit.evaluate`` (given the run's ``transform``) and the ``vaekit evaluate``
command state their numbers through :func:`results_in_data_units`, so the two agree.
"""

from __future__ import annotations

from typing import Any

from ..data.transform import Transform
from ..errors import opt, render
from .diagnostics import bits_per_dim

# Per-example log-densities: each moves by the log-Jacobian of the run's preprocessing.
LOG_DENSITIES = ("elbo", "reconstruction", "log_likelihood", "refined_elbo",
                 "log_likelihood_refined_proposal")  # fmt: skip
WITH_BITS = ("elbo", "log_likelihood")  # result keys that have a *_bits_per_dim twin


def model_log_jacobian(model: Any, t: Transform | None) -> float:
    """The constant a log-density of ``model`` moves by in the data's units: over the
    dimensions its likelihood scores (a mask run's unobserved ones); 0 for a discrete
    likelihood or no preprocessing."""
    if t is None or model.likelihood.discrete:
        return 0.0
    w = None if model.condition is None else model.condition.scored()
    return t.log_jacobian(model.input_dim, None if w is None else w.detach().cpu().numpy())


def results_in_data_units(
    r: dict[str, Any],
    t: Transform | None,
    dim: int,
    discrete: bool,
    jacobian: float,
) -> dict[str, Any]:
    """Results computed in the model's units, stated in the data's own (``t``: the run's
    preprocessing, None for none; ``jacobian``: :func:`model_log_jacobian`, which knows the
    dimensions the model scores); ``units`` says which.

    A density on 8-bit data gets no bits/dim: it is not a probability of the 256 levels
    (it can exceed 1), so its bits/dim compare with nothing.
    """
    r = dict(r)
    if discrete:
        r["units"] = ("nats per example: log-probabilities of the data's values (a discrete "
                      "likelihood: the same in any units); bits/dim = −log₂ P / dimensions")  # fmt: skip
        return r
    if t is None:
        r["units"] = "nats per example, in the units of the data given"
        return r
    if t.kind == "8-bit":
        r = _no_bits(r)
    for key in LOG_DENSITIES:
        if key in r:
            r[key] += jacobian
    if "log_likelihood_repeats" in r:
        r["log_likelihood_repeats"] = [v + jacobian for v in r["log_likelihood_repeats"]]
    for key in WITH_BITS:
        if key in r and r.get(f"{key}_bits_per_dim") is not None:
            r[f"{key}_bits_per_dim"] = bits_per_dim(r[key], dim)
    r["units"] = (f"nats per example, in the data's own units: the model sees them after "
                  f"{t.describe()}, and the log-Jacobian of that map, {jacobian:.3f} nats, is added")  # fmt: skip
    r["log_jacobian"] = jacobian
    return r


def _no_bits(r: dict[str, Any]) -> dict[str, Any]:
    for key in WITH_BITS:
        r[f"{key}_bits_per_dim"] = None
    r["warnings"] = [*r.get("warnings", []), (
        "no bits/dim: a continuous density on 8-bit data is not a probability of its 256 "
        "levels (it can exceed 1, giving negative bits/dim); for numbers that compare with the "
        f"literature train with {render(opt('likelihood', 'discretized-logistic'))}")]  # fmt: skip
    return r
