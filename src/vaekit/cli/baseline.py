"""``vaekit baseline``: a finite mixture fitted by EM, written as a run directory."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..data import DataConfig
from ..data.sources import canonical_name
from ..training.baseline import FAMILIES, fit_baseline


@click.command()
@click.argument("family", type=click.Choice(FAMILIES))
@click.option(
    "--data",
    default="digits",
    show_default=True,
    help="digits, binarized-mnist, or a .npz/.npy/.csv file or image folder.",
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where built-in data live.")
@click.option("--image-shape", help="H,W or H,W,C of flat rows (for samples.png).")
@click.option(
    "--components",
    "-K",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Mixture components (independent: 1).",
)
@click.option(
    "--restarts",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="EM runs from other starts; the best training likelihood is kept.",
)
@click.option(
    "--covariance",
    type=click.Choice(["full", "diag"]),
    default="full",
    show_default=True,
    help="gmm: covariance of each component.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run directory.")
def baseline(family: str, data: str, data_dir: str | None, image_shape: str | None,
             components: int, restarts: int, covariance: str, seed: int, out: Path) -> None:  # fmt: skip
    """A finite mixture fitted by EM, as a run directory that evaluate, sample and score take.

    bernoulli-mixture (0/1 data), gmm (real values) or independent (one component); the
    log-likelihood of a finite mixture is exact, so evaluate needs no importance sampling.
    """
    cfg = DataConfig(name=canonical_name(data), data_dir=data_dir, image_shape=image_shape)
    run = fit_baseline(family, cfg, out, components, restarts, seed, covariance)
    s = run.summary
    dim = run.data.image_shape and math.prod(run.data.image_shape)
    click.echo(f"fitted {run.family} with {run.settings['components']} component(s) in "
               f"{s['seconds']:.1f} s ({s['iterations']} EM iterations): exact log-likelihood "
               f"train {s['train_log_likelihood']:.3f}, valid {s['valid_log_likelihood']:.3f} "
               f"nats per example{f' ({dim} dimensions)' if dim else ''}")  # fmt: skip
    click.echo(f"run directory: {out} (model.safetensors, config.json, summary.json, samples.png)")
