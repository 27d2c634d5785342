"""Pictures: sample grids, reconstructions and heatmaps as PNG files (matplotlib, no pyplot)."""

from __future__ import annotations

from .grids import save_grid, save_reconstructions
from .plots import save_curves, save_image_panel, save_latent_map
from .roc import save_roc

__all__ = [
    "save_curves",
    "save_grid",
    "save_image_panel",
    "save_latent_map",
    "save_reconstructions",
    "save_roc",
]
