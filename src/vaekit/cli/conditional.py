"""Conditional runs on the command line: the conditions ``sample`` takes (``--class``,
``--condition``) and ``complete`` (the rest of partly observed images)."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import torch

from ..data import check_array, read_npy
from ..errors import ConfigError, opt
from ..models.conditions import Labels, Mask
from ..training import Run, load_run
from ..viz import save_grid
from .common import check_output, data_options, data_range, in_data_units, run_and_data


def condition_rows(run: Run, classes: str | None, vectors: str | None, n: int) -> np.ndarray | None:
    """(M * n, P) condition rows for ``sample``: n for each asked class (a grid row each) or
    each row of a vectors file; None for an unconditional run asked for none."""
    cond = run.model.condition
    if cond is None:
        if classes is not None or vectors is not None:
            raise ConfigError(f"{run.run_dir} is not a conditional run (trained without "
                              f"{opt('condition')}): --class and --condition do not apply")  # fmt: skip
        return None
    if isinstance(cond, Labels):
        if vectors is not None or classes is None:
            raise ConfigError(f"{run.run_dir} is conditioned on class labels: give --class, "
                              f"one of {', '.join(cond.classes)} (or a list, one grid row each)")  # fmt: skip
        rows = cond.index([c.strip() for c in classes.split(",") if c.strip()])
    elif isinstance(cond, Mask):
        raise ConfigError(f"{run.run_dir} completes partly observed data: use vaekit complete")
    else:
        if classes is not None or vectors is None:
            raise ConfigError(f"{run.run_dir} is conditioned on vectors of {cond.packed}: give "
                              "--condition FILE.npy, one row a condition")  # fmt: skip
        raw = read_npy(Path(vectors))
        raw = raw[None] if raw.ndim == 1 else raw
        rows, _ = check_array(raw, vectors)
        cond.check(rows, vectors)
    return np.repeat(rows, n, axis=0)  # (M * n, P): n of each, in order


@click.command()
@click.argument("run_dir")
@data_options
@click.option("--quadrants", type=click.IntRange(1, 3),
              help="Check the run observes K quadrants (its own mask is what it completes).")  # fmt: skip
@click.option("-n", "n", type=click.IntRange(min=1), default=8, show_default=True,
              help="Examples to complete.")  # fmt: skip
@click.option("--completions", type=click.IntRange(min=1), default=4, show_default=True,
              help="Completions of each example.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--noise", is_flag=True, help="Draw the missing part from p(x|z, c), not its mean.")
@click.option("--out", type=click.Path(dir_okay=False), default="completions.png",
              show_default=True, help="FILE.png: a row per example.")  # fmt: skip
def complete(run_dir: str, data: str | None, data_dir: str | None, split: str,
             quadrants: int | None, n: int, completions: int, seed: int, noise: bool,
             out: str) -> None:  # fmt: skip
    """Complete partly observed images: the observed part, completions, the truth, as a PNG."""
    check_output(Path(out), (".png",))
    run = load_run(run_dir)
    cond = run.model.condition
    if not isinstance(cond, Mask):
        raise ConfigError(f"{run_dir} was not trained to complete images (train it with "
                          f"{opt('condition', 'quadrants:K')} or {opt('condition', 'mask:FILE')})")  # fmt: skip
    spec = run.config.model.condition
    if quadrants is not None and spec != f"quadrants:{quadrants}":
        raise ConfigError(f"{run_dir} was trained with {opt('condition', spec)}, not "
                          f"quadrants:{quadrants}")  # fmt: skip
    _, ds = run_and_data(run_dir, data, data_dir)
    x = torch.from_numpy(ds.inputs(split, slice(0, n)))  # (n, D)
    gen = torch.Generator().manual_seed(seed)
    filled = run.model.complete(x, completions, gen, noise=noise)  # (K, n, D)
    grey = 0.5 * (x.min() + x.max())  # unobserved pixels shown mid-grey in the observed column
    seen = x * cond.observed + grey * cond.scored()
    grid = torch.cat([seen[None], filled, x[None]]).transpose(0, 1).reshape(-1, x.shape[1])
    save_grid(in_data_units(run, grid.numpy()), out, run.config.model.image_shape,
              ncol=completions + 2, title="observed | completions | truth",
              value_range=data_range(run))  # fmt: skip
    click.echo(f"wrote {x.shape[0]} examples, {completions} completions each, to {out}")
