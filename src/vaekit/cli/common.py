"""What several commands share: a run and its data, writing arrays and pictures, exit codes."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np

from ..data import SPLITS, Dataset, load_dataset
from ..errors import DataError, RunDirError
from ..training import Run, load_run
from ..training.rundir import atomic_write
from ..viz import save_grid

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


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
    cfg = run.config.data
    ds = load_dataset(replace(cfg, name=data or cfg.name, data_dir=data_dir or cfg.data_dir))
    if ds.dim != run.model.input_dim:
        raise DataError(
            f"data {ds.name} has {ds.dim} features per example but the model in {run_dir} was "
            f"trained on {run.model.input_dim}"
        )
    run.model.likelihood.check_dataset(ds)
    return run, ds


def value_range(ds: Dataset) -> tuple[float, float]:
    return float(ds.train.min()), float(ds.train.max())


def save_array_or_png(
    x: np.ndarray, out: Path, image_shape: Any, value_range: tuple[float, float] | None = None
) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".png", ".npy"):
        raise click.BadParameter(f"{out}: the output must end in .png or .npy", param_hint="--out")
    if out.parent and not out.parent.exists():
        raise RunDirError(f"cannot write {out}: directory {out.parent} does not exist")
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, x, allow_pickle=False)
        atomic_write(out, buf.getvalue())
    else:
        save_grid(x, out, image_shape, value_range=value_range)
