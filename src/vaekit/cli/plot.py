"""``vaekit plot``: pictures of a run — its latent map, the decoded manifold, paths between
two examples, sweeps of single dimensions, and training curves of one or more runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
import torch

from ..errors import ConfigError, DataError
from ..inference.explore import (
    PROJECTIONS,
    condition_features,
    condition_path,
    dims_by_activity,
    latent_grid,
    lerp,
    prior_quantiles,
    project,
    slerp,
    traversal,
)
from ..inference.expost import posterior_means
from ..models.conditions import Labels
from ..training import load_run
from ..training.rundir import Run, read_metrics
from ..viz import save_curves, save_image_panel, save_latent_map
from .common import check_output, data_of, data_options, data_range, in_data_units

KINDS = ("latents", "manifold", "interpolate", "traverse", "curves")


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR [RUN_DIR...]")
@click.option("--kind", type=click.Choice(KINDS), required=True,
              help="latents: posterior means in 2-D; manifold: decoded prior quantiles over "
              "the two most used dimensions; interpolate: decoded path between two examples; "
              "traverse: each dimension swept, most used first; curves: training curves "
              "(several runs on one figure).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.png")  # fmt: skip
@data_options
@click.option("--max-points", type=click.IntRange(min=2), default=5000, show_default=True,
              help="latents: at most this many examples, a seeded sample.")  # fmt: skip
@click.option("--projection", type=click.Choice(PROJECTIONS), default="pca", show_default=True,
              help="latents with more than 2 dimensions: PCA or t-SNE.")  # fmt: skip
@click.option("--grid", type=click.IntRange(2, 40), default=15, show_default=True,
              help="manifold: images per side.")  # fmt: skip
@click.option("--pair", default="0,1", show_default=True, metavar="I,J",
              help="interpolate: the two examples (indices in the split).")  # fmt: skip
@click.option("--example", type=click.IntRange(min=0), default=0, show_default=True,
              help="traverse: the example whose code the sweeps start from.")  # fmt: skip
@click.option("--steps", type=click.IntRange(2, 40), default=10, show_default=True,
              help="interpolate/traverse: images along each path.")  # fmt: skip
@click.option("--dims", type=click.IntRange(min=1), default=8, show_default=True,
              help="traverse: how many dimensions (most used first).")  # fmt: skip
@click.option("--span", type=click.FloatRange(min=0, min_open=True), default=3.0,
              show_default=True, help="traverse: sweep each dimension over ±span.")  # fmt: skip
@click.option("--class", "klass", help="Class-conditional runs: the class to decode with "
              "(default: the first).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
def plot(run_dirs: tuple[str, ...], kind: str, out: Path, data: str | None,
         data_dir: str | None, split: str, **opts: Any) -> None:  # fmt: skip
    """Pictures of a run: latent map, manifold, interpolation, traversal, or curves."""
    check_output(out, (".png",))
    if kind == "curves":
        _curves(run_dirs, out)
    else:
        if len(run_dirs) != 1:
            raise click.BadParameter(f"--kind {kind} pictures one run; only curves compare "
                                     "several", param_hint="RUN_DIR")  # fmt: skip
        run = load_run(run_dirs[0])
        ds = data_of(run, data, data_dir)
        rows = ds.inputs(split)  # (N, D [+ P]) model units
        if rows.shape[0] == 0:
            raise DataError(f"the {split} split of {ds.name} has no examples")
        {"latents": _latents, "manifold": _manifold, "interpolate": _interpolate,
         "traverse": _traverse}[kind](run, rows, ds.labels.get(split), out, opts)  # fmt: skip
    click.echo(f"wrote {out}")


def _curves(run_dirs: tuple[str, ...], out: Path) -> None:
    runs = {}
    for d in run_dirs:
        rows = read_metrics(d)
        if not rows:
            raise DataError(f"{d} has no training metrics (metrics.jsonl) to plot")
        name = Path(d).resolve().name
        runs[name if name not in runs else str(Path(d).resolve())] = rows
    save_curves(runs, out)


def _latents(run: Run, rows: np.ndarray, labels: np.ndarray | None, out: Path,
             opts: dict[str, Any]) -> None:  # fmt: skip
    n = rows.shape[0]
    keep = np.sort(np.random.default_rng(opts["seed"]).permutation(n)[: opts["max_points"]])
    model, names = run.model, None
    if isinstance(model.condition, Labels):  # colour by the condition itself
        labels, names = rows[keep, -1].astype(np.int64), list(model.condition.classes)
    elif labels is not None:
        labels = np.asarray(labels)[keep]
    xy, axis, _ = project(posterior_means(model, rows[keep]), opts["projection"], opts["seed"])
    save_latent_map(xy, out, axis, f"posterior means E[z|x] of {len(keep)} examples "
                    f"(latent dim {model.latent_dim})", labels, names)  # fmt: skip


def _features(run: Run, n: int, opts: dict[str, Any]) -> torch.Tensor | None:
    """(n, F) condition features to decode with: the asked (or first) class; the training
    mean for vectors; None for an unconditional run."""
    try:
        return condition_features(run.model, n, opts["klass"])
    except ConfigError as e:
        raise ConfigError(f"{run.run_dir}: {e}") from None


def _decode(run: Run, z: np.ndarray, opts: dict[str, Any],
            f: torch.Tensor | None = None) -> np.ndarray:  # fmt: skip
    """Decoder means (N, D) in the data's own units at latents z (N, L), with condition
    features f (N, F) (default: from --class, or the first class, or the training mean)."""
    if run.config.model.image_shape is None:
        raise ConfigError(f"{run.run_dir} models flat rows, not images: decoded pictures need "
                          "image data (train with --image-shape H,W)")  # fmt: skip
    with torch.inference_mode():
        zt = torch.from_numpy(z.astype(np.float32))
        f = _features(run, len(z), opts) if f is None else f
        x = run.model.decode(zt, f).mean.numpy()
    return in_data_units(run, x)


def _own_features(run: Run, rows: np.ndarray, opts: dict[str, Any]) -> torch.Tensor | None:
    """(n, F) the examples' own condition features, unless --class asks for another class;
    None for an unconditional run."""
    if run.model.condition is None or opts["klass"] is not None:
        return None
    with torch.inference_mode():
        return run.model.parts(torch.from_numpy(rows))[1]


def _panel(run: Run, images: np.ndarray, ncol: int, out: Path, title: str, **kw: Any) -> None:
    shape = run.config.model.image_shape
    save_image_panel(images, shape, ncol, out, title, value_range=data_range(run), **kw)  # type: ignore[arg-type]


def _manifold(run: Run, rows: np.ndarray, labels: np.ndarray | None, out: Path,
              opts: dict[str, Any]) -> None:  # fmt: skip
    model, n = run.model, opts["grid"]
    _features(run, 1, opts)  # refuse what cannot be decoded before any work
    if model.latent_dim == 1:
        raise ConfigError("a manifold needs at least 2 latent dimensions; use --kind traverse")
    order, score, what = dims_by_activity(model, rows)
    dims = (0, 1) if model.latent_dim == 2 else (int(order[0]), int(order[1]))
    q = prior_quantiles(model, n, _features(run, 1, opts))  # (n, L)
    base = prior_quantiles(model, 1, _features(run, 1, opts))[0]  # the prior's medians
    z = latent_grid(q, dims, base)
    ticks = [f"{v:.2f}" for v in q[:, dims[0]]]
    _panel(run, _decode(run, z, opts), n, out,
           f"decoded prior quantiles over z{dims[0]}, z{dims[1]} ({what}: "
           f"{score[dims[0]]:.2f}, {score[dims[1]]:.2f}; others at the prior median)",
           xlabel=f"z{dims[0]}", ylabel=f"z{dims[1]}", col_labels=ticks,
           row_labels=[f"{v:.2f}" for v in q[::-1, dims[1]]])  # fmt: skip


def _pair(text: str, n: int) -> tuple[int, int]:
    try:
        i, j = (int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give two indices, e.g. 0,1",
                                 param_hint="--pair") from None  # fmt: skip
    for v in (i, j):
        if not 0 <= v < n:
            raise click.BadParameter(f"index {v} is outside the split's 0…{n - 1}",
                                     param_hint="--pair")  # fmt: skip
    return i, j


def _interpolate(run: Run, rows: np.ndarray, labels: np.ndarray | None, out: Path,
                 opts: dict[str, Any]) -> None:  # fmt: skip
    i, j = _pair(opts["pair"], rows.shape[0])
    _features(run, 1, opts)
    a, b = posterior_means(run.model, rows[[i, j]])
    steps = opts["steps"]
    z = np.vstack([lerp(a, b, steps), slerp(a, b, steps)])  # (2 * steps, L)
    # the path between the examples' conditions too, unless --class asks for one class
    f = None if opts["klass"] is not None else condition_path(run.model, rows[[i, j]], steps)
    f = None if f is None else f.repeat(2, 1)  # (2 * steps, F): linear, then spherical
    _panel(run, _decode(run, z, opts, f), steps, out,
           f"from example {i} to example {j} (posterior means)", xlabel="t (0 → 1)",
           row_labels=["linear", "spherical"],
           col_labels=[f"{t:.2f}" for t in np.linspace(0, 1, steps)])  # fmt: skip


def _traverse(run: Run, rows: np.ndarray, labels: np.ndarray | None, out: Path,
              opts: dict[str, Any]) -> None:  # fmt: skip
    k = opts["example"]
    if k >= rows.shape[0]:
        raise click.BadParameter(f"example {k} is outside the split's 0…{rows.shape[0] - 1}",
                                 param_hint="--example")  # fmt: skip
    _features(run, 1, opts)
    order, score, what = dims_by_activity(run.model, rows)
    dims = order[: opts["dims"]]
    values = np.linspace(-opts["span"], opts["span"], opts["steps"])
    base = posterior_means(run.model, rows[[k]])[0]
    z = traversal(base, dims, values)
    own = _own_features(run, rows[[k]], opts)  # the example's own condition
    f = None if own is None else own.expand(len(z), -1)
    _panel(run, _decode(run, z, opts, f), len(values), out,
           f"each dimension swept from example {k}'s code, most used first",
           xlabel="value of the swept dimension", ylabel=f"dimension ({what})",
           row_labels=[f"z{d} ({score[d]:.2f})" for d in dims],
           col_labels=[f"{v:.1f}" for v in values])  # fmt: skip
