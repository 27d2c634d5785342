"""``vaekit evaluate``: ELBO, IS log p(x) and the gap's anatomy; options from ``EvalConfig``."""

from __future__ import annotations

import json
import os
from typing import Any

import click
import numpy as np

from ..inference import EvalConfig, bits_per_dim
from ..inference import evaluate as evaluate_model
from ..inference.importance import fitting_rows
from ..inference.progress import Progress, evaluation_key
from ..runtime import DEVICE_HELP, resolve_device, use_threads
from ..training.baseline import is_baseline
from ..training.rundir import Run, weights_digest
from .common import baseline_and_data, data_options, run_and_data
from .options import given, options_from


@click.command()
@click.argument("run_dir")
@data_options
@options_from(EvalConfig)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--threads", type=int, help="CPU threads for torch (default: the cores it sees).")
@click.option("--device", default="auto", show_default=True,
              help=f"Where to compute: {DEVICE_HELP}.")  # fmt: skip
def evaluate(run_dir: str, data: str | None, data_dir: str | None, split: str, as_json: bool,
             quiet: bool, threads: int | None, device: str, **options: Any) -> None:  # fmt: skip
    """ELBO and its terms, log p(x) by importance sampling, and the anatomy of the gap."""
    config = EvalConfig(**given(options))  # checked before any work
    if is_baseline(run_dir):
        _evaluate_baseline(run_dir, data, data_dir, split, as_json)
        return
    n_threads = use_threads(threads)
    on = resolve_device(device)
    run, ds = run_and_data(run_dir, data, data_dir)
    run.model.to(on)  # the data, the generators and the sums follow the model
    if not quiet:
        click.echo(f"vaekit: {n_threads} thread(s) (--threads N to change)", err=True)
    x = ds.inputs(split)
    progress = _progress(run, x, config)
    try:
        res = evaluate_model(run.model, x, config, transform=ds.transform, progress=progress,
                             quiet=quiet)  # fmt: skip
    except KeyboardInterrupt:
        if progress is not None and progress.values:
            progress.save()
            click.echo(f"vaekit: the estimates so far are kept in {progress.path}; rerun the "
                       "same command to continue", err=True)  # fmt: skip
        raise
    if progress is not None:
        progress.finish()
    res = {"split": split, "data": ds.name, "condition": run.config.model.condition, **res}
    for warning in res["warnings"]:
        click.echo(f"vaekit: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(res))
        return
    rows = _evaluation_rows(res)
    width = max(30, *(len(name) for name, _ in rows))
    for name, value in rows:
        click.echo(f"{name:<{width}} {value}")


def _evaluate_baseline(run_dir: str, data: str | None, data_dir: str | None, split: str,
                       as_json: bool) -> None:  # fmt: skip
    """A finite mixture's log-likelihood: exact, so no importance sampling and no bound."""
    run, ds = baseline_and_data(run_dir, data, data_dir)
    ll = run.model.log_prob(ds.split(split))  # (N,) exact
    discrete = run.model.binary
    res = {"split": split, "data": ds.name, "n": int(ll.shape[0]), "exact": True,
           "model": f"{run.family}, {run.settings['components']} component(s)",
           "log_likelihood": float(ll.mean()),
           "log_likelihood_stderr": float(ll.std(ddof=1) / np.sqrt(ll.shape[0]))
           if ll.shape[0] > 1 else None,
           "log_likelihood_bits_per_dim": bits_per_dim(float(ll.mean()), ds.dim) if discrete
           else None,
           "units": "nats per example, in the data's own units (exact: a finite mixture's "
                    "log-likelihood is a sum over its components, no sampling)"}  # fmt: skip
    if as_json:
        click.echo(json.dumps(res))
        return
    bits = res["log_likelihood_bits_per_dim"]
    err = res["log_likelihood_stderr"]
    click.echo(f"{'data':<30} {ds.name}, {split} split ({res['n']} examples)")
    click.echo(f"{'model':<30} {res['model']}")
    click.echo(f"{'units':<30} {res['units']}")
    click.echo(f"{'log p(x), exact':<30} {res['log_likelihood']:10.3f} nats"
               + (f"  (−log₂ p: {bits:.4f} bits/dim)" if bits is not None else "")
               + (f"  ± {err:.3f} over the examples" if err is not None else ""))  # fmt: skip


def _progress(run: Run, x: np.ndarray, config: EvalConfig) -> Progress | None:
    """Where this evaluation's IS estimates are kept while it runs (None if the run
    directory is read-only or there is no IS): named by what its numbers depend on."""
    if config.importance_samples == 0 or not os.access(run.run_dir, os.W_OK):
        return None
    rows = fitting_rows(run.model, config.batch_size)  # the batches the estimates come in
    key = evaluation_key(
        config.importance_samples,
        rows,
        config.seed,
        weights_digest(run.run_dir),
        run.model.device.type,
        arrays=(x,),
    )  # fmt: skip (a generator's state fits one kind of device)
    progress = Progress(run.run_dir / f"evaluate-progress-{key[:16]}.safetensors", key)
    if progress.restored_rows:
        total = x.shape[0] * config.repeats
        click.echo(f"vaekit: continuing an interrupted evaluation ({progress.restored_rows} of "
                   f"{total} IS estimates done)", err=True)  # fmt: skip
    return progress


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
    if r.get("condition"):  # the same numbers, of a conditional model: p(x|c) and its terms
        given = (("p(x|z)", "p(x|z,c)"), ("p(x)", "p(x|c)"), ("p(z))", "p(z|c))"),
                 ("q(z|x)", "q(z|x,c)"))  # fmt: skip
        for old, new in given:
            rows = [(name.replace(old, new), value) for name, value in rows]
        rows.insert(1, ("condition", r["condition"]))
    per_dim = r["kl_per_dim"]
    kl = (
        "n/a (the prior does not factorise)"
        if per_dim is None
        else ", ".join(f"{v:.2f}" for v in per_dim)
    )
    rows += [("active units", f"{r['active_units']} of {len(r['unit_activity'])}"),
             ("KL per latent dimension", kl), ("seconds", f"{r['seconds']:.1f}")]  # fmt: skip
    return rows
