"""Figures with labelled axes and titles (matplotlib's object API, no pyplot global state):
latent maps, mosaics of decoded images with their axes named, training curves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .grids import tile_images

_CURVES = (  # metrics.jsonl key(s) -> panel title, y label
    (("valid_elbo",), "validation ELBO", "nats per example"),
    (("train_loss",), "training objective (minimised)", "nats per example"),
    (("valid_reconstruction",), "validation E_q[log p(x|z)]", "nats per example"),
    (("valid_kl",), "validation KL(q(z|x) ‖ p(z))", "nats per example"),
    (("beta",), "β (KL weight)", "β"),
    (("lr",), "learning rate", "lr"),
)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_latent_map(xy: np.ndarray, path: str | os.PathLike, axis: str, title: str,
                    labels: np.ndarray | None = None,
                    names: Sequence[str] | None = None) -> None:  # fmt: skip
    """Points (N, 2), coloured by integer ``labels`` (N,) named by ``names`` when given."""
    fig = _figure(6.5, 5.5)
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=4, alpha=0.6, color="tab:blue", linewidths=0)
    else:
        classes = np.unique(labels)
        palette = colormaps["tab10" if len(classes) <= 10 else "viridis"]
        for i, c in enumerate(classes):
            at = labels == c
            colour = palette(i if len(classes) <= 10 else i / max(1, len(classes) - 1))
            label = names[int(c)] if names is not None else str(c)
            ax.scatter(xy[at, 0], xy[at, 1], s=4, alpha=0.6, color=colour, linewidths=0,
                       label=label)  # fmt: skip
        if len(classes) <= 20:
            ax.legend(title="class", markerscale=3, fontsize="small", loc="best")
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title)
    fig.savefig(path, dpi=110)


def save_image_panel(images: np.ndarray, image_shape: Sequence[int], ncol: int,
                     path: str | os.PathLike, title: str, xlabel: str = "", ylabel: str = "",
                     value_range: tuple[float, float] | None = None,
                     row_labels: Sequence[str] | None = None,
                     col_labels: Sequence[str] | None = None) -> None:  # fmt: skip
    """Images (N, D) as a mosaic of ``ncol`` columns with a title, axis names and optional
    labels of its rows and columns (e.g. the latent values a manifold or sweep shows)."""
    images = np.asarray(images, dtype=np.float32)
    lo, hi = value_range or (float(np.nanmin(images)), float(np.nanmax(images)))
    images = (np.clip(images, lo, hi) - lo) / (hi - lo if hi > lo else 1.0)
    mosaic = tile_images(images, image_shape, ncol)  # (rows*(h+1)+1, ncol*(w+1)+1[, 3])
    nrow = int(np.ceil(images.shape[0] / ncol))
    fig = _figure(min(14.0, 1.2 + 0.9 * ncol), min(14.0, 1.2 + 0.9 * nrow))
    ax = fig.add_subplot()
    ax.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    height, width = mosaic.shape[:2]
    ax.set_xticks([(i + 0.5) * width / ncol for i in range(ncol)] if col_labels else [])
    ax.set_yticks([(i + 0.5) * height / nrow for i in range(nrow)] if row_labels else [])
    if col_labels:
        ax.set_xticklabels(col_labels, fontsize="small", rotation=45 if ncol > 8 else 0)
    if row_labels:
        ax.set_yticklabels(row_labels, fontsize="small")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.savefig(path, dpi=110)


def save_curves(runs: dict[str, list[dict[str, Any]]], path: str | os.PathLike) -> None:
    """Training curves of one or more runs (name -> metrics rows), a panel per quantity that
    any run recorded, one colour per run, epochs on the x axis."""
    panels = [p for p in _CURVES if any(p[0][0] in r for rows in runs.values() for r in rows)]
    ncol = 3 if len(panels) > 4 else 2
    nrow = int(np.ceil(len(panels) / ncol))
    fig = _figure(4.2 * ncol, 3.2 * nrow)
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, (keys, title, ylabel) in zip(axes, panels, strict=False):
        for name, rows in runs.items():
            pts = [(r["epoch"], r[keys[0]]) for r in rows if keys[0] in r and "epoch" in r]
            if pts:
                ep, val = zip(*pts, strict=True)
                ax.plot(ep, val, label=name, linewidth=1.2)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if keys[0] == "lr":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")  # which run is which colour
    fig.savefig(path, dpi=110)
