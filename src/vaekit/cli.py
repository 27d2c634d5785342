"""The ``vaekit`` command line. User errors end as one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch

from .config import ACTIVATIONS, ARCHS, LR_SCHEDULES, OBJECTIVE_NAMES, PRIORS, read_toml
from .data import Dataset, check_array, load_dataset, read_npy
from .errors import DataError, RunDirError, VaekitError
from .evaluation import evaluate as evaluate_model
from .likelihoods import LIKELIHOODS
from .numerics import flush_process_wide
from .plotting import save_grid, save_reconstructions
from .runs import Run, atomic_write, load_run
from .settings import AUTO_LIKELIHOOD

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _run_and_data(run_dir: str, data: str | None, data_dir: str | None) -> tuple[Run, Dataset]:
    run = load_run(run_dir)
    cfg = run.config.data
    ds = load_dataset(replace(cfg, name=data or cfg.name, data_dir=data_dir or cfg.data_dir))
    if ds.dim != run.model.input_dim:
        raise DataError(
            f"data {ds.name} has {ds.dim} features per example but the model in {run_dir} was "
            f"trained on {run.model.input_dim}"
        )
    run.model.likelihood.check_dataset(ds)
    return run, ds


def _value_range(ds: Dataset) -> tuple[float, float]:
    return float(ds.train.min()), float(ds.train.max())


def _save_array_or_png(
    x: np.ndarray, out: Path, image_shape: Any, value_range: tuple[float, float] | None = None
) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".png", ".npy"):
        raise click.BadParameter(f"{out}: the output must end in .png or .npy", param_hint="--out")
    if out.parent and not out.parent.exists():
        raise RunDirError(f"cannot write {out}: directory {out.parent} does not exist")
    if suffix == ".npy":
        import io

        buf = io.BytesIO()
        np.save(buf, x, allow_pickle=False)
        atomic_write(out, buf.getvalue())
    else:
        save_grid(x, out, image_shape, value_range=value_range)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="vaekit")
def cli() -> None:
    """Variational autoencoders: train, evaluate, sample, reconstruct, encode, decode."""


@cli.command()
@click.option("--data", help="digits (default), binarized-mnist, or a .npz/.npy/.csv file.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where binarized MNIST lives.")
@click.option("--out", type=click.Path(), help="Run directory to write (default runs/latest).")
@click.option("--epochs", type=int, help="Passes over the training data (default 50).")
@click.option("--batch-size", type=int, help="Examples per step (default 128).")
@click.option("--lr", type=float, help="Adam learning rate (default 1e-3).")
@click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), help="Default constant.")
@click.option("--latent-dim", type=int, help="Size of z (default 20).")
@click.option("--arch", type=click.Choice(ARCHS), help="Network type (default mlp).")
@click.option("--hidden", help="Hidden sizes, e.g. 400 or 200,200 (default 400).")
@click.option("--activation", type=click.Choice(ACTIVATIONS), help="Default relu.")
@click.option("--likelihood", type=click.Choice([AUTO_LIKELIHOOD, *LIKELIHOODS]),
              help="p(x|z); default auto: bernoulli for 0/1 data, else gaussian-shared.")  # fmt: skip
@click.option("--sigma", type=float, help="Decoder std: fixed for gaussian, initial otherwise.")
@click.option("--beta", type=float, help="Weight of the KL term (default 1).")
@click.option("--warmup-epochs", type=int, help="Ramp beta from 0 over this many epochs.")
@click.option("--prior", type=click.Choice(PRIORS), help="standard N(0, I) (default) or vamp.")
@click.option("--prior-components", type=int, help="Pseudo-inputs of the vamp prior (500).")
@click.option("--free-bits", type=float, help="Free bits: nats per latent dimension (elbo).")
@click.option("--weight-decay", type=float,
              help="Decoupled weight decay (AdamW) of the networks' weight matrices (default 0).")  # fmt: skip
@click.option("--objective", type=click.Choice(OBJECTIVE_NAMES), help="Default elbo.")
@click.option("--k", type=int, help="Samples per example of the iwae objective (default 50).")
@click.option("--dreg", is_flag=True, default=None,
              help="Doubly reparameterised encoder gradient (iwae).")  # fmt: skip
@click.option("--seed", type=int, help="Seed for weights, data order, noise and splits.")
@click.option("--init-from", type=click.Path(), help="Start from this run's best weights.")
@click.option("--config", "config_file", type=click.Path(), help="TOML file of these settings.")
@click.option("--overwrite", is_flag=True, help="Replace a run with other settings in --out.")
@click.option("--resume", is_flag=True,
              help="Continue the stopped run in --out with its own settings.")  # fmt: skip
@click.option("--checkpoint-every", default="60s", show_default=True,
              help="Checkpoint every N steps (500) or every S seconds (30s, 5m), besides each "
              "epoch's end and on Ctrl-C/SIGTERM.")  # fmt: skip
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_file: str | None, overwrite: bool, resume: bool, checkpoint_every: str,
          quiet: bool, **options: Any) -> None:  # fmt: skip
    """Train a VAE and write its run directory; rerun the same command to continue it."""
    from .training import train as train_run

    settings = read_toml(config_file) if config_file else {}
    settings.update({k: v for k, v in options.items() if v is not None})
    run = train_run(overwrite=overwrite, resume=resume, checkpoint_every=checkpoint_every,
                    progress=not quiet, **settings)  # fmt: skip
    s = run.summary or {}
    best = s.get("best_valid_score")
    label = {"valid_bound": f"IWAE-{run.config.train.k} bound"}.get(s.get("selected_by"), "ELBO")
    click.echo(
        f"{'interrupted' if run.interrupted else 'trained'}: {s.get('epochs_run', 0)} epoch(s) in "
        f"{s.get('seconds', 0):.1f} s; best validation {label} "
        f"{'n/a' if best is None else f'{best:.2f}'} nats at epoch {s.get('best_epoch')}\n"
        f"run directory: {run.run_dir} (model.safetensors, config.json, metrics.jsonl, "
        "samples.png, reconstructions.png)"
    )
    if run.interrupted:
        click.echo("checkpoint saved: rerun the same command (or add --resume) to continue",
                   err=True)  # fmt: skip
        sys.exit(EXIT_INTERRUPTED)


@cli.command()
@click.argument("run_dir")
@click.option("--data", help="Evaluate on other data of the same dimension.")
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--split", type=click.Choice(["test", "valid", "train"]), default="test",
              show_default=True)  # fmt: skip
@click.option("--importance-samples", "-k", type=click.IntRange(min=1), default=1000,
              show_default=True, help="Samples for the log-likelihood estimate.")  # fmt: skip
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent IS estimates, for the estimator's standard error.")  # fmt: skip
@click.option("--refine-steps", type=click.IntRange(min=0), default=100, show_default=True,
              help="Gradient steps on each example's own q(z|x) for the amortisation gap; 0 skips.")  # fmt: skip
@click.option("--refined-proposal", is_flag=True,
              help="Also estimate log p(x) with the refined q(z|x) as the IS proposal.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def evaluate(run_dir: str, data: str | None, data_dir: str | None, split: str,
             importance_samples: int, repeats: int, refine_steps: int, refined_proposal: bool,
             seed: int, as_json: bool, quiet: bool) -> None:  # fmt: skip
    """ELBO and its terms, log p(x) by importance sampling, and the anatomy of the gap."""
    run, ds = _run_and_data(run_dir, data, data_dir)
    res = evaluate_model(run.model, ds.split(split), importance_samples=importance_samples,
                         repeats=repeats, refine_steps=refine_steps,
                         refined_proposal=refined_proposal, seed=seed,
                         progress=not quiet)  # fmt: skip
    res = {"split": split, "data": ds.name, **res}
    if as_json:
        click.echo(json.dumps(res))
        return
    for name, value in _evaluation_rows(res):
        click.echo(f"{name:<30} {value}")


def _evaluation_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    def nats(key: str, bits: str | None = None) -> str:
        text = f"{r[key]:10.3f} nats"
        return text + (f"  ({r[bits]:.4f} bits/dim)" if bits else "")

    rows = [("data", f"{r['data']}, {r['split']} split ({r['n']} examples)"),
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
            rows.append(("  approximation gap", nats("approximation_gap")))
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


@cli.command()
@click.argument("run_dir")
@click.option("-n", "n", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="samples.png", show_default=True,
              help="FILE.png (a picture) or FILE.npy (an (n, D) array).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--noise", is_flag=True, help="Draw x ~ p(x|z) instead of the decoder mean.")
def sample(run_dir: str, n: int, out: str, seed: int, noise: bool) -> None:
    """Generate from the prior: decoder means at z ~ p(z)."""
    run = load_run(run_dir)
    x = run.model.sample(n, torch.Generator().manual_seed(seed), noise=noise).numpy()
    _save_array_or_png(x, Path(out), run.config.model.image_shape)
    click.echo(f"wrote {n} samples to {out}")


@cli.command()
@click.argument("run_dir")
@click.option("--data", help="Default: the run's own data.")
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--split", type=click.Choice(["test", "valid", "train"]), default="test",
              show_default=True)  # fmt: skip
@click.option("-n", "n", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="reconstructions.png",
              show_default=True)  # fmt: skip
def reconstruct(run_dir: str, data: str | None, data_dir: str | None, split: str, n: int,
                out: str) -> None:  # fmt: skip
    """Originals and their reconstructions (decoder mean at the posterior mean), as a PNG."""
    run, ds = _run_and_data(run_dir, data, data_dir)
    x = torch.from_numpy(ds.split(split)[:n])
    if not out.lower().endswith(".png"):
        raise click.BadParameter(f"{out}: the output must end in .png", param_hint="--out")
    save_reconstructions(x.numpy(), run.model.reconstruct(x).numpy(), out,
                         run.config.model.image_shape, value_range=_value_range(ds))  # fmt: skip
    click.echo(f"wrote {x.shape[0]} originals and reconstructions to {out}")


@cli.command()
@click.argument("run_dir")
@click.option("--data", help="Default: the run's own data.")
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--split", type=click.Choice(["test", "valid", "train"]), default="test",
              show_default=True)  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Z.npy")
def encode(run_dir: str, data: str | None, data_dir: str | None, split: str, out: str) -> None:
    """Posterior means E_q[z|x] of a split, saved as an (N, latent_dim) .npy array."""
    run, ds = _run_and_data(run_dir, data, data_dir)
    if not out.lower().endswith(".npy"):
        raise click.BadParameter(f"{out}: the output must end in .npy", param_hint="--out")
    x = torch.from_numpy(ds.split(split))
    with torch.inference_mode():
        z = torch.cat([run.model.encode(xb).mean for xb in x.split(1000)]).numpy()
    _save_array_or_png(z, Path(out), None)
    click.echo(f"wrote {z.shape[0]} latent means of dimension {z.shape[1]} to {out}")


@cli.command()
@click.argument("run_dir")
@click.option("--latents", type=click.Path(), required=True, help="Z.npy of shape (N, latent_dim).")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="X.npy or X.png")
def decode(run_dir: str, latents: str, out: str) -> None:
    """Decoder means at given latents."""
    run = load_run(run_dir)
    raw = read_npy(Path(latents))
    L = run.model.latent_dim
    if raw.ndim == 1 and raw.shape[0] == L:
        raw = raw[None]
    if raw.ndim != 2 or raw.shape[1] != L:
        raise DataError(f"{latents} has shape {raw.shape}; this model needs (N, {L}) latents")
    z, _ = check_array(raw, str(latents))  # numeric, non-empty, finite -> float32
    with torch.inference_mode():
        x = run.model.likelihood.mean(run.model.decoder_output(torch.from_numpy(z))).numpy()
    _save_array_or_png(x, Path(out), run.config.model.image_shape)
    click.echo(f"wrote {x.shape[0]} decoded examples to {out}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: a VaekitError becomes 'vaekit: error: …' and exit code 2, no traceback."""
    try:
        cli.main(args=argv, prog_name="vaekit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("vaekit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.UsageError as e:  # one line, as every other error, with where to look
        where = f" (see {e.ctx.command_path} --help)" if e.ctx is not None else ""
        click.echo(f"vaekit: error: {' '.join(e.format_message().split())}{where}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except VaekitError as e:
        click.echo(f"vaekit: error: {e}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        click.echo("vaekit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as e:  # disk full, permission denied while writing an output…
        click.echo(f"vaekit: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), err=True)
        sys.exit(EXIT_USER_ERROR)


def entry() -> None:
    """The ``vaekit`` executable: :func:`main` in a process of its own.

    Owning the process, it flushes subnormals in every thread (before torch starts its
    workers, so they inherit it); ``main`` called from Python leaves global state alone.
    """
    flush_process_wide()
    main()


if __name__ == "__main__":
    entry()
