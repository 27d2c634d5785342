"""What several commands share: a run and its data, writing arrays and pictures, exit codes."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..data import SPLITS, DataConfig, Dataset, load_dataset, locate
from ..data.transform import Transform
from ..errors import DataError, RunDirError
from ..models import LIKELIHOODS
from ..training import Run, load_run
from ..training.baseline import BaselineRun, load_baseline
from ..training.baseline import check_data as check_baseline_data
from ..training.conditioning import conditioned
from ..training.rundir import atomic_write
from ..viz import save_grid


def data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--data, --data-dir and --split of the commands that read a run's data (or other data)."""
    fn = click.option("--split", type=click.Choice(list(SPLITS)), default="test",
                      show_default=True, help="Which split of the data.")(fn)  # fmt: skip
    fn = click.option("--data-dir", type=click.Path(file_okay=False),
                      help="Where built-in data sets live (default: the run's).")(fn)  # fmt: skip
    return click.option("--data", help="Other data of the same dimension (default: the "
                        "run's own).")(fn)  # fmt: skip


def run_and_data(run_dir: str, data: str | None, data_dir: str | None) -> tuple[Run, Dataset]:
    """The run, and the data it was trained on (or ``data``), checked against the model."""
    run = load_run(run_dir)
    return run, data_of(run, data, data_dir)


def baseline_and_data(run_dir: str, data: str | None, data_dir: str | None
                      ) -> tuple[BaselineRun, Dataset]:  # fmt: skip
    """A baseline run, and its data (or ``data``), checked against the model."""
    run = load_baseline(run_dir)
    return run, data_of(run, data, data_dir)


def data_of(run: Run | BaselineRun, data: str | None, data_dir: str | None) -> Dataset:
    """A loaded run's data (or ``data``), checked against its model."""
    if isinstance(run, BaselineRun):
        ds = located_data(run.data, data, data_dir, run.data.image_shape, run.model.dim,
                          str(run.run_dir))  # fmt: skip
        for split in SPLITS:
            for chunk in ds.chunks(split):
                check_baseline_data(run, chunk, f"{ds.name} ({split} split)")
        return ds
    ds = located_data(run.config.data, data, data_dir, run.config.model.image_shape,
                      run.model.input_dim, str(run.run_dir))  # fmt: skip
    run.model.likelihood.check_dataset(ds)
    return conditioned(ds, run.config.model)


def located_data(recorded: DataConfig, data: str | None, data_dir: str | None,
                 image_shape: tuple[int, ...] | None, dim: int, run_dir: str) -> Dataset:  # fmt: skip
    """The run's data (or ``data``), found where it is now and checked against the model."""
    cfg, same = locate(recorded, data)
    if same is False:
        click.echo(f"vaekit: note: {cfg.name} is not the file this run was trained on (its "
                   "content differs): these numbers are for other data", err=True)  # fmt: skip
    ds = load_dataset(replace(cfg, data_dir=data_dir or cfg.data_dir))
    mine, theirs = _hwc(image_shape), _hwc(ds.image_shape)
    if mine and theirs and mine != theirs:
        raise DataError(
            f"data {ds.name} holds {'x'.join(map(str, theirs))} (HxWxC) images but the model in "
            f"{run_dir} was trained on {'x'.join(map(str, mine))}"
        )
    if ds.dim != dim:
        raise DataError(
            f"data {ds.name} has {ds.dim} features per example but the model in {run_dir} was "
            f"trained on {dim}"
        )
    return ds


def _hwc(shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    return None if shape is None else (*shape[:2], *(shape[2:] or (1,)))


def in_data_units(run: Run, x: np.ndarray) -> np.ndarray:
    """Model-unit rows (N, D) in the data's own units: the run's preprocessing undone."""
    t = run.config.data.transform
    return Transform.from_dict(t).invert(x) if t else x


def data_range(run: Run) -> tuple[float, float] | None:
    """The training data's range in its own units: what pictures map to black and white.
    (Runs before format 2 did not record it: a likelihood without σ means [0, 1].)"""
    if run.config.data.value_range is not None:
        return run.config.data.value_range
    return None if LIKELIHOODS[run.config.model.likelihood].has_sigma else (0.0, 1.0)


def check_output(out: Path, suffixes: tuple[str, ...]) -> None:
    if out.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{out}: the output must end in {' or '.join(suffixes)}",
                                 param_hint="--out")  # fmt: skip
    if out.parent and not out.parent.exists():
        raise RunDirError(f"cannot write {out}: directory {out.parent} does not exist")


def save_npy(x: np.ndarray, out: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=False)
    atomic_write(out, buf.getvalue())


def save_examples(run: Run, x_model: np.ndarray, out: Path, ncol: int | None = None) -> None:
    """Generated rows (N, D) in model units, as the data is: .npy in its units and shape
    ((N, H, W) for images, (N, D) for tabular data), .png on its value range."""
    check_output(out, (".png", ".npy"))
    x, shape = in_data_units(run, x_model), run.config.model.image_shape
    if out.suffix.lower() == ".npy":
        save_npy(x.reshape(x.shape[0], *shape) if shape else x, out)
    else:
        save_grid(x, out, shape, ncol=ncol, value_range=data_range(run))
