"""Pictures of samples and reconstructions, as PNG files (matplotlib, no pyplot global state)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave

_MIN_TILE_PIXELS = 56  # small images (8x8 digits) are upscaled so a person can see them


def tile_images(images: np.ndarray, image_shape: Sequence[int], ncol: int) -> np.ndarray:
    """(N, D) in [0, 1] -> one (rows*H, ncol*W[, 3]) mosaic with 1-pixel grey gaps.

    ``image_shape`` is (H, W) or (H, W, C), the rows' order; RGB stays in colour, other
    channel counts are shown side by side in grey.
    """
    rgb = len(image_shape) == 3 and image_shape[2] == 3
    h, w = int(image_shape[0]), int(math.prod(image_shape[1:]) // (3 if rgb else 1))
    n = images.shape[0]
    nrow = math.ceil(n / ncol)
    colour = (3,) if rgb else ()
    canvas = np.full((nrow * (h + 1) + 1, ncol * (w + 1) + 1, *colour), 0.5, dtype=np.float32)
    for i, img in enumerate(images.reshape(n, h, w, *colour)):
        r, c = divmod(i, ncol)
        canvas[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = img
    scale = max(1, math.ceil(_MIN_TILE_PIXELS / h))
    return canvas.repeat(scale, axis=0).repeat(scale, axis=1)


def _heatmap(rows: np.ndarray, path: str | os.PathLike, title: str) -> None:
    """Tabular data: one row per example, one column per feature."""
    fig = Figure(figsize=(8, max(2.0, 0.25 * rows.shape[0])))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = ax.imshow(rows, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_xlabel("feature")
    ax.set_ylabel("example")
    ax.set_title(title)
    fig.colorbar(im, ax=ax)
    fig.savefig(path, dpi=100)


def save_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    image_shape: Sequence[int] | None,
    ncol: int | None = None,
    title: str = "samples",
    value_range: tuple[float, float] | None = None,
) -> None:
    """Save (N, D) examples as an image mosaic (or a heatmap if they are not images).

    ``value_range`` is the data's range (default: these images' own); values outside it are
    clipped, so a decoder mean that strays below 0 does not wash out the contrast.
    """
    images = np.asarray(images, dtype=np.float32)
    if image_shape is None:
        _heatmap(images, path, title)
        return
    lo, hi = value_range or (float(np.nanmin(images)), float(np.nanmax(images)))
    images = (np.clip(images, lo, hi) - lo) / (hi - lo if hi > lo else 1.0)
    ncol = ncol or math.ceil(math.sqrt(images.shape[0]))
    imsave(path, tile_images(images, image_shape, ncol), cmap="gray", vmin=0.0, vmax=1.0)


def save_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    path: str | os.PathLike,
    image_shape: Sequence[int] | None,
    per_row: int = 8,
    value_range: tuple[float, float] | None = None,
) -> None:
    """Alternate rows: originals, then their reconstructions beneath them."""
    originals = np.asarray(originals, dtype=np.float32)
    reconstructions = np.asarray(reconstructions, dtype=np.float32)
    n = originals.shape[0]
    blocks = []
    for start in range(0, n, per_row):
        o, r = originals[start : start + per_row], reconstructions[start : start + per_row]
        pad = per_row - o.shape[0]
        if pad:
            fill = np.full((pad, o.shape[1]), np.nan if image_shape is None else 0.5, np.float32)
            o, r = np.concatenate([o, fill]), np.concatenate([r, fill])
        blocks += [o, r]
    stacked = np.concatenate(blocks)
    save_grid(stacked, path, image_shape, ncol=per_row, title="original / reconstruction rows",
              value_range=value_range)  # fmt: skip
