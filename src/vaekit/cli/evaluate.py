"""``vaekit evaluate``: ELBO, IS log p(x) and the gap's anatomy; options from ``EvalConfig``."""

from __future__ import annotations

import json
from typing import Any

import click

from ..data.transform import Transform
from ..errors import opt, render
from ..inference import EvalConfig, bits_per_dim
from ..inference import evaluate as evaluate_model
from ..runtime import use_threads
from .common import data_options, run_and_data
from .options import given, options_from


@click.command()
@click.argument("run_dir")
@data_options
@options_from(EvalConfig)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--threads", type=int, help="CPU threads for torch (default: the cores it sees).")
def evaluate(run_dir: str, data: str | None, data_dir: str | None, split: str, as_json: bool,
             quiet: bool, threads: int | None, **options: Any) -> None:  # fmt: skip
    """ELBO and its terms, log p(x) by importance sampling, and the anatomy of the gap."""
    config = EvalConfig(**given(options))  # checked before any work
    n_threads = use_threads(threads)
    run, ds = run_and_data(run_dir, data, data_dir)
    if not quiet:
        click.echo(f"vaekit: {n_threads} thread(s) (--threads N to change)", err=True)
    res = evaluate_model(run.model, ds.split(split), config, quiet=quiet)
    discrete = run.model.likelihood.discrete
    res = {"split": split, "data": ds.name,
           **in_original_units(res, ds.transform, ds.dim, discrete)}  # fmt: skip
    for warning in res["warnings"]:
        click.echo(f"vaekit: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(res))
        return
    for name, value in _evaluation_rows(res):
        click.echo(f"{name:<30} {value}")


# Per-example log-densities: each moves by the log-Jacobian of the run's preprocessing.
_LOG_DENSITIES = ("elbo", "reconstruction", "log_likelihood", "refined_elbo",
                  "log_likelihood_refined_proposal")  # fmt: skip


_WITH_BITS = ("elbo", "log_likelihood")  # result keys that have a *_bits_per_dim twin


def in_original_units(
    r: dict[str, Any], t: Transform | None, dim: int, discrete: bool = False
) -> dict[str, Any]:
    """Evaluation results of the model's units in the data's own: log p(x) = log p(x_model)
    + log|dx_model/dx| (KL and the gaps do not move). Says which units in ``units``.

    A discrete likelihood's numbers are probabilities of the values, which rescaling leaves
    alone: no Jacobian. A density on 8-bit data gets no bits/dim: it is not a probability of
    the 256 levels (it can exceed 1), so its bits/dim compare with nothing.
    """
    r = dict(r)
    if discrete:
        r["units"] = ("nats per example: log-probabilities of the data's values (a discrete "
                      "likelihood: the same in any units); bits/dim = −log₂ P / dimensions")  # fmt: skip
        return r
    if t is not None and t.kind == "8-bit":
        r = _no_bits(r)
    if t is None:
        r["units"] = "nats per example, in the data's own units"
        return r
    jac = t.log_jacobian(dim)
    for key in _LOG_DENSITIES:
        if key in r:
            r[key] += jac
    if "log_likelihood_repeats" in r:
        r["log_likelihood_repeats"] = [v + jac for v in r["log_likelihood_repeats"]]
    for key in _WITH_BITS:
        if key in r and r.get(f"{key}_bits_per_dim") is not None:
            r[f"{key}_bits_per_dim"] = bits_per_dim(r[key], dim)
    r["units"] = (f"nats per example, in the data's own units: the model sees them after "
                  f"{t.describe()}, and the log-Jacobian of that map, {jac:.3f} nats, is added")  # fmt: skip
    r["log_jacobian"] = jac
    return r


def _no_bits(r: dict[str, Any]) -> dict[str, Any]:
    for key in _WITH_BITS:
        r[f"{key}_bits_per_dim"] = None
    r["warnings"] = [*r.get("warnings", []), (
        "no bits/dim: a continuous density on 8-bit data is not a probability of its 256 "
        "levels (it can exceed 1, giving negative bits/dim); for numbers that compare with the "
        f"literature train with {render(opt('likelihood', 'discretized-logistic'))}")]  # fmt: skip
    return r


def _evaluation_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    def nats(key: str, bits: str | None = None) -> str:
        # Nats are log-likelihoods (higher is better); bits/dim, as in the literature, are
        # negative log-likelihoods (lower is better): the minus sign says so.
        text = f"{r[key]:10.3f} nats"
        return text + (f"  (−log₂ p: {r[bits]:.4f} bits/dim)" if bits and r[bits] is not None
                       else "")  # fmt: skip

    rows = [("data", f"{r['data']}, {r['split']} split ({r['n']} examples)"),
            ("units", r["units"]),
            ("ELBO", nats("elbo", "elbo_bits_per_dim") + f"  ± {r['elbo_stderr']:.3f}"),
            ("  reconstruction E_q log p(x|z)", nats("reconstruction")),
            ("  KL(q(z|x) ‖ p(z))", nats("kl"))]  # fmt: skip
    if "log_likelihood" in r:
        err = r["log_likelihood_repeat_stderr"]
        spread = f"  ± {err:.3f} over {r['repeats']} repeats" if err is not None else ""
        rows += [(f"log p(x), IS k={r['importance_samples']}",
                  nats("log_likelihood", "log_likelihood_bits_per_dim") + spread),
                 ("gap log p(x) − ELBO", nats("gap"))]  # fmt: skip
    if "refined_elbo" in r:
        rows += [(f"ELBO of refined q ({r['refine_steps']} steps)", nats("refined_elbo")),
                 ("  amortisation gap", nats("amortisation_gap"))]  # fmt: skip
        if "approximation_gap" in r:
            rows.append(("  approximation gap", nats("approximation_gap")
                         + f"  ± {r['approximation_gap_stderr']:.3f}"))  # fmt: skip
        if "log_likelihood_refined_proposal" in r:
            rows.append(
                ("log p(x), refined q as proposal", nats("log_likelihood_refined_proposal"))
            )
    per_dim = r["kl_per_dim"]
    kl = (
        "n/a (the prior does not factorise)"
        if per_dim is None
        else ", ".join(f"{v:.2f}" for v in per_dim)
    )
    rows += [("active units", f"{r['active_units']} of {len(r['unit_activity'])}"),
             ("KL per latent dimension", kl), ("seconds", f"{r['seconds']:.1f}")]  # fmt: skip
    return rows
